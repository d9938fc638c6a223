#pragma once
#include <cstdint>

namespace germ::model {

// Vectorised CPU kernels for inference (no autograd), each checked against a plain
// double-precision reference in tests/unit/test_inference_kernels.cpp.

// One query tile of causal ALiBi attention scores, normalised in place (CPU, float32).
// The window scorer's hot loop: it replaces "copy the bias, add the GEMM, softmax" (four
// passes over a tile too big for the cache) by one pass per row over the keys the row can
// see, with the bias computed from positions instead of read from memory.
//
// scores: [rows, columns] row-major, the raw q·k products of query rows r against keys j.
// Row r sits at position first_query_position + r and sees keys [0, first_row_visible + r)
// (clipped to columns); later keys get probability 0. Key j's logit is
//   scale * q·k_j - slope * (query position - key_position[j]),
// plus key_offset[j] when key_offset is given: 0, or kHiddenKey for a key no row attends
// (probability exactly 0). Key 0 is Softmax_1's zero key when zero_key (logit 0, whatever
// its score or offset); without zero_key it is excluded (plain softmax over the real keys).
// Every row must see one real key.
constexpr float kHiddenKey = -1e30f;

// Which clone of the kernels this CPU runs: "x86-64-v3 (AVX2, FMA)" or "x86-64 baseline (SSE2)".
const char* inference_kernel_isa();

struct AlibiSoftmaxTile {
  float* scores = nullptr;
  int64_t rows = 0, columns = 0;
  const float* key_position = nullptr;
  const float* key_offset = nullptr;
  float first_query_position = 0;
  int64_t first_row_visible = 0;
  float slope = 0, scale = 1;
  bool zero_key = true;
};

void alibi_softmax_tile(const AlibiSoftmaxTile& tile);

void alibi_softmax_tile_reference(const AlibiSoftmaxTile& tile);

// GeGLU of DNABERT-2's FFN: out[r][i] = gelu(in[r][i]) * in[r][width + i] for rows of 2*width
// inputs, with the exact (erf) GELU: |error| <= 2e-7 * (1 + |x|) against it.
void geglu_rows(const float* in, int64_t rows, int64_t width, float* out);
void geglu_rows_reference(const float* in, int64_t rows, int64_t width, float* out);

}  // namespace germ::model
