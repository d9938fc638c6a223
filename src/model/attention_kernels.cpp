#include "model/attention_kernels.hpp"

#include <cmath>
#include <vector>

#include "model/vector_lanes.hpp"

namespace germ::model {
namespace {

using namespace lanes;

GERM_VECTOR_CLONES
void normalise_causal_row(float* row, int64_t visible, int64_t columns, float query_position, float slope,
                          float scale, bool softmax1) {
  const Floats iota{0, 1, 2, 3, 4, 5, 6, 7};
  const Floats q = splat(query_position);
  Floats top = splat(-3.0e38f);
  int64_t j = 0;
  for (; j + kWidth <= visible; j += kWidth) {
    Floats logit = load(row + j) * scale + ((iota + static_cast<float>(j)) - q) * slope;
    store(row + j, logit);
    top = max_of(top, logit);
  }
  float m = largest(top);
  for (; j < visible; ++j) {
    row[j] = row[j] * scale + (static_cast<float>(j) - query_position) * slope;
    m = std::max(m, row[j]);
  }
  if (softmax1) m = std::max(m, 0.0f);  // Softmax_1's stable form: m = max(0, max_j s_j)

  // Softmax_1's extra key: logit 0, so exp(0 - m) in the denominator.
  const float denominator = exponentiate_and_sum(row, visible, m) + (softmax1 ? std::exp(-m) : 0.0f);
  scale_row(row, visible, 1.0f / denominator);
  std::fill(row + visible, row + columns, 0.0f);
}

GERM_VECTOR_CLONES
void softmax_backward_row(const float* p, float* g, float delta, int64_t columns) {
  for (int64_t j = 0; j < columns; ++j) g[j] = p[j] * (g[j] - delta);
}

int64_t visible_keys(const CausalTiles& t, int64_t row) {
  return std::min(t.columns, t.first_query + row + 1);
}

}  // namespace

void causal_softmax_tiles(const CausalTiles& t) {
  const int64_t rows = t.tiles * t.rows;
#pragma omp parallel for num_threads(t.threads) schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t tile = i / t.rows, r = i % t.rows;
    normalise_causal_row(t.scores + i * t.columns, visible_keys(t, r), t.columns,
                         static_cast<float>(t.first_query + r), t.slopes[tile], t.scale, t.softmax1);
  }
}

void causal_softmax_tiles_reference(const CausalTiles& t) {
  std::vector<double> logit(static_cast<size_t>(t.columns));
  for (int64_t i = 0; i < t.tiles * t.rows; ++i) {
    const int64_t tile = i / t.rows, r = i % t.rows, visible = visible_keys(t, r);
    float* row = t.scores + i * t.columns;
    double m = t.softmax1 ? 0.0 : -INFINITY;
    for (int64_t j = 0; j < visible; ++j) {
      logit[j] = double(row[j]) * t.scale - double(t.slopes[tile]) * double(t.first_query + r - j);
      m = std::max(m, logit[j]);
    }
    double sum = t.softmax1 ? std::exp(-m) : 0.0;
    for (int64_t j = 0; j < visible; ++j) sum += std::exp(logit[j] - m);
    for (int64_t j = 0; j < t.columns; ++j) row[j] = j < visible ? static_cast<float>(std::exp(logit[j] - m) / sum) : 0.0f;
  }
}

void softmax_backward_tiles(const float* probabilities, float* gradient, const float* delta,
                            int64_t tiles, int64_t rows, int64_t columns, int threads) {
  // Keys past a row's diagonal have P = 0, so dS = 0 there without a separate fill.
  const int64_t total_rows = tiles * rows;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < total_rows; ++i)
    softmax_backward_row(probabilities + i * columns, gradient + i * columns, delta[i], columns);
}

}  // namespace germ::model
