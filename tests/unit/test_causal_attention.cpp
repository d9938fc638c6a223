// The fused causal ALiBi attention of training (model/causal_attention.hpp) against the explicit
// form (scores -> bias -> normalise -> weights x values) and its kernels against double-precision
// references, ggml-style: fast path vs reference within a stated tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/attention.hpp"
#include "model/attention_kernels.hpp"
#include "model/causal_attention.hpp"
#include "model/transformer.hpp"
#include "test_support.hpp"

using namespace germ::model;

using germ::test_support::random_values;

namespace {

// Largest |a - b| relative to the larger of 1 and the reference's largest magnitude.
double scaled_difference(const at::Tensor& a, const at::Tensor& b) {
  double magnitude = std::max(1.0, b.abs().max().item<double>());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() / magnitude;
}

}  // namespace

TEST(CausalAttentionKernels, SoftmaxTilesMatchTheReference) {
  struct Case { int64_t tiles, rows, columns, first_query; bool softmax1; float spread; };
  const std::vector<Case> cases{
      {3, 16, 80, 64, true, 8.0f},     // a block past the first: full vectors and a tail
      {2, 16, 16, 0, true, 3.0f},      // the first block: rows see 1..16 keys
      {2, 5, 133, 128, false, 40.0f},  // plain softmax, huge scores, a partial block
      {1, 7, 7, 0, false, 1.0f},       // fewer keys than one vector
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const Case& k = cases[c];
    std::vector<float> scores = random_values(k.tiles * k.rows * k.columns, k.spread, 11 + c), expected = scores;
    std::vector<float> slopes{0.5f, 0.0625f, 0.000244140625f};
    CausalTiles tiles;
    tiles.tiles = k.tiles, tiles.rows = k.rows, tiles.columns = k.columns, tiles.first_query = k.first_query;
    tiles.slopes = slopes.data(), tiles.scale = 0.125f, tiles.softmax1 = k.softmax1, tiles.threads = 2;
    tiles.scores = scores.data();
    causal_softmax_tiles(tiles);
    tiles.scores = expected.data();
    causal_softmax_tiles_reference(tiles);
    double worst = 0;
    for (size_t i = 0; i < scores.size(); ++i) worst = std::max(worst, double(std::fabs(scores[i] - expected[i])));
    EXPECT_LT(worst, 2e-6) << "case " << c;  // probabilities: exp's 2e-7 relative error plus rounding
    // Causality: keys after a row's query position get exactly 0.
    for (int64_t r = 0; r < k.rows; ++r)
      for (int64_t j = k.first_query + r + 1; j < k.columns; ++j) ASSERT_EQ(scores[r * k.columns + j], 0.0f);
  }
}

TEST(CausalAttentionKernels, SoftmaxBackwardIsTheJacobianProduct) {
  const int64_t tiles = 2, rows = 9, columns = 21;
  std::vector<float> p = random_values(tiles * rows * columns, 1.0f, 3), g = random_values(p.size(), 1.0f, 4);
  std::vector<float> delta = random_values(tiles * rows, 1.0f, 5), expected(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = std::fabs(p[i]) / columns;
    expected[i] = p[i] * (g[i] - delta[i / columns]);
  }
  softmax_backward_tiles(p.data(), g.data(), delta.data(), tiles, rows, columns, 2);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(g[i], expected[i], 1e-6 * (1 + std::fabs(expected[i])));
}

TEST(CausalAttention, ValuesAndGradientsMatchTheExplicitForm) {
  const int64_t batch = 2, heads = 3, length = 200, dim = 8;
  at::Tensor slopes = alibi_slopes(heads, 12.0);
  for (Normaliser normaliser : {Normaliser::kSoftmax1, Normaliser::kSoftmax}) {
    for (int64_t block : {64, 128, 512}) {  // blocks that split 200 unevenly, and one block
      at::manual_seed(7);
      at::Tensor q = (at::randn({batch, heads, length, dim}) * 3).requires_grad_();
      at::Tensor k = (at::randn({batch, heads, length, dim}) * 3).requires_grad_();
      at::Tensor v = at::randn({batch, heads, length, dim}).requires_grad_();
      at::Tensor weights = at::randn({batch, heads, length, dim});  // a loss that weights every output

      at::Tensor fused = causal_alibi_attention(q, k, v, slopes, normaliser, block);
      auto fused_grads = torch::autograd::grad({(fused * weights).sum()}, {q, k, v});
      at::Tensor reference = attend_reference(q, k, v, alibi_bias(slopes, length, true).unsqueeze(0), normaliser);
      auto reference_grads = torch::autograd::grad({(reference * weights).sum()}, {q, k, v});

      SCOPED_TRACE(std::string(normaliser == Normaliser::kSoftmax1 ? "softmax1" : "softmax") + " block " +
                   std::to_string(block));
      EXPECT_LT(scaled_difference(fused, reference), 1e-5);
      for (int i = 0; i < 3; ++i) EXPECT_LT(scaled_difference(fused_grads[i], reference_grads[i]), 1e-5) << "grad " << i;
    }
  }
}

TEST(CausalAttention, ACausalModelTrainsTheSameThroughEitherPath) {
  ModelConfig c = ModelConfig::preset("tiny", ModelKind::kCausalLm);
  c.alibi_max_bias = 12;
  c.dropout = 0.0, c.attention_dropout = 0.0;  // both paths must see the same network
  GermModel model(c, ModelKind::kCausalLm);
  at::manual_seed(3);
  at::Tensor ids = at::randint(0, c.vocab, {2, 150}, at::kLong);
  auto loss_and_grads = [&](bool fused) {
    model->set_fused_attention(fused);
    model->zero_grad();
    at::Tensor logits = model->forward(ids);
    at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, c.vocab}), ids.reshape({-1}));
    loss.backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(loss.item<double>(), grads);
  };
  auto [fused_loss, fused_grads] = loss_and_grads(true);
  auto [explicit_loss, explicit_grads] = loss_and_grads(false);
  EXPECT_NEAR(fused_loss, explicit_loss, 1e-5 * explicit_loss);
  ASSERT_EQ(fused_grads.size(), explicit_grads.size());
  for (size_t i = 0; i < fused_grads.size(); ++i) {
    // Relative to each parameter's largest gradient (they are small: no floor of 1 here).
    double largest = explicit_grads[i].abs().max().item<double>();
    ASSERT_GT(largest, 0) << i;
    EXPECT_LT((fused_grads[i] - explicit_grads[i]).abs().max().item<double>(), 1e-4 * largest) << i;
  }
}
