#pragma once
// germ's fused attention forward on CUDA: Softmax_1 (or softmax) over QK^T / sqrt(D) + ALiBi,
// causal or not, with optional key padding, in one pass over the keys (no score matrix in
// memory). Plain pointers and sizes, so the kernel compiles with nvcc alone (the CI
// compile-only target) and LibTorch glue stays on the C++ side. Layout: q [B, H, Lq, D],
// k and v [B, H, Lk, D], out [B, H, Lq, D], contiguous; D in {32, 64, 128}.
#include <cstdint>

namespace germ::cuda {

enum class Precision { kFloat32, kBFloat16 };

struct AttentionShape {
  int64_t batch = 0, heads = 0, queries = 0, keys = 0, head_dim = 0;
};

struct AttentionInputs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;                    // same precision as q, k, v
  const float* slopes = nullptr;          // [H] ALiBi slopes
  const float* query_positions = nullptr;  // [Lq]
  const float* key_positions = nullptr;    // [Lk]
  const uint8_t* key_keep = nullptr;       // [B, Lk] 1 = attend, 0 = padding; null = all keys
  bool causal = false;
  bool softmax1 = true;
  Precision precision = Precision::kFloat32;
};

// Launches on `stream` (a cudaStream_t; null = the default stream). Returns 0, or a CUDA error
// code (an unsupported head_dim is cudaErrorInvalidValue).
int softmax1_attention_forward(const AttentionShape& shape, const AttentionInputs& inputs, void* stream);

}  // namespace germ::cuda
