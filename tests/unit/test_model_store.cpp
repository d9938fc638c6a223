#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model/model_store.hpp"
#include "model/safetensors.hpp"
#include "model/tensor_bytes.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace germ;
using namespace germ::model;

namespace {

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("germ-store-" + std::to_string(::getpid()) + "-" + name)).string();
}

ModelBundle tiny_bundle(ModelKind kind) {
  ModelConfig c = ModelConfig::preset("tiny", kind);
  c.vocab = tokenize::NucleotideTokenizer::kVocabSize;
  if (kind == ModelKind::kClassifier) c.num_labels = 2;
  ModelBundle b;
  b.model = GermModel(c, kind);
  b.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  if (kind == ModelKind::kClassifier) b.labels = {"negative", "positive"};
  b.provenance_json = make_provenance("germ test", {{"data", "none"}});
  return b;
}

// Rewrites a saved model with one change applied to its tensors or metadata.
template <typename Edit>
std::string rewrite(const std::string& source, const std::string& name, Edit edit) {
  SafetensorsReader reader(source);
  std::map<std::string, std::string> metadata = reader.metadata();
  std::vector<TensorBytes> owned;
  std::vector<std::string> names;
  for (const auto& info : reader.tensors()) {
    names.push_back(info.name);
    owned.push_back(tensor_to_bytes(read_tensor(reader, info.name), info.name));
  }
  edit(metadata, names, owned);
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < owned.size(); ++i) tensors.push_back(owned[i].to_write(names[i]));
  std::string out = temp_file(name);
  write_safetensors(out, metadata, tensors);
  return out;
}

void expect_corrupted(const std::string& path, const std::string& reason) {
  try {
    load_model(path);
    ADD_FAILURE() << "no error for " << reason;
  } catch (const ModelCorrupted& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ModelStore, RoundTripIsBitExact) {
  for (ModelKind kind : {ModelKind::kEncoderMlm, ModelKind::kClassifier, ModelKind::kCausalLm}) {
    ModelBundle original = tiny_bundle(kind);
    std::string path = temp_file("roundtrip.safetensors");
    save_model(path, original);
    ModelBundle loaded = load_model(path);
    EXPECT_EQ(loaded.model->kind(), kind);
    EXPECT_EQ(loaded.model->config(), original.model->config());
    EXPECT_EQ(loaded.labels, original.labels);
    EXPECT_EQ(loaded.tokenizer->serialize(), original.tokenizer->serialize());
    EXPECT_EQ(loaded.provenance_json, original.provenance_json);
    auto expected = original.model->named_parameters();
    for (const auto& item : loaded.model->named_parameters())
      EXPECT_TRUE(at::equal(item.value(), expected[item.key()])) << item.key();
    fs::remove(path);
  }
}

TEST(ModelStore, ConsistencyViolationsAreCorruption) {
  std::string path = temp_file("base.safetensors");
  save_model(path, tiny_bundle(ModelKind::kEncoderMlm));
  using Meta = std::map<std::string, std::string>;
  using Names = std::vector<std::string>;
  using Owned = std::vector<TensorBytes>;
  std::vector<std::pair<std::string, std::string>> cases;
  cases.push_back({rewrite(path, "shape", [](Meta&, Names& n, Owned& o) {
                     for (size_t i = 0; i < n.size(); ++i)
                       if (n[i] == "encoder.layer.0.mlp.wo.weight") o[i] = tensor_to_bytes(at::zeros({3, 3}));
                   }), "has shape [3, 3], the config expects"});
  cases.push_back({rewrite(path, "missing", [](Meta&, Names& n, Owned& o) {
                     n.pop_back();
                     o.pop_back();
                   }), "is missing"});
  cases.push_back({rewrite(path, "extra", [](Meta&, Names& n, Owned& o) {
                     n.push_back("bogus.weight");
                     o.push_back(tensor_to_bytes(at::zeros({2})));
                   }), "unexpected tensor 'bogus.weight'"});
  cases.push_back({rewrite(path, "dtype", [](Meta&, Names& n, Owned& o) {
                     o[0] = tensor_to_bytes(at::zeros(at::IntArrayRef(o[0].shape), at::kLong));
                   }), "expected a float type"});
  cases.push_back({rewrite(path, "config", [](Meta& m, Names&, Owned&) { m["germ.config"] = "{\"layers\": -1}"; }),
                   "layers must be"});
  cases.push_back({rewrite(path, "kind", [](Meta& m, Names&, Owned&) { m["germ.kind"] = "teleporter"; }),
                   "unknown value 'teleporter'"});
  cases.push_back({rewrite(path, "nometa", [](Meta& m, Names&, Owned&) { m.clear(); }), "not a germ model"});
  cases.push_back({rewrite(path, "tokenizer", [](Meta& m, Names&, Owned&) { m["germ.tokenizer"] = "{]"; }),
                   "tokenizer"});
  cases.push_back({rewrite(path, "labels", [](Meta& m, Names&, Owned&) { m["germ.labels"] = "{}"; }),
                   "germ.labels"});
  for (const auto& [file, reason] : cases) {
    expect_corrupted(file, reason);
    fs::remove(file);
  }
  fs::remove(path);
}

TEST(ModelStore, TruncatedFileIsCorruption) {
  std::string path = temp_file("truncated.safetensors");
  save_model(path, tiny_bundle(ModelKind::kCausalLm));
  fs::resize_file(path, fs::file_size(path) - 100);
  EXPECT_THROW(load_model(path), ModelCorrupted);
  fs::remove(path);
}
