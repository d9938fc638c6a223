#pragma once
// OmniQuant (Shao et al. 2024, "OmniQuant: Omnidirectionally Calibrated Quantization for
// Large Language Models"), trained block by block on calibration data (docs/quantize.md).
#include <cstdint>
#include <vector>

#include "model/transformer.hpp"
#include "quant/ptq.hpp"

namespace germ::quant {

// Learnable weight clipping (per output channel, symmetric: clip = sigmoid(theta)) and the
// learnable equivalent transformation x' = (x - shift) * inv_smooth of every quantizable
// linear's input, trained for each transformer block in turn to minimise the mean squared
// error between the fp32 block's output and the quantized block's output (straight-through
// rounding), the quantized block reading what the already-quantized blocks produce.
// Activations: dynamic per-token asymmetric. The model's fp32 weights are not changed.
QuantizedModel quantize_omniquant(model::GermModel& net, const std::vector<std::vector<int64_t>>& calibration,
                                  const PtqOptions& options);

}  // namespace germ::quant
