#pragma once
// The running normaliser of a FlashAttention-style attention row, shared by the CUDA kernel
// (softmax1_attention.cu) and its CPU twin (tests/unit/test_online_softmax.cpp), so that the
// arithmetic the GPU runs is also checked on machines without one.
//
// Softmax_1 is softmax with one extra key of score 0 and value 0. Starting the running state
// with that key already seen (max 0, sum exp(0 - 0) = 1, nothing accumulated) computes it
// exactly, and stably: the running max is never below 0, so exp(-max) never overflows.
#include <cmath>

#ifdef __CUDACC__
#define GERM_HOST_DEVICE __host__ __device__
#else
#define GERM_HOST_DEVICE
#endif

namespace germ::cuda {

struct OnlineSoftmax {
  float max;  // largest score seen (>= 0 for Softmax_1)
  float sum;  // sum of exp(score - max) over the keys seen

  GERM_HOST_DEVICE static OnlineSoftmax start(bool softmax1) {
    return softmax1 ? OnlineSoftmax{0.0f, 1.0f} : OnlineSoftmax{-INFINITY, 0.0f};
  }

  // Raises the running max to `tile_max`; returns the factor earlier weights (and the output
  // accumulated with them) must be multiplied by.
  GERM_HOST_DEVICE float rescale_to(float tile_max) {
    if (!(tile_max > max)) return 1.0f;
    const float factor = max == -INFINITY ? 0.0f : expf(max - tile_max);
    sum *= factor;
    max = tile_max;
    return factor;
  }

  // The weight of a key with this score under the current max (0 for a masked key, -inf).
  GERM_HOST_DEVICE float weight(float score) const { return score == -INFINITY ? 0.0f : expf(score - max); }

  // 1 / the normaliser: the output is accumulated * inverse(); a row whose keys were all
  // masked is 0 under Softmax_1 (all mass on the zero key) and 0 rather than NaN under softmax.
  GERM_HOST_DEVICE float inverse() const { return sum > 0.0f ? 1.0f / sum : 0.0f; }
};

// Additive score bias of germ's attention (src/model/attention.cpp): ALiBi, -slope * |distance|,
// with keys after the query masked in causal attention.
GERM_HOST_DEVICE inline float alibi_score_bias(float slope, float query_position, float key_position, bool causal) {
  const float distance = query_position - key_position;
  if (causal && distance < 0) return -INFINITY;
  return -slope * fabsf(distance);
}

}  // namespace germ::cuda
