// Training throughput of germ's small causal LM: the same step as bench/pytorch_reference.py
// (forward, cross-entropy, backward, clipping, AdamW) on a fixed random batch.
#include <torch/torch.h>

#include <chrono>

#include "bench/bench_registry.hpp"
#include "model/transformer.hpp"
#include "train/training_state.hpp"

namespace germ::bench {

double train_flops_per_token(int64_t seq_len) {
  model::ModelConfig c = model::ModelConfig::preset("small", model::ModelKind::kCausalLm);
  // Forward: 2 FLOPs per weight of the matrix products (Q, K, V, output; GeGLU gate, up and
  // down) and, per layer, Q·K^T and P·V over all L keys (the explicit attention computes the
  // masked half too). Backward costs twice the forward.
  const double matmul_weights = c.layers * (4.0 * c.hidden * c.hidden + 3.0 * c.hidden * c.intermediate);
  const double attention = c.layers * 4.0 * seq_len * c.hidden;
  return 3.0 * (2.0 * matmul_weights + attention);
}

double train_tokens_per_second(int64_t batch, int64_t seq_len, int steps, bool fused_attention) {
  using namespace germ::model;
  ModelConfig config = ModelConfig::preset("small", ModelKind::kCausalLm);
  config.vocab = 10;
  GermModel model(config, ModelKind::kCausalLm);
  model->set_fused_attention(fused_attention);
  model->train();
  auto optimizer = train::make_adamw(model, 1e-3, 0.01);
  torch::manual_seed(0);
  at::Tensor ids = torch::randint(5, 9, {batch, seq_len + 1}, at::kLong);
  using at::indexing::Slice;
  at::Tensor inputs = ids.index({Slice(), Slice(0, seq_len)}).contiguous();
  at::Tensor labels = ids.index({Slice(), Slice(1, at::indexing::None)}).reshape({-1});
  auto step = [&] {
    at::Tensor logits = model->forward(inputs);
    at::Tensor loss = torch::nn::functional::cross_entropy(logits.reshape({-1, 10}), labels);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optimizer->step();
    optimizer->zero_grad();
  };
  step();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return batch * seq_len * steps / seconds;
}

}  // namespace germ::bench
