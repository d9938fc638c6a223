#include "train/lora_training.hpp"

#include <algorithm>
#include <tuple>

#include "util/error.hpp"

namespace germ::train {
namespace {

// QLoRA: every transformer-block linear, and any target outside the blocks, stored as NF4.
class Nf4BaseWeights : public engine::BaseWeightPolicy {
 public:
  explicit Nf4BaseWeights(const LoraOptions& options) : options_(options) {}
  bool quantises(const std::string& layer, bool adapted) const override {
    return adapted || engine::in_transformer_blocks(layer);
  }
  quant::Nf4Tensor quantise(const at::Tensor& weight, engine::LoraAdapter* adapter) const override {
    return quant::nf4_quantize(weight, options_.double_quant);
  }

 protected:
  const LoraOptions& options_;
};

// LoftQ: as QLoRA, with each target's NF4 weight and adapter initialised together.
class LoftqBaseWeights : public Nf4BaseWeights {
 public:
  LoftqBaseWeights(const LoraOptions& options, int iterations) : Nf4BaseWeights(options), iterations_(iterations) {}
  void check_target(const std::string& layer, const model::GermLinearImpl& linear) const override {
    if (options_.rank > std::min(linear.in_features, linear.out_features))
      throw Error("--rank", "LoftQ needs a rank of at most " +
                                std::to_string(std::min(linear.in_features, linear.out_features)) + " for " + layer);
  }
  quant::Nf4Tensor quantise(const at::Tensor& weight, engine::LoraAdapter* adapter) const override {
    if (!adapter) return Nf4BaseWeights::quantise(weight, adapter);
    LoftqInit init = loftq_initialise(weight, options_.rank, options_.scaling(), iterations_, options_.double_quant);
    adapter->A.copy_(init.A);
    adapter->B.copy_(init.B);
    return std::move(init.q);
  }

 private:
  int iterations_;
};

}  // namespace

std::shared_ptr<LoraSet> attach_qlora(model::GermModel& model, const LoraOptions& options) {
  const Nf4BaseWeights policy(options);
  return engine::attach_adapters(model, options, &policy);
}

std::shared_ptr<LoraSet> attach_loftq(model::GermModel& model, const LoraOptions& options, int iterations) {
  if (iterations < 1) throw Error("--loftq-iterations", "must be at least 1");
  const LoftqBaseWeights policy(options, iterations);
  return engine::attach_adapters(model, options, &policy);
}

std::vector<at::Tensor> trainable_parameters(model::GermModel& model, const LoraSet& set) {
  std::vector<at::Tensor> out;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) out.push_back(p);
  for (const auto& p : set.parameters()) out.push_back(p);
  return out;
}

LoftqInit loftq_initialise(const at::Tensor& weight, int64_t rank, double scaling, int iterations,
                           bool double_quant) {
  if (iterations < 1) throw Error("--loftq-iterations", "must be at least 1");
  if (weight.dim() != 2) throw Error("loftq", "needs a matrix");
  if (rank < 1 || rank > std::min(weight.size(0), weight.size(1)))
    throw Error("--rank", "must be between 1 and " + std::to_string(std::min(weight.size(0), weight.size(1))) +
                                   " for a " + c10::str(weight.sizes()) + " weight");
  at::NoGradGuard no_grad;
  at::Tensor w = weight.detach().to(at::kFloat);
  at::Tensor low_rank = at::zeros_like(w);  // s B A of the previous iteration
  LoftqInit init;
  for (int t = 0; t < iterations; ++t) {
    init.q = quant::nf4_quantize(w - low_rank, double_quant);
    at::Tensor u, s, vh;
    std::tie(u, s, vh) = at::linalg_svd(w - quant::nf4_dequantize(init.q), /*full_matrices=*/false);
    // s B A = U_r S_r Vh_r, with sqrt(S_r / s) on each side so both factors have the same scale.
    at::Tensor root = (s.slice(0, 0, rank) / scaling).sqrt();
    init.B = u.slice(1, 0, rank) * root.unsqueeze(0);
    init.A = root.unsqueeze(1) * vh.slice(0, 0, rank);
    low_rank = init.B.mm(init.A) * scaling;
  }
  return init;
}

}  // namespace germ::train
