// engine::open_model, the one door to a model file: each kind it returns, and a damaged file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/classifier_file.hpp"
#include "engine/lora.hpp"
#include "engine/open_model.hpp"
#include "model/focus_store.hpp"
#include "model/token_batch.hpp"
#include "quant/calibration.hpp"
#include "quant/ptq.hpp"
#include "quant/quantized_linear.hpp"
#include "quant/quantized_store.hpp"
#include "test_support.hpp"
#include "tiny_focus_model.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

model::ModelBundle tiny_bundle(model::ModelKind kind, int64_t labels = 0) {
  at::manual_seed(11);
  model::ModelConfig c = model::ModelConfig::preset("tiny", kind);
  c.vocab = tokenize::NucleotideTokenizer::kVocabSize;
  c.num_labels = labels;
  c.dropout = 0;
  model::ModelBundle b;
  b.model = model::GermModel(c, kind);
  b.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  for (int64_t i = 0; i < labels; ++i) b.labels.push_back("class" + std::to_string(i));
  b.model->eval();
  return b;
}

at::Tensor classifier_logits(model::GermModel& m) {
  at::NoGradGuard no_grad;
  model::TokenBatch batch = model::pad_token_batch({{1, 6, 7, 8, 9, 2}, {1, 9, 8, 2}});
  return m->forward(batch.ids, batch.attention_mask);
}

// A classifier in adapter form, as germ finetune --method lora writes it without --merge.
void save_lora_classifier(const std::string& path, model::ModelBundle bundle) {
  engine::LoraOptions options;
  options.rank = 2;
  options.targets = {"Wqkv"};
  auto set = engine::attach_lora(bundle.model, options);
  {
    at::NoGradGuard no_grad;
    for (const auto& e : set->entries()) e.hooks->adapter()->B.normal_(0.0, 0.1);
  }
  bundle.extra_tensors = engine::lora_tensors(*set);
  bundle.extra_metadata[engine::kLoraMetadata] =
      nlohmann::json{{"method", "lora"}, {"rank", 2}, {"alpha", 16.0}, {"dropout", 0.0}, {"targets", {"Wqkv"}}}.dump();
  model::save_model(path, bundle);
}

void save_quantized_classifier(const std::string& path, model::ModelBundle bundle) {
  quant::PtqOptions options;
  options.method = quant::Method::kMinMax;
  options.bits = quant::parse_bit_widths("w8a8");
  options.quiet = true;
  auto calibration = quant::frame_calibration_set(bundle, {"ACGTACGTTTGACCA", "GGGCCCATATCGCG"});
  quant::store_quantization(bundle, quant::quantize_model(bundle, calibration, options));
  model::save_model(path, bundle);
}

quant::Execution execution_of_first_linear(model::GermModel& m) {
  for (auto& l : model::named_linears(*m))
    if (auto* hooks = dynamic_cast<quant::QuantizedLinearHooks*>(l.linear->hooks().get())) return hooks->execution();
  ADD_FAILURE() << "no quantized layer";
  return quant::Execution::kTransformOnly;
}

class OpenModel : public test_support::TempDirTest {};

}  // namespace

TEST_F(OpenModel, CausalLmWithAndWithoutItsFocusAdapter) {
  test_support::TinyFocusModel tiny;
  model::ModelBundle bundle;
  bundle.model = tiny.model;
  bundle.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  tiny.geometry.kind = model::MemoryKind::kFocus;
  model::save_focus_model(path("focus.safetensors"), bundle, tiny.adapter, tiny.geometry);
  model::save_model(path("plain.safetensors"), bundle);

  engine::ModelFile file(path("focus.safetensors"));
  EXPECT_EQ(file.kind(), model::ModelKind::kCausalLm);
  engine::LoadedModel focus = engine::open_model(file);
  EXPECT_EQ(focus.kind, model::ModelKind::kCausalLm);
  EXPECT_TRUE(focus.has_focus_adapter);
  EXPECT_FALSE(focus.quantized);
  EXPECT_EQ(focus.focus_geometry.to_json(), tiny.geometry.to_json());
  EXPECT_TRUE(focus.focus_model().has_adapter);

  engine::LoadedModel plain = engine::open_model(path("plain.safetensors"));
  EXPECT_FALSE(plain.has_focus_adapter);
  EXPECT_EQ(plain.focus_geometry.kind, model::MemoryKind::kNone);
}

