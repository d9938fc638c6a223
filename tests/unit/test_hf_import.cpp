// `germ import` of Hugging Face DNABERT-2 checkpoints: a fixture written by PyTorch from an
// independent implementation of DNABERT-2 (tests/hf/make_dnabert2_checkpoint.py) must give
// the same token ids and outputs, and checkpoints germ cannot represent must be refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/hf_import.hpp"
#include "model/safetensors.hpp"
#include "model/tensor_bytes.hpp"
#include "test_support.hpp"
#include "tokenize/hf_bpe_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kTolerance = 1e-4;

class HfImportFixture : public test_support::TempDirTest {
 protected:
  // Writes the PyTorch fixture once per test; false (and the test is skipped) without torch.
  bool make_fixture() {
    std::string python = test_support::python_with_torch();
    if (python.empty()) return false;
    std::string script = std::string(GERM_TEST_DATA_DIR) + "/../tests/hf/make_dnabert2_checkpoint.py";
    std::string command = python + " " + script + " " + dir_.string() + " >/dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    reference_ = std::make_unique<SafetensorsReader>(path("reference.safetensors"));
    return true;
  }
  at::Tensor reference(const std::string& name) const { return read_tensor(*reference_, name); }

  // Framed ids and mask of the reference batch, run through an imported model.
  at::Tensor hidden_states(GermModelImpl& model) const {
    torch::NoGradGuard no_grad;
    return model.hidden_states(reference("input_ids"), reference("attention_mask"));
  }

  // Largest |germ - reference| over the real (unpadded) tokens of [B, L, ...] outputs.
  double max_token_difference(const at::Tensor& ours, const at::Tensor& theirs) const {
    at::Tensor keep = reference("attention_mask").to(at::kBool);
    return (ours.index({keep}) - theirs.index({keep})).abs().max().item<double>();
  }

  std::unique_ptr<SafetensorsReader> reference_;
};

TEST_F(HfImportFixture, ReproducesTheDnabert2Fixture) {
  if (!make_fixture()) GTEST_SKIP() << "python3 with torch (Debian python3-torch) is not installed";
  HfImport mlm = import_hf_checkpoint(path("mlm"));
  ASSERT_EQ(mlm.bundle.model->kind(), ModelKind::kEncoderMlm);
  EXPECT_TRUE(mlm.skipped.empty());
  EXPECT_TRUE(mlm.initialised.empty());
  EXPECT_EQ(mlm.bundle.model->config().heads, 6);

  // Token ids: exactly the fixture's own BPE, string by string.
  auto strings = json::parse(reference_->metadata().at("strings")).get<std::vector<std::string>>();
  at::Tensor ids = reference("token_ids"), counts = reference("token_counts");
  int64_t at = 0, compared = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    int64_t count = counts[i].item<int64_t>();
    std::vector<int64_t> expected(ids.data_ptr<int64_t>() + at, ids.data_ptr<int64_t>() + at + count);
    EXPECT_EQ(mlm.bundle.tokenizer->encode(strings[i]), expected) << "string " << i << ": " << strings[i];
    at += count;
    compared += count;
  }
  EXPECT_GT(compared, 150);

  // The batch germ builds from those ids matches the reference batch.
  at::Tensor input_ids = reference("input_ids");
  for (int64_t row = 0; row < 7; ++row) {
    auto framed = tokenize::with_cls_sep(mlm.bundle.tokenizer->encode(strings[row]));
    at::Tensor expected = input_ids[row].slice(0, 0, static_cast<int64_t>(framed.size()));
    EXPECT_TRUE(at::equal(at::tensor(framed, at::kLong), expected)) << "row " << row;
  }

  at::Tensor hidden = hidden_states(*mlm.bundle.model);
  double hidden_diff = max_token_difference(hidden, reference("hidden_states"));
  at::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = mlm.bundle.model->head(hidden);
  }
  double logit_diff = max_token_difference(logits, reference("mlm_logits"));
  EXPECT_LT(hidden_diff, kTolerance);
  EXPECT_LT(logit_diff, kTolerance);
  // Not trivially small: the outputs vary by far more than the tolerance.
  EXPECT_GT(reference("mlm_logits").std().item<double>(), 0.5);
  std::printf("max |diff|: hidden states %.3g, MLM logits %.3g\n", hidden_diff, logit_diff);

  HfImportOptions germ_attention;
  germ_attention.attention = Normaliser::kSoftmax1;
  HfImport softmax1 = import_hf_checkpoint(path("mlm"), germ_attention);
  double softmax1_diff = max_token_difference(hidden_states(*softmax1.bundle.model), reference("hidden_states_softmax1"));
  EXPECT_LT(softmax1_diff, kTolerance);

  HfImport classifier = import_hf_checkpoint(path("classifier"));
  ASSERT_EQ(classifier.bundle.model->kind(), ModelKind::kClassifier);
  EXPECT_EQ(classifier.bundle.labels, (std::vector<std::string>{"promoter", "enhancer", "background"}));
  at::Tensor class_logits;
  {
    torch::NoGradGuard no_grad;
    class_logits = classifier.bundle.model->forward(reference("input_ids"), reference("attention_mask"));
  }
  double class_diff = (class_logits - reference("class_logits")).abs().max().item<double>();
  EXPECT_LT(class_diff, kTolerance);
  std::printf("max |diff|: softmax1 hidden %.3g, class logits %.3g\n", softmax1_diff, class_diff);

  // Through the model file: save, load, same outputs.
  save_model(path("imported.safetensors"), mlm.bundle);
  ModelBundle loaded = load_model(path("imported.safetensors"));
  EXPECT_EQ(loaded.tokenizer->kind(), "hf-bpe");
  EXPECT_EQ(loaded.tokenizer->encode(strings[0]), mlm.bundle.tokenizer->encode(strings[0]));
  EXPECT_TRUE(at::equal(hidden_states(*loaded.model), hidden));
}

