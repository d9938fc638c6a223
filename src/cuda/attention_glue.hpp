#pragma once
// LibTorch front end of germ's fused CUDA attention (softmax1_attention.hpp). Declared in
// every build; defined only where germ is built with GERM_CUDA=ON (a CUDA LibTorch), and
// cuda_kernels_built() tells callers and tests which build they are in.
#include <ATen/ATen.h>

namespace germ::cuda {

bool cuda_kernels_built();

// q [B, H, Lq, D], k and v [B, H, Lk, D] on one CUDA device, float32 or bfloat16; slopes [H],
// query_positions [Lq], key_positions [Lk] float32 on that device; key_keep [B, Lk] (bool or
// uint8, 1 = attend) or undefined. Returns the attention output [B, H, Lq, D] in q's dtype.
at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                           const at::Tensor& query_positions, const at::Tensor& key_positions,
                           const at::Tensor& key_keep, bool causal, bool softmax1);

}  // namespace germ::cuda
