#include "model/linear.hpp"

#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>

namespace germ::model {

GermLinearImpl::GermLinearImpl(int64_t in, int64_t out, bool with_bias)
    : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  torch::nn::init::normal_(weight, 0.0, 0.02);
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
}

at::Tensor GermLinearImpl::forward(const at::Tensor& input) {
  if (!hooks_) return torch::nn::functional::linear(input, weight, bias);
  at::Tensor x = hooks_->transform_input(input);
  at::Tensor y = hooks_->replace_forward(x);
  if (!y.defined()) y = torch::nn::functional::linear(x, hooks_->transform_weight(weight), bias);
  return hooks_->adjust_output(x, y);
}

std::vector<NamedLinear> named_linears(torch::nn::Module& root) {
  std::vector<NamedLinear> out;
  for (const auto& item : root.named_modules("", false))
    if (auto linear = std::dynamic_pointer_cast<GermLinearImpl>(item.value()))
      out.push_back({item.key(), GermLinear(linear)});
  return out;
}

}  // namespace germ::model