// A checkpoint written here from a germ model under DNABERT-2 names, for the refusals.
class HfImportChecks : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    fs::create_directories(dir_ / "ckpt");
    config_ = {{"hidden_size", 16}, {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", 24},
               {"vocab_size", 12}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}};
    json vocab = json::object();
    std::vector<std::string> tokens = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "A", "C", "G", "T", "N", "AC", "GT"};
    for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
    tokenizer_ = {{"model", {{"type", "BPE"}, {"unk_token", "[UNK]"}, {"vocab", vocab}, {"merges", {"A C", "G T"}}}}};
    write("config.json", config_.dump());
    write("tokenizer.json", tokenizer_.dump());
    ModelConfig c = config_from_hf_json(config_.dump(), "config.json");
    source_ = GermModel(c, ModelKind::kEncoderMlm);
    for (const auto& item : source_->named_parameters()) {
      std::string name = item.key();
      if (name == "cls.predictions.bias") name = "cls.predictions.decoder.bias";
      else if (name.rfind("cls.", 0) != 0) name = "bert." + name;
      tensors_[name] = item.value().detach().clone();
    }
  }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / "ckpt" / name) << text; }
  void write_weights() {
    std::vector<TensorBytes> bytes;
    std::vector<TensorToWrite> entries;
    for (const auto& [name, tensor] : tensors_) bytes.push_back(tensor_to_bytes(tensor, name));
    size_t i = 0;
    for (const auto& [name, tensor] : tensors_) entries.push_back(bytes[i++].to_write(name));
    write_safetensors(path("ckpt/model.safetensors"), {}, entries);
  }
  std::string import_error(const HfImportOptions& options = {}) {
    try {
      import_hf_checkpoint(path("ckpt"), options);
    } catch (const Error& error) {
      return error.what();
    }
    return "(no error)";
  }

  json config_, tokenizer_;
  GermModel source_{nullptr};
  std::map<std::string, at::Tensor> tensors_;
};

