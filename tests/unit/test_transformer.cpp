#include <gtest/gtest.h>

#include "model/config.hpp"
#include "model/transformer.hpp"
#include "util/error.hpp"

using namespace germ::model;

namespace {
ModelConfig tiny(ModelKind kind) {
  ModelConfig c = ModelConfig::preset("tiny", kind);
  c.vocab = 32;
  c.dropout = 0.0;
  if (kind == ModelKind::kClassifier) c.num_labels = 3;
  return c;
}
}  // namespace

TEST(Config, JsonRoundTripAndValidation) {
  ModelConfig c = ModelConfig::preset("small", ModelKind::kCausalLm);
  c.normaliser = Normaliser::kSoftmax;
  EXPECT_EQ(ModelConfig::from_json(c.to_json()), c);
  EXPECT_EQ(c.to_json().find("alibi_max_bias"), std::string::npos);  // ALiBi's 8: not written
  c.alibi_max_bias = 12;
  EXPECT_EQ(ModelConfig::from_json(c.to_json()).alibi_max_bias, 12);
  EXPECT_THROW(ModelConfig::from_json("{\"alibi_max_bias\": -1}"), germ::Error);
  EXPECT_THROW(ModelConfig::from_json("{\"hidden\": 100, \"heads\": 3}"), germ::Error);
  EXPECT_THROW(ModelConfig::from_json("{\"attention\": \"sparsemax\"}"), germ::Error);
  EXPECT_THROW(ModelConfig::from_json("{\"layers\": \"two\"}"), germ::Error);
  EXPECT_THROW(ModelConfig::from_json("{\"lay3rs\": 2}"), germ::Error);
  EXPECT_THROW(ModelConfig::from_json("not json"), germ::Error);
  EXPECT_THROW(ModelConfig::preset("huge", ModelKind::kEncoderMlm), germ::Error);
}

TEST(Transformer, ParameterNamesFollowDnabert2) {
  GermModel model(tiny(ModelKind::kEncoderMlm), ModelKind::kEncoderMlm);
  auto params = model->named_parameters();
  for (const char* name :
       {"embeddings.word_embeddings.weight", "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight", "encoder.layer.0.attention.self.Wqkv.weight",
        "encoder.layer.1.attention.output.dense.bias", "encoder.layer.1.attention.output.LayerNorm.weight",
        "encoder.layer.0.mlp.gated_layers.weight", "encoder.layer.0.mlp.wo.weight",
        "encoder.layer.0.mlp.layernorm.bias", "cls.predictions.transform.dense.weight",
        "cls.predictions.bias"})
    EXPECT_NE(params.find(name), nullptr) << name;
  EXPECT_EQ(params.find("encoder.layer.0.mlp.gated_layers.bias"), nullptr);  // DNABERT-2: no bias
}

TEST(Transformer, BaseSizeIsDnabert2Sized) {
  ModelConfig c = ModelConfig::preset("base", ModelKind::kEncoderMlm);
  c.vocab = 4096;
  GermModel model(c, ModelKind::kEncoderMlm);
  // DNABERT-2-117M: 117M parameters with its MLM head.
  EXPECT_GT(model->parameter_count(), 115'000'000);
  EXPECT_LT(model->parameter_count(), 119'000'000);
}

TEST(Transformer, OutputShapesPerKind) {
  at::Tensor ids = at::randint(5, 32, {2, 11}, at::kLong);
  for (ModelKind kind : {ModelKind::kEncoderMlm, ModelKind::kCausalLm, ModelKind::kClassifier}) {
    GermModel model(tiny(kind), kind);
    model->eval();
    at::Tensor out = model->forward(ids);
    if (kind == ModelKind::kClassifier)
      EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 3}));
    else
      EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 11, 32}));
    EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  }
}

TEST(Transformer, CausalOutputsIgnoreTheFuture) {
  GermModel model(tiny(ModelKind::kCausalLm), ModelKind::kCausalLm);
  model->eval();
  at::Tensor ids = at::randint(5, 32, {1, 20}, at::kLong);
  at::Tensor changed = ids.clone();
  changed.index_put_({0, at::indexing::Slice(12, at::indexing::None)}, 7);
  at::Tensor a = model->forward(ids), b = model->forward(changed);
  using at::indexing::Slice;
  EXPECT_LT((a.index({0, Slice(0, 12)}) - b.index({0, Slice(0, 12)})).abs().max().item<float>(), 1e-6);
  EXPECT_GT((a.index({0, Slice(12)}) - b.index({0, Slice(12)})).abs().max().item<float>(), 1e-4);
}

