#include "quant/quantized_linear.hpp"

#include <torch/nn/functional/linear.h>

#include "util/error.hpp"

namespace germ::quant {

QuantizedLinearHooks::QuantizedLinearHooks(std::weak_ptr<model::GermLinearImpl> linear, LinearQuantization q,
                                           Execution execution, at::Tensor transformed_weight)
    : linear_(std::move(linear)), q_(std::move(q)), execution_(execution) {
  switch (execution_) {
    case Execution::kFakeQuant: dequantized_ = dequantize_weight(q_.weight); break;
    case Execution::kInteger: int8_ = std::make_shared<Int8Weight>(q_.weight.codes, q_.weight.scales); break;
    case Execution::kTransformOnly:
      if (!transformed_weight.defined()) throw Error("quantize", "transform-only execution needs W'");
      transformed_ = transformed_weight.detach().to(at::kFloat);
      break;
  }
}

at::Tensor QuantizedLinearHooks::replace_forward(const at::Tensor& input) {
  auto linear = linear_.lock();
  const at::Tensor& bias = linear ? linear->bias : at::Tensor();
  const int64_t features = input.size(-1);
  std::vector<int64_t> out_shape(input.sizes().begin(), input.sizes().end());
  at::Tensor rows = input.reshape({-1, features}).to(at::kFloat);
  at::Tensor y;
  if (execution_ == Execution::kInteger) {
    out_shape.back() = int8_->out_features();
    y = int8_linear(quantize_rows_fast(rows.contiguous(), q_.activation, q_.shift, q_.inv_smooth), *int8_, bias);
  } else if (execution_ == Execution::kFakeQuant) {
    out_shape.back() = dequantized_.size(0);
    at::Tensor xq = dequantize_rows(quantize_rows(rows, q_.activation, q_.shift, q_.inv_smooth));
    y = torch::nn::functional::linear(xq, dequantized_, bias);
  } else {
    out_shape.back() = transformed_.size(0);
    y = torch::nn::functional::linear(channel_transform(rows, q_.shift, q_.inv_smooth), transformed_, bias);
  }
  if (q_.offset.defined()) y = y + q_.offset;
  return y.reshape(out_shape).to(input.scalar_type());
}

std::vector<NamedLinear> quantizable_linears(model::GermModel& model) {
  std::vector<NamedLinear> out;
  for (auto& l : model::named_linears(*model))
    if (l.name.rfind("encoder.layer.", 0) == 0) out.push_back(std::move(l));
  return out;
}

void detach_hooks(model::GermModel& model) {
  for (auto& l : model::named_linears(*model)) l.linear->set_hooks(nullptr);
}

}  // namespace germ::quant
