#include "model/hf_import.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/safetensors.hpp"
#include "model/tensor_bytes.hpp"
#include "tokenize/hf_bpe_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kTiedDecoder = "cls.predictions.decoder.weight";

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open (a Hugging Face checkpoint directory needs it)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(path, "read error");
  return text.str();
}

// "a, b, c and 4 more": a one-line error must stay readable for a 12-layer model.
std::string name_list(const std::vector<std::string>& names) {
  constexpr size_t kShown = 6;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

int64_t required_int(const json& config, const char* key, const std::string& subject) {
  auto it = config.find(key);
  if (it == config.end()) throw Error(subject, std::string("lacks \"") + key + "\"");
  if (!it->is_number_integer()) throw Error(subject, std::string("\"") + key + "\" must be an integer");
  return it->get<int64_t>();
}

template <typename Value>
Value optional_number(const json& config, const char* key, Value fallback, const std::string& subject) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw Error(subject, std::string("\"") + key + "\" must be a number");
  return it->get<Value>();
}

// Class names in output order from id2label ({"0": "LABEL_0", ...}), or empty.
std::vector<std::string> labels_from_config(const json& config, const std::string& subject) {
  auto it = config.find("id2label");
  if (it == config.end() || !it->is_object()) return {};
  std::vector<std::string> labels(it->size());
  for (const auto& [key, value] : it->items()) {
    size_t index = 0;
    try {
      index = std::stoul(key);
    } catch (const std::exception&) {
      index = labels.size();
    }
    if (index >= labels.size() || !value.is_string() || !labels[index].empty())
      throw Error(subject, "id2label is not a map of class indices 0..n-1 to names");
    labels[index] = value.get<std::string>();
  }
  return labels;
}

fs::path weight_file(const fs::path& directory) {
  if (fs::is_regular_file(directory / "model.safetensors")) return directory / "model.safetensors";
  if (fs::exists(directory / "model.safetensors.index.json"))
    throw Error((directory / "model.safetensors.index.json").string(),
                "sharded checkpoints are not supported; merge the shards into one model.safetensors");
  if (fs::exists(directory / "pytorch_model.bin"))
    throw Error((directory / "pytorch_model.bin").string(),
                "pickle checkpoints are not read (loading one can execute code); convert it to model.safetensors "
                "first (docs/import.md)");
  throw Error(directory.string(), "has no model.safetensors");
}

struct TensorPlan {
  std::map<std::string, const TensorInfo*> by_parameter;  // germ name -> checkpoint tensor
  std::vector<std::string> unused;
  const TensorInfo* tied_decoder = nullptr;
};

TensorPlan plan_tensors(const SafetensorsReader& reader, GermModelImpl& model) {
  TensorPlan plan;
  auto parameters = model.named_parameters();
  for (const TensorInfo& info : reader.tensors()) {
    std::string name = germ_parameter_name(info.name);
    if (name == kTiedDecoder && model.kind() == ModelKind::kEncoderMlm) {
      plan.tied_decoder = &info;
      continue;
    }
    if (!parameters.find(name) || plan.by_parameter.count(name)) {
      plan.unused.push_back(info.name);
      continue;
    }
    plan.by_parameter[name] = &info;
  }
  return plan;
}

// germ ties the MLM decoder to the word embeddings, as DNABERT-2 does; a checkpoint whose
// decoder was untied and trained apart cannot be represented.
void check_tied_decoder(const SafetensorsReader& reader, const TensorInfo& decoder, const at::Tensor& embeddings) {
  at::Tensor weight = read_tensor(reader, decoder.name).to(at::kFloat);
  if (weight.sizes() != embeddings.sizes() || !at::equal(weight, embeddings))
    throw ModelCorrupted(reader.path(), std::string("tensor '") + decoder.name +
                                            "' differs from the word embeddings; germ ties the MLM decoder to them");
}

}  // namespace

std::string germ_parameter_name(const std::string& hf_name) {
  std::string name = hf_name.rfind("bert.", 0) == 0 ? hf_name.substr(5) : hf_name;
  // DNABERT-2's decoder is an nn.Linear with its own bias; germ keeps that bias beside the tied
  // weight under BERT's name.
  if (name == "cls.predictions.decoder.bias") return "cls.predictions.bias";
  return name;
}

