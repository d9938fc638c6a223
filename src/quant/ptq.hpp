#pragma once
// Post-training quantization methods (`germ quantize`, docs/quantize.md).
//   minmax               symmetric weights (per channel or per tensor), static asymmetric
//                        per-tensor activations from the calibration min/max
//   smoothquant          s_j = max|X_j|^alpha / max|W_j|^(1-alpha), per-channel weights,
//                        dynamic per-token symmetric activations (Xiao et al. 2023)
//   outlier-suppression  gamma migration + token-wise clipping of a static per-tensor range
//                        (Wei et al. 2022)
//   omniquant            learnable weight clipping + learnable equivalent transformation,
//                        trained block by block (Shao et al. 2024); dynamic per-token
//                        asymmetric activations
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/model_store.hpp"
#include "quant/calibration.hpp"
#include "quant/quant_math.hpp"
#include "quant/quantized_linear.hpp"

namespace germ::quant {

enum class Method { kMinMax, kSmoothQuant, kOutlierSuppression, kOmniQuant };
std::string to_string(Method method);
Method parse_method(const std::string& text);  // germ::Error("--method", ...)

struct PtqOptions {
  Method method = Method::kSmoothQuant;
  BitWidths bits;
  bool per_channel_weights = true;  // minmax and outlier-suppression; the others always per channel
  double alpha = 0.5;               // SmoothQuant migration strength
  int64_t omniquant_epochs = 10;    // passes over the calibration set per block
  double omniquant_lr = 5e-3;
  uint64_t seed = 42;
  CalibrationOptions calibration;
  bool quiet = false;
};

// One quantized model: what each quantizable linear becomes. The fp32 weights and biases of
// the bundle may have been changed by folding (SmoothQuant folds into the V rows of Wqkv and
// the value half of the GeGLU projection); `bundle` is the model to save beside it.
struct QuantizedModel {
  PtqOptions options;
  std::vector<LinearQuantization> layers;
  std::map<std::string, std::string> details;  // method-specific facts for the file's metadata
};

// Quantizes `bundle` (a classifier or causal LM in fp32, hooks free) in place: the returned
// layers describe the quantized linears; attach them with attach_quantization.
QuantizedModel quantize_model(model::ModelBundle& bundle, const std::vector<std::vector<int64_t>>& calibration,
                              const PtqOptions& options);

// Attaches QuantizedLinearHooks for every layer (germ::Error when a name is not a linear of
// the model). With kTransformOnly, the fp32 transformed weights are rebuilt from the model.
void attach_quantization(model::GermModel& model, const QuantizedModel& quantized, Execution execution);

// Building blocks, exposed for tests.
// Symmetric weight quantization of W' = W diag(s) (s = 1 / inv_smooth) and the offset W shift.
LinearQuantization quantize_linear(const std::string& name, const at::Tensor& weight, int weight_bits,
                                   bool per_channel, const ActivationQuantizer& activation,
                                   const at::Tensor& shift = {}, const at::Tensor& inv_smooth = {},
                                   const at::Tensor& clip = {});
// SmoothQuant's factors s_j (clamped to [1e-5, 1e5]) from activation and weight channel maxima.
at::Tensor smoothing_factors(const at::Tensor& activation_absmax, const at::Tensor& weight, double alpha);

}  // namespace germ::quant
