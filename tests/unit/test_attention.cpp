#include <gtest/gtest.h>

#include <cmath>

#include "model/attention.hpp"

using namespace germ::model;

TEST(Softmax1, MatchesClosedFormInDouble) {
  at::Tensor s = at::randn({4, 7}, at::kDouble) * 3;
  at::Tensor p = softmax1(s);
  for (int64_t r = 0; r < 4; ++r) {
    double denominator = 1.0;
    for (int64_t j = 0; j < 7; ++j) denominator += std::exp(s[r][j].item<double>());
    for (int64_t j = 0; j < 7; ++j)
      EXPECT_NEAR(p[r][j].item<double>(), std::exp(s[r][j].item<double>()) / denominator, 1e-14);
  }
}

TEST(Softmax1, RowsSumBelowOne) {
  at::Tensor p = softmax1(at::randn({16, 33}));
  at::Tensor sums = p.sum(-1);
  EXPECT_TRUE((sums < 1).all().item<bool>());
  EXPECT_TRUE((sums > 0).all().item<bool>());
}

TEST(Softmax1, StronglyNegativeScoresAttendToNothing) {
  at::Tensor p = softmax1(at::full({2, 5}, -30.0, at::kDouble));
  EXPECT_LT(p.sum(-1).max().item<double>(), 5 * std::exp(-30.0) * 1.0001);
  // Ordinary softmax cannot do this: it always sums to one.
  EXPECT_NEAR(at::softmax(at::full({5}, -30.0), -1).sum().item<float>(), 1.0f, 1e-6);
}

TEST(Softmax1, StableAtExtremeScores) {
  at::Tensor s = at::tensor({1e4f, 0.0f, -1e4f});
  at::Tensor p = softmax1(s);
  EXPECT_TRUE(at::isfinite(p).all().item<bool>());
  EXPECT_NEAR(p[0].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(p[2].item<float>(), 0.0f, 1e-30);
  at::Tensor q = softmax1(at::tensor({-1e4f, -1e4f}));
  EXPECT_TRUE(at::isfinite(q).all().item<bool>());
  EXPECT_EQ(q.sum().item<float>(), 0.0f);
}

TEST(Softmax1, FullyMaskedRowIsZeroNotNaN) {
  float inf = std::numeric_limits<float>::infinity();
  at::Tensor p = softmax1(at::tensor({-inf, -inf, -inf}));
  EXPECT_FALSE(at::isnan(p).any().item<bool>());
  EXPECT_EQ(p.abs().sum().item<float>(), 0.0f);
}

TEST(Softmax1, EqualsSoftmaxWithExtraZeroKey) {
  at::Tensor s = at::randn({3, 9}, at::kDouble) * 4;
  at::Tensor extended = at::cat({s, at::zeros({3, 1}, at::kDouble)}, -1);
  at::Tensor expected = at::softmax(extended, -1).slice(-1, 0, 9);
  EXPECT_TRUE(at::allclose(softmax1(s), expected, 1e-12, 1e-14));
}

TEST(Alibi, SlopesMatchDnabert2) {
  at::Tensor eight = alibi_slopes(8);
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(eight[i].item<float>(), std::pow(2.0f, -(i + 1.0f)));
  // 12 heads (DNABERT-2): the 8-head sequence then the odd terms of the 16-head one.
  at::Tensor twelve = alibi_slopes(12);
  ASSERT_EQ(twelve.size(0), 12);
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(twelve[i].item<float>(), std::pow(2.0f, -(i + 1.0f)));
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(twelve[8 + i].item<float>(), std::pow(2.0f, -0.5f * (2 * i + 1)));
}

TEST(Alibi, MaxBiasSpreadsTheSlopesFurther) {
  // 4 heads, max bias 12: 2^-3, 2^-6, 2^-9, 2^-12 (the last head's bias is -1 at 4,096 bases).
  at::Tensor four = alibi_slopes(4, 12.0);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(four[i].item<float>(), std::pow(2.0f, -3.0f * (i + 1)));
  // 3 heads: the 2-head set 2^-6, 2^-12 then the first odd term of the 4-head set, 2^-3.
  at::Tensor three = alibi_slopes(3, 12.0);
  EXPECT_FLOAT_EQ(three[2].item<float>(), std::pow(2.0f, -3.0f));
}

TEST(Alibi, BiasIsDistanceTimesSlopeAndCausalMasksFuture) {
  at::Tensor slopes = alibi_slopes(2);
  at::Tensor bias = alibi_bias(slopes, 5, /*causal=*/false);
  ASSERT_EQ(bias.sizes(), (at::IntArrayRef{2, 5, 5}));
  EXPECT_FLOAT_EQ(bias[0][4][1].item<float>(), -3 * slopes[0].item<float>());
  EXPECT_FLOAT_EQ(bias[1][1][4].item<float>(), -3 * slopes[1].item<float>());
  at::Tensor causal = alibi_bias(slopes, 5, /*causal=*/true);
  EXPECT_TRUE(std::isinf(causal[0][1][4].item<float>()));
  EXPECT_FLOAT_EQ(causal[0][4][1].item<float>(), -3 * slopes[0].item<float>());
  // Explicit positions (FOCUS measures distance in bases): query 1000, keys 900 and 1000.
  at::Tensor far = alibi_bias(slopes, at::tensor({1000L}), at::tensor({900L, 1000L}), true);
  EXPECT_FLOAT_EQ(far[0][0][0].item<float>(), -100 * slopes[0].item<float>());
  EXPECT_FLOAT_EQ(far[0][0][1].item<float>(), 0.0f);
}

TEST(Attend, FusedPathMatchesReference) {
  for (Normaliser n : {Normaliser::kSoftmax, Normaliser::kSoftmax1}) {
    at::Tensor q = at::randn({2, 3, 6, 8}), k = at::randn({2, 3, 6, 8}), v = at::randn({2, 3, 6, 8});
    at::Tensor bias = alibi_bias(alibi_slopes(3), 6, true).unsqueeze(0);
    at::Tensor fused = attend(q, k, v, bias, n, 0.0, false);
    at::Tensor reference = attend_reference(q.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble),
                                            bias.to(at::kDouble), n);
    EXPECT_LT((fused.to(at::kDouble) - reference).abs().max().item<double>(), 1e-5);
  }
}