TEST(Transformer, PaddedBatchEqualsUnpadded) {
  for (ModelKind kind : {ModelKind::kEncoderMlm, ModelKind::kCausalLm, ModelKind::kClassifier}) {
    for (Normaliser n : {Normaliser::kSoftmax, Normaliser::kSoftmax1}) {
      ModelConfig c = tiny(kind);
      c.normaliser = n;
      GermModel model(c, kind);
      model->eval();
      at::Tensor long_ids = at::randint(5, 32, {1, 14}, at::kLong);
      at::Tensor short_ids = at::randint(5, 32, {1, 9}, at::kLong);
      at::Tensor padded = at::full({2, 14}, 3, at::kLong);
      padded.index_put_({0}, long_ids[0]);
      padded.index_put_({1, at::indexing::Slice(0, 9)}, short_ids[0]);
      at::Tensor mask = at::zeros({2, 14}, at::kLong);
      mask.index_put_({0}, 1);
      mask.index_put_({1, at::indexing::Slice(0, 9)}, 1);
      at::Tensor batch = model->forward(padded, mask);
      at::Tensor alone_long = model->forward(long_ids), alone_short = model->forward(short_ids);
      using at::indexing::Slice;
      if (kind == ModelKind::kClassifier) {
        EXPECT_LT((batch[0] - alone_long[0]).abs().max().item<float>(), 1e-5);
        EXPECT_LT((batch[1] - alone_short[0]).abs().max().item<float>(), 1e-5);
      } else {
        EXPECT_LT((batch[0] - alone_long[0]).abs().max().item<float>(), 1e-5);
        EXPECT_LT((batch.index({1, Slice(0, 9)}) - alone_short[0]).abs().max().item<float>(), 1e-5)
            << to_string(kind) << " " << to_string(n);
      }
    }
  }
}

TEST(Transformer, AlibiRunsBeyondTrainingLength) {
  ModelConfig c = tiny(ModelKind::kEncoderMlm);
  GermModel model(c, ModelKind::kEncoderMlm);
  model->eval();
  at::Tensor out = model->forward(at::randint(5, 32, {1, 4 * c.max_length}, at::kLong));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

TEST(Transformer, SwitchingNormaliserChangesOnlyAttention) {
  GermModel model(tiny(ModelKind::kEncoderMlm), ModelKind::kEncoderMlm);
  model->eval();
  at::Tensor ids = at::randint(5, 32, {1, 12}, at::kLong);
  at::Tensor before = model->forward(ids);
  auto weights_before = model->named_parameters().values();
  model->set_normaliser(Normaliser::kSoftmax);
  at::Tensor after = model->forward(ids);
  EXPECT_EQ(model->config().normaliser, Normaliser::kSoftmax);
  EXPECT_GT((before - after).abs().max().item<float>(), 1e-4);
  model->set_normaliser(Normaliser::kSoftmax1);
  EXPECT_LT((before - model->forward(ids)).abs().max().item<float>(), 1e-6);
}

namespace {
struct Collector : ActivationObserver {
  bool wants(ActivationSite) const override { return true; }
  void observe(int64_t layer, ActivationSite site, const at::Tensor& value) override {
    if (site == ActivationSite::kAttentionProbabilities) null_mass.push_back(1 - value.sum(-1).mean().item<float>());
    else ++count;
  }
  int count = 0;
  std::vector<float> null_mass;
};
}  // namespace

TEST(Transformer, ObserverSeesEveryLayer) {
  GermModel model(tiny(ModelKind::kEncoderMlm), ModelKind::kEncoderMlm);
  model->eval();
  Collector collector;
  model->forward(at::randint(5, 32, {2, 10}, at::kLong), {}, &collector);
  EXPECT_EQ(collector.count, 2 * 2);  // FFN output + layer output, 2 layers
  ASSERT_EQ(collector.null_mass.size(), 2u);
  for (float m : collector.null_mass) EXPECT_GT(m, 0.0f);  // Softmax_1 leaves mass on "nothing"
}
