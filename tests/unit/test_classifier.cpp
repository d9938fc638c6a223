#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "model/model_store.hpp"
#include "model/token_batch.hpp"
#include "test_support.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "train/classifier.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

model::ModelBundle tiny_encoder(model::ModelKind kind = model::ModelKind::kEncoderMlm) {
  at::manual_seed(3);
  model::ModelConfig c = model::ModelConfig::preset("tiny", kind);
  c.vocab = 10;
  model::ModelBundle b;
  b.model = model::GermModel(c, kind);
  b.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  return b;
}

class Classifier : public test_support::TempDirTest {};

}  // namespace

TEST_F(Classifier, CopiesEveryEncoderWeightAndAddsANewHead) {
  model::ModelBundle encoder = tiny_encoder();
  model::ModelBundle classifier = train::make_classifier(encoder, {"a", "b", "c"}, "enc.safetensors");
  EXPECT_EQ(classifier.model->kind(), model::ModelKind::kClassifier);
  EXPECT_EQ(classifier.model->config().num_labels, 3);
  EXPECT_EQ(classifier.labels, (std::vector<std::string>{"a", "b", "c"}));
  auto source = encoder.model->named_parameters();
  int shared = 0, fresh = 0;
  for (const auto& item : classifier.model->named_parameters()) {
    if (const at::Tensor* from = source.find(item.key())) {
      EXPECT_TRUE(at::equal(*from, item.value())) << item.key();
      ++shared;
    } else {
      EXPECT_TRUE(item.key().rfind("pooler.", 0) == 0 || item.key().rfind("classifier.", 0) == 0) << item.key();
      ++fresh;
    }
  }
  EXPECT_GT(shared, 10);
  EXPECT_EQ(fresh, 4);  // pooler.dense and classifier, weight and bias each
  // The copy is deep: training the classifier leaves the encoder as it was.
  at::Tensor before = source["embeddings.word_embeddings.weight"].clone();
  {
    at::NoGradGuard no_grad;
    classifier.model->word_embeddings->weight.add_(1.0);
  }
  EXPECT_TRUE(at::equal(before, encoder.model->word_embeddings->weight));
}

TEST_F(Classifier, RejectsCausalModelsAndMismatchedClassifiers) {
  EXPECT_THROW(train::make_classifier(tiny_encoder(model::ModelKind::kCausalLm), {"x", "y"}, "clm.safetensors"), Error);
  model::ModelBundle two = train::make_classifier(tiny_encoder(), {"x", "y"}, "enc");
  EXPECT_NO_THROW(train::make_classifier(two, {"p", "q"}, "two"));
  EXPECT_THROW(train::make_classifier(two, {"p", "q", "r"}, "two"), Error);
}

TEST_F(Classifier, LabelNamesFromLabelsTsv) {
  std::filesystem::create_directories(path("task"));
  EXPECT_EQ(train::label_names_for(path("task"), 2), (std::vector<std::string>{"0", "1"}));
  std::ofstream(path("task/labels.tsv")) << "label\tname\n0\tnoncoding\n1\tcoding\r\n";
  EXPECT_EQ(train::label_names_for(path("task"), 2), (std::vector<std::string>{"noncoding", "coding"}));
  std::ofstream(path("task/labels.tsv")) << "0\ta\n5\tb\n";
  EXPECT_THROW(train::label_names_for(path("task"), 2), Error);
}

TEST_F(Classifier, ProbabilitiesSumToOneAndIgnorePadding) {
  model::ModelBundle classifier = train::make_classifier(tiny_encoder(), {"x", "y"}, "enc");
  classifier.model->eval();
  std::vector<std::vector<int64_t>> tokens{{1, 5, 6, 7, 8, 2}, {1, 6, 2}};
  at::Tensor together = model::class_probabilities(classifier.model, tokens, 2, c10::Device(c10::kCPU));
  at::Tensor alone = model::class_probabilities(classifier.model, {tokens[1]}, 1, c10::Device(c10::kCPU));
  ASSERT_EQ(together.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_TRUE(at::allclose(together.sum(1), at::ones({2}), 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(together[1], alone[0], 1e-5, 1e-6));  // padding changes nothing
}

// --pooling mean: the head reads the mean of the last hidden states over the sequence's tokens
// (padding excluded), the file keeps the choice, and a continued classifier keeps its own.
TEST_F(Classifier, MeanPoolingAveragesTheTokensAndIsSaved) {
  model::ModelBundle classifier = train::make_classifier(tiny_encoder(), {"x", "y"}, "enc", model::Pooling::kMean);
  ASSERT_EQ(classifier.model->config().pooling, model::Pooling::kMean);
  classifier.model->eval();
  at::NoGradGuard no_grad;
  at::Tensor ids = at::tensor({1, 5, 6, 7, 8, 2, 1, 6, 2, 0, 0, 0}, at::kLong).view({2, 6});
  at::Tensor mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).view({2, 6});
  at::Tensor logits = classifier.model->forward(ids, mask);
  at::Tensor hidden = classifier.model->hidden_states(ids, mask);
  for (int64_t b = 0; b < 2; ++b) {
    const int64_t tokens = b == 0 ? 6 : 3;
    at::Tensor mean = hidden[b].slice(0, 0, tokens).mean(0);
    at::Tensor expected = classifier.model->classifier(at::tanh(classifier.model->pooler(mean)));
    EXPECT_TRUE(at::allclose(logits[b], expected, 1e-5, 1e-6)) << b;
  }
  // Not the [CLS] head's logits.
  model::ModelConfig cls_config = classifier.model->config();
  cls_config.pooling = model::Pooling::kCls;
  EXPECT_NE(cls_config.to_json(), classifier.model->config().to_json());
  EXPECT_EQ(model::ModelConfig::from_json(classifier.model->config().to_json()).pooling, model::Pooling::kMean);
  EXPECT_EQ(cls_config.to_json().find("pooling"), std::string::npos);  // files without it unchanged
  EXPECT_THROW(model::ModelConfig::from_json(R"({"pooling": "max"})"), Error);
  EXPECT_EQ(train::make_classifier(classifier, {"p", "q"}, "two", model::Pooling::kCls).model->config().pooling,
            model::Pooling::kMean);
}
