#pragma once
#include <cstdint>

namespace germ::model {

// CPU kernels (float32) of the fused causal ALiBi attention (model/causal_attention.hpp), each
// checked against a double-precision reference in tests/unit/test_causal_attention.cpp. They
// work on a batch of score tiles at once, one tile per (sequence, head), in parallel.

// Tiles of one query block: row r of every tile is query position first_query + r and sees the
// keys at positions 0 .. first_query + r (clipped to columns); later keys are hidden.
struct CausalTiles {
  float* scores = nullptr;  // [tiles, rows, columns] row-major
  int64_t tiles = 0, rows = 0, columns = 0;
  int64_t first_query = 0;
  const float* slopes = nullptr;  // one ALiBi slope per tile
  float scale = 1;                // applied to the raw q.k products
  bool softmax1 = true;           // Softmax_1 (an extra key of logit 0, value 0) or softmax
  int threads = 1;
};

// In place: raw q.k products -> attention probabilities. Key j's logit is
// scale * q.k_j - slope * (query position - j); hidden keys get probability exactly 0.
void causal_softmax_tiles(const CausalTiles& tiles);
void causal_softmax_tiles_reference(const CausalTiles& tiles);

// The normaliser's backward, in place over `gradient`: dS = P * (dP - delta_r), where P are the
// probabilities (causal_softmax_tiles' output), dP = dO.V^T the gradient of the probabilities
// and delta_r = dO_r . O_r (one per row: [tiles, rows]). The same formula serves softmax and
// Softmax_1, whose extra key has value 0. Hidden keys (P = 0) get dS = 0.
void softmax_backward_tiles(const float* probabilities, float* gradient, const float* delta,
                            int64_t tiles, int64_t rows, int64_t columns, int threads);

}  // namespace germ::model
