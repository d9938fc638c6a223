#pragma once
// A quantized linear layer, attached through GermLinear's hooks (model code unchanged):
//
//   x' = (x - shift) * inv_smooth                      per input channel (optional)
//   y  = Q_a(x') Q_w(W')^T + b + offset                W' = W diag(1 / inv_smooth), offset = W shift
//
// shift / inv_smooth carry the equivalent transformations of SmoothQuant, Outlier
// Suppression's gamma migration and OmniQuant's LET where they cannot be folded into the
// preceding operation (docs/quantize.md); before quantization y is exactly x W^T + b.
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "model/linear.hpp"
#include "model/transformer.hpp"
#include "quant/int8_gemm.hpp"
#include "quant/quant_math.hpp"

namespace germ::quant {

struct LinearQuantization {
  std::string name;           // module name, e.g. encoder.layer.0.attention.self.Wqkv
  int weight_bits = 8;
  bool per_channel = true;
  QuantizedWeight weight;     // codes and scales of W'
  at::Tensor shift;           // fp32 [in] or undefined
  at::Tensor inv_smooth;      // fp32 [in] or undefined
  at::Tensor offset;          // fp32 [out] or undefined
  ActivationQuantizer activation;
};

// kFakeQuant: quantise-dequantise in fp32 (accuracy studies); kInteger: u8 x s8 GEMM
// (int8_gemm.hpp); kTransformOnly: the fp32 transform without any rounding (checks that an
// equivalent transformation is one).
enum class Execution { kFakeQuant, kInteger, kTransformOnly };

class QuantizedLinearHooks : public model::LinearHooks {
 public:
  QuantizedLinearHooks(std::weak_ptr<model::GermLinearImpl> linear, LinearQuantization q, Execution execution,
                       at::Tensor transformed_weight = {});
  at::Tensor replace_forward(const at::Tensor& input) override;
  const LinearQuantization& quantization() const { return q_; }
  Execution execution() const { return execution_; }

 private:
  std::weak_ptr<model::GermLinearImpl> linear_;
  LinearQuantization q_;
  Execution execution_;
  at::Tensor dequantized_;        // fake quant: deq(Q_w(W'))
  at::Tensor transformed_;        // transform only: W' in fp32
  std::shared_ptr<Int8Weight> int8_;
};

// The linear layers germ quantizes: every GermLinear inside encoder.layer.* (Wqkv,
// attention.output.dense, the FFN's two); heads, pooler and embeddings stay fp32.
using model::NamedLinear;
std::vector<NamedLinear> quantizable_linears(model::GermModel& model);

// Removes every hook from the model's linear layers.
void detach_hooks(model::GermModel& model);

}  // namespace germ::quant