TEST_F(OpenModel, EncoderIsNeitherAClassifierNorACausalLm) {
  model::save_model(path("mlm.safetensors"), tiny_bundle(model::ModelKind::kEncoderMlm));
  engine::ModelFile file(path("mlm.safetensors"));
  engine::LoadedModel encoder = engine::open_model(file);
  EXPECT_EQ(encoder.kind, model::ModelKind::kEncoderMlm);
  EXPECT_THROW(
      {
        try {
          encoder.focus_model();
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("base by base needs a causal-lm model"), std::string::npos);
          throw;
        }
      },
      Error);
  EXPECT_THROW(engine::require_classifier(file), Error);
}

TEST_F(OpenModel, ClassifierWithLoraAdaptersRunsThemOrMergesThem) {
  model::ModelBundle base = tiny_bundle(model::ModelKind::kClassifier, 3);
  save_lora_classifier(path("lora.safetensors"), base);
  model::save_model(path("plain.safetensors"), tiny_bundle(model::ModelKind::kClassifier, 3));

  engine::LoadedModel plain = engine::open_model(path("plain.safetensors"));
  EXPECT_EQ(plain.kind, model::ModelKind::kClassifier);
  EXPECT_EQ(plain.lora_adapters, nullptr);
  EXPECT_EQ(plain.bundle.labels.size(), 3u);

  engine::LoadedModel hooked = engine::open_model(path("lora.safetensors"));
  ASSERT_NE(hooked.lora_adapters, nullptr);
  EXPECT_TRUE(hooked.bundle.extra_tensors.empty());
  engine::OpenOptions merge;
  merge.merge_adapters = true;
  engine::LoadedModel merged = engine::open_model(path("lora.safetensors"), merge);
  EXPECT_EQ(merged.lora_adapters, nullptr);
  EXPECT_EQ(merged.bundle.extra_metadata.count(engine::kLoraMetadata), 0u);
  // Adapters change what the classifier computes, and merging them does not.
  EXPECT_GT((classifier_logits(hooked.bundle.model) - classifier_logits(plain.bundle.model)).abs().max().item<double>(),
            1e-4);
  EXPECT_LT((classifier_logits(hooked.bundle.model) - classifier_logits(merged.bundle.model)).abs().max().item<double>(),
            1e-4);
}

TEST_F(OpenModel, QuantizedClassifierRunsAsAskedAndStaysOnTheCpu) {
  save_quantized_classifier(path("w8.safetensors"), tiny_bundle(model::ModelKind::kClassifier, 2));
  engine::LoadedModel integer = engine::open_model(path("w8.safetensors"));
  EXPECT_TRUE(integer.quantized);
  EXPECT_EQ(execution_of_first_linear(integer.bundle.model), quant::Execution::kInteger);
  engine::LoadedModel fake = engine::open_model(path("w8.safetensors"), {quant::Execution::kFakeQuant});
  EXPECT_EQ(execution_of_first_linear(fake.bundle.model), quant::Execution::kFakeQuant);
  // Refused before anything moves, so this needs no GPU.
  engine::OpenOptions on_gpu;
  on_gpu.device = c10::Device(c10::kCUDA);
  try {
    engine::open_model(path("w8.safetensors"), on_gpu);
    ADD_FAILURE() << "a quantized model was placed on a GPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is quantized; its integer kernels run on the CPU"), std::string::npos);
  }
}

TEST_F(OpenModel, DamagedFileIsAOneLineErrorNamingTheFile) {
  model::save_model(path("whole.safetensors"), tiny_bundle(model::ModelKind::kClassifier, 2));
  const auto size = std::filesystem::file_size(path("whole.safetensors"));
  std::filesystem::copy_file(path("whole.safetensors"), path("cut.safetensors"));
  std::filesystem::resize_file(path("cut.safetensors"), size / 2);
  std::ofstream(path("junk.safetensors")) << "not a model file at all";
  for (const std::string name : {"cut.safetensors", "junk.safetensors"}) {
    try {
      engine::open_model(path(name));
      ADD_FAILURE() << name << " opened";
    } catch (const ModelCorrupted& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path(name) + ": model is corrupted", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  EXPECT_THROW(engine::ModelFile(path("missing.safetensors")), Error);
}
