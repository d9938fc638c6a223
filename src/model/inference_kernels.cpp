#include "model/inference_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "model/vector_lanes.hpp"

namespace germ::model {
namespace {

using namespace lanes;
// Far below any real logit, yet finite (no inf - inf = NaN); exp_lanes maps it to 0.
constexpr float kExcludedLogit = kHiddenKey;

}  // namespace

const char* inference_kernel_isa() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  // The same test the target_clones resolver makes when the library loads.
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2, FMA)";
#endif
  return "x86-64 baseline (SSE2)";
}

namespace {

GERM_VECTOR_CLONES
void normalise_row(float* row, int64_t visible, int64_t columns, const float* key_position,
                   const float* key_offset, float query_position, float slope, float scale, bool zero_key) {
  // Logits of keys 1 .. visible-1 and their maximum; key 0 is set below.
  Floats top = splat(kExcludedLogit);
  const Floats q = splat(query_position);
  int64_t j = 1;
  for (; j + kWidth <= visible; j += kWidth) {
    Floats logit = load(row + j) * scale + (load(key_position + j) - q) * slope;
    if (key_offset) logit += load(key_offset + j);
    store(row + j, logit);
    top = max_of(top, logit);
  }
  float m = largest(top);
  for (; j < visible; ++j) {
    row[j] = row[j] * scale + (key_position[j] - query_position) * slope + (key_offset ? key_offset[j] : 0.0f);
    m = std::max(m, row[j]);
  }
  row[0] = zero_key ? 0.0f : kExcludedLogit;
  if (zero_key) m = std::max(m, 0.0f);  // Softmax_1's stable form: m = max(0, max_j s_j)

  scale_row(row, visible, 1.0f / exponentiate_and_sum(row, visible, m));
  std::fill(row + visible, row + columns, 0.0f);
}

// 1 + erf(x / sqrt 2), from erfc's Chebyshev fit (Numerical Recipes' erfcc: fractional
// error < 1.2e-7 everywhere): erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), z = |x|/sqrt 2.
GERM_INLINE Floats one_plus_erf_scaled(Floats x) {
  Floats z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
  Floats t = 1.0f / (1.0f + 0.5f * z);
  Floats p = splat(0.17087277f);
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  Floats erfc = t * exp_lanes(p - z * z);
  return x < 0.0f ? erfc : 2.0f - erfc;
}

GERM_VECTOR_CLONES
void geglu_row(const float* in, int64_t width, float* out) {
  int64_t i = 0;
  for (; i + kWidth <= width; i += kWidth) {
    Floats a = load(in + i);
    store(out + i, 0.5f * a * one_plus_erf_scaled(a) * load(in + width + i));
  }
  if (i < width) {
    float a[kWidth] = {}, b[kWidth] = {}, r[kWidth];
    std::copy(in + i, in + width, a);
    std::copy(in + width + i, in + 2 * width, b);
    Floats va = load(a);
    store(r, 0.5f * va * one_plus_erf_scaled(va) * load(b));
    std::copy(r, r + (width - i), out + i);
  }
}

}  // namespace

void geglu_rows(const float* in, int64_t rows, int64_t width, float* out) {
  for (int64_t r = 0; r < rows; ++r) geglu_row(in + r * 2 * width, width, out + r * width);
}

void geglu_rows_reference(const float* in, int64_t rows, int64_t width, float* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i) {
      double a = in[r * 2 * width + i], b = in[r * 2 * width + width + i];
      out[r * width + i] = static_cast<float>(0.5 * a * (1.0 + std::erf(a / std::sqrt(2.0))) * b);
    }
}

void alibi_softmax_tile(const AlibiSoftmaxTile& t) {
  for (int64_t r = 0; r < t.rows; ++r) {
    const int64_t visible = std::min(t.columns, t.first_row_visible + r);
    normalise_row(t.scores + r * t.columns, visible, t.columns, t.key_position, t.key_offset,
                  t.first_query_position + static_cast<float>(r), t.slope, t.scale, t.zero_key);
  }
}

void alibi_softmax_tile_reference(const AlibiSoftmaxTile& t) {
  std::vector<double> logit(static_cast<size_t>(t.columns));
  for (int64_t r = 0; r < t.rows; ++r) {
    float* row = t.scores + r * t.columns;
    const int64_t visible = std::min(t.columns, t.first_row_visible + r);
    const double query = static_cast<double>(t.first_query_position) + static_cast<double>(r);
    double m = -INFINITY;
    for (int64_t j = 0; j < visible; ++j) {
      bool excluded = (j == 0 && !t.zero_key) || (j > 0 && t.key_offset && t.key_offset[j] <= kHiddenKey);
      double offset = j > 0 && t.key_offset ? t.key_offset[j] : 0.0;
      logit[j] = excluded ? -INFINITY
                 : j == 0 ? 0.0
                          : double(row[j]) * t.scale - double(t.slope) * (query - double(t.key_position[j])) + offset;
      m = std::max(m, logit[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < visible; ++j) sum += std::exp(logit[j] - m);
    for (int64_t j = 0; j < t.columns; ++j) row[j] = j < visible ? static_cast<float>(std::exp(logit[j] - m) / sum) : 0.0f;
  }
}

}  // namespace germ::model
