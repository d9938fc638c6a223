#pragma once
#include <ATen/core/Tensor.h>

#include "model/config.hpp"

namespace germ::model {

// Causal ALiBi attention, normalised by Softmax_1 or softmax, on the CPU in float32, one block of
// query rows at a time: the [B, H, L, L] score tensor is never built, keys after a block are
// never multiplied, and the backward pass recomputes each block's probabilities from q and k
// (as FlashAttention does) instead of keeping them. Same values as
//   attend(q, k, v, alibi_bias(slopes, L, /*causal=*/true), normaliser, 0, false)
// within float rounding (tests/unit/test_causal_attention.cpp), gradients included.
// q, k, v: [B, H, L, D]; slopes: [H]. Why: pretraining at 1,024+ bases spent most of each step
// on the L x L tensors' memory traffic (docs/pretrain.md).
at::Tensor causal_alibi_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& slopes, Normaliser normaliser, int64_t query_block = 128);

// Whether causal_alibi_attention can serve activations like `x` (CPU float32).
bool causal_alibi_attention_serves(const at::Tensor& x);

}  // namespace germ::model
