// The vectorised inference kernels against their double-precision references (ggml-style:
// fast path vs reference within a stated tolerance), over shapes that exercise the vector
// body, the partial last vector and single-element rows.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/inference_kernels.hpp"
#include "test_support.hpp"

using germ::model::AlibiSoftmaxTile;

using germ::test_support::random_values;

namespace {

struct TileCase {
  int64_t rows, columns, first_row_visible;
  bool zero_key, hidden;
  float slope, spread;
};

// Key layout of a FOCUS step: zero key, `memory` entries spaced by 100, then raw tokens.
std::vector<float> key_positions(int64_t columns, int64_t memory) {
  std::vector<float> p(columns, 0.0f);
  for (int64_t j = 1; j < columns; ++j)
    p[j] = j <= memory ? static_cast<float>(-1 - 100 * (memory - j)) : static_cast<float>(j - memory - 1 - 10);
  return p;
}

}  // namespace

TEST(InferenceKernels, AlibiSoftmaxTileMatchesTheReference) {
  const std::vector<TileCase> cases{
      {16, 77, 66, true, false, 0.0625f, 8.0f},    // steady state: memory + raw keys, Softmax_1
      {16, 77, 66, true, true, 0.0625f, 8.0f},     // hidden keys (re-read memory, sequence start)
      {9, 40, 32, false, true, 0.5f, 3.0f},        // plain softmax: key 0 excluded
      {5, 3, 1, true, false, 0.00390625f, 40.0f},  // fewer keys than one vector; huge scores
      {3, 8, 6, false, false, 0.25f, 1.0f},        // exactly one vector
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const TileCase& tc = cases[c];
    std::vector<float> scores = random_values(tc.rows * tc.columns, tc.spread, 7 + c), expected = scores;
    std::vector<float> positions = key_positions(tc.columns, 20);
    std::vector<float> offsets(tc.columns, 0.0f);
    if (tc.hidden)
      for (int64_t j = 1; j < tc.columns; j += 3) offsets[j] = germ::model::kHiddenKey;
    if (tc.hidden && !tc.zero_key) offsets[tc.first_row_visible - 1] = 0.0f;  // row 0 keeps a real key
    AlibiSoftmaxTile tile;
    tile.rows = tc.rows, tile.columns = tc.columns, tile.first_row_visible = tc.first_row_visible;
    tile.key_position = positions.data();
    tile.key_offset = tc.hidden ? offsets.data() : nullptr;
    tile.first_query_position = 3.0f, tile.slope = tc.slope, tile.scale = 0.125f, tile.zero_key = tc.zero_key;
    tile.scores = expected.data();
    germ::model::alibi_softmax_tile_reference(tile);
    tile.scores = scores.data();
    germ::model::alibi_softmax_tile(tile);
    for (int64_t r = 0; r < tc.rows; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < tc.columns; ++j) {
        float got = scores[r * tc.columns + j], want = expected[r * tc.columns + j];
        ASSERT_NEAR(got, want, 1e-6f + 2e-6f * want) << "case " << c << " row " << r << " key " << j;
        if (j >= tc.first_row_visible + r || (tc.hidden && j > 0 && offsets[j] != 0.0f) || (j == 0 && !tc.zero_key))
          ASSERT_EQ(got, 0.0f) << "case " << c << " row " << r << " key " << j << " must get no weight";
        sum += got;
      }
      // Softmax_1 leaves the zero key's share unassigned to real keys, so rows sum to <= 1.
      if (tc.zero_key) EXPECT_LE(sum - scores[r * tc.columns], 1.0 + 1e-6);
      else EXPECT_NEAR(sum, 1.0, 1e-5) << "case " << c << " row " << r;
    }
  }
}

TEST(InferenceKernels, GegluMatchesTheExactGelu) {
  for (int64_t width : {1, 7, 8, 256, 29}) {
    const int64_t rows = 5;
    std::vector<float> in = random_values(rows * 2 * width, 3.0f, 100 + width);
    in[0] = 0.0f;
    if (width > 2) in[1] = -9.0f, in[2] = 9.0f;  // saturated erf on both sides
    std::vector<float> got(rows * width), want(rows * width);
    germ::model::geglu_rows(in.data(), rows, width, got.data());
    germ::model::geglu_rows_reference(in.data(), rows, width, want.data());
    for (int64_t i = 0; i < rows * width; ++i) {
      float gate = in[(i / width) * 2 * width + width + i % width];
      float x = in[(i / width) * 2 * width + i % width];
      ASSERT_NEAR(got[i], want[i], 2e-7f * (1.0f + std::abs(x)) * (1.0f + std::abs(gate)) + 1e-6f * std::abs(want[i]))
          << "width " << width << " element " << i << " x " << x;
    }
  }
}
