// The CUDA attention kernel's arithmetic (cuda/online_softmax.hpp), run on the CPU in the
// kernel's own loop order (running max and sum, output rescaled when the max rises), against germ's
// reference attention: Softmax_1 and softmax, causal and bidirectional ALiBi, key padding.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "cuda/online_softmax.hpp"
#include "model/attention.hpp"

namespace {

using germ::cuda::OnlineSoftmax;

// q, k, v [H, L, D] (one batch entry), float, contiguous. Mirrors attention_forward in
// src/cuda/softmax1_attention.cu: one query row at a time, the running state updated key by key.
at::Tensor kernel_loop_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                                 const std::vector<float>& query_positions, const std::vector<float>& key_positions,
                                 const std::vector<uint8_t>& keep, bool causal, bool softmax1) {
  const int64_t heads = q.size(0), queries = q.size(1), keys = k.size(1), dim = q.size(2);
  at::Tensor out = at::zeros_like(q);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  auto Q = q.accessor<float, 3>(), K = k.accessor<float, 3>(), V = v.accessor<float, 3>();
  auto O = out.accessor<float, 3>();
  auto S = slopes.accessor<float, 1>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t row = 0; row < queries; ++row) {
      OnlineSoftmax state = OnlineSoftmax::start(softmax1);
      std::vector<float> output(dim, 0.0f);
      for (int64_t key = 0; key < keys; ++key) {
        if (!keep[key]) continue;
        float dot = 0.0f;
        for (int64_t d = 0; d < dim; ++d) dot += Q[h][row][d] * scale * K[h][key][d];
        const float score = dot + germ::cuda::alibi_score_bias(S[h], query_positions[row], key_positions[key], causal);
        const float factor = state.rescale_to(score);
        if (factor != 1.0f)
          for (float& o : output) o *= factor;
        const float weight = state.weight(score);
        if (weight == 0.0f) continue;
        state.sum += weight;
        for (int64_t d = 0; d < dim; ++d) output[d] += weight * V[h][key][d];
      }
      for (int64_t d = 0; d < dim; ++d) O[h][row][d] = output[d] * state.inverse();
    }
  return out;
}

struct Case {
  bool causal, softmax1, padded;
};
// Printable, so that test names listed for ctest do not carry the struct's raw (padding) bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << (c.causal ? "causal" : "bidirectional") << (c.softmax1 ? " softmax1" : " softmax") << (c.padded ? " padded" : ""); }


class OnlineSoftmaxAttention : public ::testing::TestWithParam<Case> {};

TEST_P(OnlineSoftmaxAttention, MatchesTheReferenceWithin1e5) {
  const Case c = GetParam();
  at::manual_seed(3);
  const int64_t heads = 3, length = 45, dim = 32;
  // Large scores too: a head that would overflow exp() without the running max.
  at::Tensor q = at::randn({heads, length, dim}) * 3, k = at::randn({heads, length, dim}) * 3;
  at::Tensor v = at::randn({heads, length, dim});
  at::Tensor slopes = germ::model::alibi_slopes(heads);
  std::vector<float> positions(length);
  for (int64_t i = 0; i < length; ++i) positions[i] = static_cast<float>(i);
  std::vector<uint8_t> keep(length, 1);
  at::Tensor mask = at::ones({1, length}, at::kLong);
  if (c.padded)
    for (int64_t i = 37; i < length; ++i) keep[i] = 0, mask[0][i] = 0;
  at::Tensor bias = germ::model::alibi_bias(slopes, length, c.causal).unsqueeze(0);
  if (c.padded) bias = bias + germ::model::padding_bias(mask, at::kFloat);
  const auto normaliser = c.softmax1 ? germ::model::Normaliser::kSoftmax1 : germ::model::Normaliser::kSoftmax;
  at::Tensor expected = germ::model::attend_reference(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), bias, normaliser)[0];
  at::Tensor got = kernel_loop_attention(q, k, v, slopes, positions, positions, keep, c.causal, c.softmax1);
  if (c.padded)  // padded query rows are not compared: callers discard them
    expected = expected.narrow(1, 0, 37), got = got.narrow(1, 0, 37);
  EXPECT_LT((got - expected).abs().max().item<float>(), 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(KernelLoop, OnlineSoftmaxAttention,
                         ::testing::Values(Case{false, true, false}, Case{true, true, false}, Case{false, false, false},
                                           Case{true, false, false}, Case{false, true, true}, Case{true, true, true},
                                           Case{true, false, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.causal ? "Causal" : "Bidirectional") +
                                  (info.param.softmax1 ? "Softmax1" : "Softmax") + (info.param.padded ? "Padded" : "");
                         });

TEST(OnlineSoftmax, AllMaskedRowIsZeroNotNaN) {
  for (bool softmax1 : {true, false}) {
    OnlineSoftmax state = OnlineSoftmax::start(softmax1);
    EXPECT_EQ(state.rescale_to(-INFINITY), 1.0f);
    EXPECT_EQ(state.weight(-INFINITY), 0.0f);
    EXPECT_FALSE(std::isnan(state.inverse()));
  }
  // Softmax_1 with every key masked puts all the mass on the zero key: sum 1, output 0.
  EXPECT_EQ(OnlineSoftmax::start(true).inverse(), 1.0f);
}

TEST(OnlineSoftmax, Softmax1NeverLetsTheMaxFallBelowZero) {
  OnlineSoftmax state = OnlineSoftmax::start(true);
  state.rescale_to(-50.0f);
  EXPECT_EQ(state.max, 0.0f);
  const float weight = state.weight(-50.0f);
  state.sum += weight;
  EXPECT_NEAR(1.0f / state.inverse(), 1.0f + std::exp(-50.0f), 1e-6f);
}

}  // namespace
