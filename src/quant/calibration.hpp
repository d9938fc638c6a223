#pragma once
// Calibration: run the fp32 model over calibration sequences and record, for the input of
// every quantizable linear layer, what the PTQ methods need. Padding tokens are excluded.
#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/model_store.hpp"

namespace germ::quant {

struct InputStatistics {
  at::Tensor channel_absmax;   // fp32 [in]: max |x_j| over tokens (SmoothQuant)
  double min = 0, max = 0;     // over every element (minmax)
  std::vector<float> token_max, token_min;  // per token (Outlier Suppression's token-wise clipping)
  at::Tensor sample_rows;      // fp32 [<= kept_rows, in]: tokens kept for clipping searches
  int64_t tokens = 0;
};

struct CalibrationOptions {
  int64_t batch_size = 16;
  int64_t kept_rows = 1024;    // per layer, spread over the calibration set
  // Per-layer transform applied before recording (x' = (x - shift) * inv_smooth), by name.
  std::map<std::string, at::Tensor> inv_smooth, shift;
};

// Framed token ids of the calibration sequences, as the model reads them.
std::vector<std::vector<int64_t>> frame_calibration_set(const model::ModelBundle& bundle,
                                                        const std::vector<std::string>& sequences);

// Statistics by linear-layer name (quantizable_linears). The model's hooks must be free;
// they are restored to none afterwards.
std::map<std::string, InputStatistics> calibrate(model::GermModel& model,
                                                 const std::vector<std::vector<int64_t>>& tokens,
                                                 const CalibrationOptions& options);

}  // namespace germ::quant
