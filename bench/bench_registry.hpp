#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace germ::bench {

struct Row {
  std::string name;
  double value;
  std::string unit;
};

// Mean seconds of `body` over at least `min_seconds`, after one warm-up call.
double seconds_per_call(const std::function<void()>& body, double min_seconds = 1.0);

// fused_attention: the causal kernel (the default) or the explicit [B, H, L, L] form.
double train_tokens_per_second(int64_t batch, int64_t seq_len, int steps, bool fused_attention = true);
// FLOPs of one training step per token of the same small causal LM (forward + backward, GEMMs
// and attention products only): tokens/s × this ÷ the GEMM row = fraction of the GEMM ceiling.
double train_flops_per_token(int64_t seq_len);
// fp32 linear against the integer kernels (and LibTorch's quantized linear) on encoder shapes.
std::vector<Row> int8_linear_rows();

}  // namespace germ::bench