TEST_F(HfImportChecks, CopiesEveryTensorExactly) {
  tensors_["cls.predictions.decoder.weight"] = tensors_["bert.embeddings.word_embeddings.weight"];
  write_weights();
  HfImport imported = import_hf_checkpoint(path("ckpt"));
  auto ours = imported.bundle.model->named_parameters();
  for (const auto& item : source_->named_parameters())
    EXPECT_TRUE(at::equal(ours[item.key()], item.value())) << item.key();
  EXPECT_EQ(germ_parameter_name("bert.encoder.layer.3.mlp.wo.weight"), "encoder.layer.3.mlp.wo.weight");
  EXPECT_EQ(germ_parameter_name("cls.predictions.decoder.bias"), "cls.predictions.bias");
}

TEST_F(HfImportChecks, StrictByDefaultNonStrictReports) {
  tensors_["bert.pooler.dense.weight"] = at::zeros({16, 16});
  tensors_.erase("cls.predictions.transform.dense.bias");
  write_weights();
  std::string error = import_error();
  EXPECT_NE(error.find("model.safetensors: 1 tensor(s) are not used by a germ encoder-mlm model: bert.pooler.dense.weight"),
            std::string::npos) << error;
  HfImportOptions lenient;
  lenient.strict = false;
  HfImport imported = import_hf_checkpoint(path("ckpt"), lenient);
  EXPECT_EQ(imported.skipped, std::vector<std::string>{"bert.pooler.dense.weight"});
  EXPECT_EQ(imported.initialised, std::vector<std::string>{"cls.predictions.transform.dense.bias"});
  tensors_.erase("bert.pooler.dense.weight");
  write_weights();
  error = import_error();
  EXPECT_NE(error.find("1 tensor(s) of a germ encoder-mlm model are missing: cls.predictions.transform.dense.bias"),
            std::string::npos) << error;
}

TEST_F(HfImportChecks, RefusesWhatItCannotRepresent) {
  tensors_["bert.encoder.layer.0.mlp.wo.weight"] = at::zeros({16, 20});
  write_weights();
  EXPECT_NE(import_error().find("model is corrupted: tensor 'bert.encoder.layer.0.mlp.wo.weight' has shape [16, 20], "
                                "config.json implies [16, 24]"),
            std::string::npos) << import_error();
  tensors_["bert.encoder.layer.0.mlp.wo.weight"] = at::zeros({16, 24});
  tensors_["cls.predictions.decoder.weight"] = at::ones({12, 16});
  write_weights();
  EXPECT_NE(import_error().find("differs from the word embeddings"), std::string::npos) << import_error();
  tensors_.erase("cls.predictions.decoder.weight");
  write_weights();

  config_["vocab_size"] = 16;
  write("config.json", config_.dump());
  EXPECT_NE(import_error().find("config.json: vocab_size 16 differs from the 12 tokens of tokenizer.json"), std::string::npos);
  config_["vocab_size"] = 12;
  config_["hidden_act"] = "relu";
  write("config.json", config_.dump());
  EXPECT_NE(import_error().find("hidden_act \"relu\" is not supported"), std::string::npos) << import_error();
  config_.erase("hidden_act");
  config_.erase("num_attention_heads");
  write("config.json", config_.dump());
  EXPECT_NE(import_error().find("config.json: lacks \"num_attention_heads\""), std::string::npos) << import_error();

  config_["num_attention_heads"] = 2;
  write("config.json", config_.dump());
  fs::remove(dir_ / "ckpt" / "model.safetensors");
  write("pytorch_model.bin", "PK\x03\x04");
  EXPECT_NE(import_error().find("pytorch_model.bin: pickle checkpoints are not read"), std::string::npos) << import_error();
  fs::remove(dir_ / "ckpt" / "tokenizer.json");
  EXPECT_NE(import_error().find("tokenizer.json: cannot open"), std::string::npos) << import_error();
  EXPECT_NE(import_error().find("ckpt"), std::string::npos);
}

}  // namespace
}  // namespace germ::model
