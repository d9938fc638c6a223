#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

namespace germ::model {

// Extension points of a linear layer, so that LoRA adapters, fake quantization and integer
// kernels attach to a model without changing the model code. Default: identity.
class LinearHooks {
 public:
  virtual ~LinearHooks() = default;
  virtual at::Tensor transform_input(const at::Tensor& input) { return input; }
  virtual at::Tensor transform_weight(const at::Tensor& weight) { return weight; }
  // Replaces the whole product when it returns a defined tensor (an integer GEMM, say).
  virtual at::Tensor replace_forward(const at::Tensor& input) { return {}; }
  virtual at::Tensor adjust_output(const at::Tensor& input, const at::Tensor& output) { return output; }
};

// y = x W^T + b, with W [out, in] as in torch.nn.Linear (and the safetensors layout of
// Hugging Face checkpoints). Initialised as BERT does: N(0, 0.02), zero bias.
class GermLinearImpl : public torch::nn::Module {
 public:
  GermLinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& input);

  void set_hooks(std::shared_ptr<LinearHooks> hooks) { hooks_ = std::move(hooks); }
  const std::shared_ptr<LinearHooks>& hooks() const { return hooks_; }

  int64_t in_features, out_features;
  at::Tensor weight, bias;

 private:
  std::shared_ptr<LinearHooks> hooks_;
};
TORCH_MODULE(GermLinear);

struct NamedLinear {
  std::string name;  // module path, e.g. encoder.layer.0.attention.self.Wqkv
  GermLinear linear{nullptr};
};
// Every GermLinear under `root`, in module order: what adapters and quantizers choose from.
std::vector<NamedLinear> named_linears(torch::nn::Module& root);

}  // namespace germ::model
