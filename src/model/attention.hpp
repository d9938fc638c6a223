#pragma once
#include <ATen/core/Tensor.h>

#include "model/config.hpp"

namespace germ::model {

// Softmax_1 (GERM): exp(s_i) / (1 + sum_j exp(s_j)) along `dim`. Equivalent to an ordinary
// softmax with one extra key of score 0 whose value is the zero vector, so a head can put
// its mass on "nothing". Computed with m = max(0, max_j s_j) so that neither large positive
// scores overflow nor -inf (masked) scores produce NaN; a fully masked row gives all zeros.
at::Tensor softmax1(const at::Tensor& scores, int64_t dim = -1);
at::Tensor normalise_scores(const at::Tensor& scores, Normaliser normaliser);

// ALiBi slopes of DNABERT-2 / MosaicBERT: the geometric sequence 2^(-8i/n) for n a power of
// two, interleaved with the next power of two's odd terms otherwise. Shape [heads], float32.
// max_bias replaces the 8 (ModelConfig::alibi_max_bias): larger values reach further back.
at::Tensor alibi_slopes(int64_t heads, double max_bias = 8.0);

// Additive attention bias [heads, Lq, Lk]: -slope * |q_pos - k_pos|, and -inf for keys after
// the query when causal. Positions are explicit so callers can measure distance in bases.
at::Tensor alibi_bias(const at::Tensor& slopes, const at::Tensor& query_positions,
                      const at::Tensor& key_positions, bool causal);
at::Tensor alibi_bias(const at::Tensor& slopes, int64_t length, bool causal);

// Additive key mask [B, 1, 1, L] from an attention mask [B, L] of 1 (token) / 0 (padding).
at::Tensor padding_bias(const at::Tensor& attention_mask, at::ScalarType dtype);

// Scaled dot-product attention with an additive bias, normalised by softmax or Softmax_1.
// q [B, H, Lq, D], k/v [B, H, Lk, D], bias broadcastable to [B, H, Lq, Lk].
// `probabilities`, when given, receives the normalised attention weights.
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& bias, Normaliser normaliser, double dropout, bool training,
                  at::Tensor* probabilities = nullptr);

// The explicit reference form (scores -> normalise -> weights x values), used by tests to
// check fused paths against it.
at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& bias, Normaliser normaliser);

}  // namespace germ::model