ModelConfig config_from_hf_json(const std::string& text, const std::string& subject) {
  json hf = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (hf.is_discarded() || !hf.is_object()) throw Error(subject, "not a JSON object");
  // DNABERT-2 applies exact GELU in the MLM head through hidden_act and in GeGLU always.
  if (hf.contains("hidden_act") && hf["hidden_act"] != "gelu")
    throw Error(subject, "hidden_act " + hf["hidden_act"].dump() + " is not supported (DNABERT-2 uses \"gelu\")");
  ModelConfig c;
  c.layers = required_int(hf, "num_hidden_layers", subject);
  c.hidden = required_int(hf, "hidden_size", subject);
  c.heads = required_int(hf, "num_attention_heads", subject);
  c.intermediate = required_int(hf, "intermediate_size", subject);
  c.vocab = required_int(hf, "vocab_size", subject);
  c.type_vocab = optional_number<int64_t>(hf, "type_vocab_size", 2, subject);
  c.dropout = optional_number<double>(hf, "hidden_dropout_prob", 0.1, subject);
  c.attention_dropout = optional_number<double>(hf, "attention_probs_dropout_prob", 0.0, subject);
  c.layer_norm_eps = optional_number<double>(hf, "layer_norm_eps", 1e-12, subject);
  c.max_length = optional_number<int64_t>(hf, "max_position_embeddings", 512, subject);
  c.norm = NormPlacement::kPost;
  c.mask = MaskKind::kBidirectional;
  c.ffn = FfnKind::kGeglu;
  try {
    c.validate();
  } catch (const Error& error) {
    throw Error(subject, error.what());
  }
  return c;
}

HfImport import_hf_checkpoint(const std::string& directory, const HfImportOptions& options) {
  const fs::path dir(directory);
  if (!fs::is_directory(dir)) throw Error(directory, "is not a directory (expected a Hugging Face checkpoint directory)");
  const std::string config_path = (dir / "config.json").string();
  const std::string tokenizer_path = (dir / "tokenizer.json").string();
  const std::string config_text = read_text_file(config_path);
  ModelConfig config = config_from_hf_json(config_text, config_path);
  config.normaliser = options.attention;
  auto tokenizer = std::make_shared<tokenize::HfBpeTokenizer>(
      tokenize::HfBpeTokenizer::from_tokenizer_json(read_text_file(tokenizer_path), tokenizer_path));
  if (tokenizer->vocab_size() != config.vocab)
    throw Error(config_path, "vocab_size " + std::to_string(config.vocab) + " differs from the " +
                                 std::to_string(tokenizer->vocab_size()) + " tokens of tokenizer.json");

  HfImport result;
  result.weight_file = weight_file(dir).string();
  SafetensorsReader reader(result.weight_file);
  ModelKind kind = ModelKind::kEncoderMlm;
  std::vector<std::string> labels;
  if (const TensorInfo* classifier = reader.find("classifier.weight")) {
    kind = ModelKind::kClassifier;
    if (classifier->shape.size() != 2)
      throw ModelCorrupted(result.weight_file, "tensor 'classifier.weight' is not a matrix");
    config.num_labels = classifier->shape[0];
    labels = labels_from_config(json::parse(config_text), config_path);
    if (labels.empty())
      for (int64_t i = 0; i < config.num_labels; ++i) labels.push_back("LABEL_" + std::to_string(i));
    if (static_cast<int64_t>(labels.size()) != config.num_labels)
      throw Error(config_path, "id2label names " + std::to_string(labels.size()) + " classes, classifier.weight has " +
                                   std::to_string(config.num_labels));
  }
  try {
    result.bundle.model = GermModel(config, kind);
  } catch (const Error& error) {
    throw Error(config_path, error.what());
  }
  result.bundle.tokenizer = tokenizer;
  result.bundle.labels = labels;

  TensorPlan plan = plan_tensors(reader, *result.bundle.model);
  std::vector<std::string> missing;
  for (const auto& item : result.bundle.model->named_parameters())
    if (!plan.by_parameter.count(item.key())) missing.push_back(item.key());
  const std::string what = std::string("a germ ") + to_string(kind) + " model";
  if (options.strict && !plan.unused.empty())
    throw Error(result.weight_file, std::to_string(plan.unused.size()) + " tensor(s) are not used by " + what + ": " +
                                         name_list(plan.unused) + " (--non-strict skips them)");
  if (options.strict && !missing.empty())
    throw Error(result.weight_file, std::to_string(missing.size()) + " tensor(s) of " + what + " are missing: " +
                                         name_list(missing) + " (--non-strict initialises them)");
  auto parameters = result.bundle.model->named_parameters();
  for (const auto& [name, info] : plan.by_parameter)
    copy_checked(reader, *info, *parameters.find(name), "config.json implies");
  if (plan.tied_decoder) check_tied_decoder(reader, *plan.tied_decoder, result.bundle.model->word_embeddings->weight);
  result.skipped = plan.unused;
  result.initialised = missing;
  result.bundle.model->eval();
  return result;
}

}  // namespace germ::model
