#include "model/model_store.hpp"

#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <set>
#include <nlohmann/json.hpp>

#include "germ/version.hpp"
#include "model/safetensors.hpp"
#include "model/tensor_bytes.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::model {
namespace {

constexpr const char* kFormatVersion = "1";

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

const std::string& required(const std::map<std::string, std::string>& metadata, const std::string& key,
                            const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw ModelCorrupted(path, "metadata key '" + key + "' is missing (not a germ model?)");
  return it->second;
}

}  // namespace

void copy_checked(const SafetensorsReader& reader, const TensorInfo& info, at::Tensor& target,
                  const std::string& expectation) {
  if (info.dtype != DType::F32 && info.dtype != DType::BF16 && info.dtype != DType::F16)
    throw ModelCorrupted(reader.path(), "tensor '" + info.name + "' has dtype " + dtype_name(info.dtype) + ", expected a float type");
  if (at::IntArrayRef(info.shape) != target.sizes())
    throw ModelCorrupted(reader.path(), "tensor '" + info.name + "' has shape " + shape_text(info.shape) + ", " +
                                            expectation + " " + shape_text(target.sizes()));
  torch::NoGradGuard no_grad;
  target.copy_(read_tensor(reader, info.name));
}

std::string make_provenance(const std::string& command_line, const std::map<std::string, std::string>& fields) {
  nlohmann::json j = fields;
  j["germ_version"] = kVersion;
  j["command_line"] = command_line;
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["created"] = stamp;
  return j.dump();
}

void save_model(const std::string& path, const ModelBundle& bundle) {
  if (!bundle.model) throw Error(path, "no model to save");
  if (!bundle.tokenizer) throw Error(path, "model has no tokenizer");
  std::map<std::string, std::string> metadata = bundle.extra_metadata;
  metadata["germ.format_version"] = kFormatVersion;
  metadata["germ.kind"] = to_string(bundle.model->kind());
  metadata["germ.config"] = bundle.model->config().to_json();
  metadata["germ.tokenizer"] = bundle.tokenizer->serialize();
  metadata["germ.labels"] = nlohmann::json(bundle.labels).dump();
  metadata["germ.provenance"] = bundle.provenance_json;

  std::vector<TensorBytes> owned;
  std::vector<std::string> names;
  for (const auto& item : bundle.model->named_parameters()) {
    if (bundle.omitted_parameters.count(item.key())) continue;
    names.push_back(item.key());
    owned.push_back(tensor_to_bytes(item.value().detach(), item.key()));
  }
  for (const auto& [name, tensor] : bundle.extra_tensors) {
    names.push_back(name);
    owned.push_back(tensor_to_bytes(tensor, name));
  }
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < owned.size(); ++i) tensors.push_back(owned[i].to_write(names[i]));
  write_safetensors(path, metadata, tensors);
}

ModelKind peek_model_kind(const std::string& path) { return peek_model_kind(SafetensorsReader(path)); }

ModelKind peek_model_kind(const SafetensorsReader& reader) {
  const std::string& path = reader.path();
  try {
    return parse_model_kind(required(reader.metadata(), "germ.kind", path));
  } catch (const ModelCorrupted&) {
    throw;
  } catch (const Error& e) {
    throw ModelCorrupted(path, e.what());
  }
}

ModelBundle load_model(const std::string& path, const std::vector<std::string>& extra_prefixes) {
  return load_model(SafetensorsReader(path), extra_prefixes);
}

ModelBundle load_model(const SafetensorsReader& reader, const std::vector<std::string>& extra_prefixes) {
  const std::string& path = reader.path();
  const auto& metadata = reader.metadata();
  if (required(metadata, "germ.format_version", path) != kFormatVersion)
    throw ModelCorrupted(path, "unsupported germ format version '" + metadata.at("germ.format_version") + "'");
  ModelBundle bundle;
  ModelKind kind;
  ModelConfig config;
  try {
    kind = parse_model_kind(required(metadata, "germ.kind", path));
    config = ModelConfig::from_json(required(metadata, "germ.config", path));
    bundle.tokenizer = tokenize::tokenizer_from_json(required(metadata, "germ.tokenizer", path));
    bundle.model = GermModel(config, kind);
  } catch (const ModelCorrupted&) {
    throw;
  } catch (const Error& e) {
    throw ModelCorrupted(path, e.what());
  }
  if (bundle.tokenizer->vocab_size() != config.vocab)
    throw ModelCorrupted(path, "tokenizer vocabulary (" + std::to_string(bundle.tokenizer->vocab_size()) +
                                   ") differs from config vocab (" + std::to_string(config.vocab) + ")");
  auto labels = nlohmann::json::parse(required(metadata, "germ.labels", path), nullptr, false);
  if (labels.is_discarded() || !labels.is_array()) throw ModelCorrupted(path, "germ.labels is not a JSON array");
  for (const auto& label : labels) {
    if (!label.is_string()) throw ModelCorrupted(path, "germ.labels holds a non-string entry");
    bundle.labels.push_back(label.get<std::string>());
  }
  if (kind == ModelKind::kClassifier && static_cast<int64_t>(bundle.labels.size()) != config.num_labels)
    throw ModelCorrupted(path, "classifier has " + std::to_string(bundle.labels.size()) + " label names for " +
                                   std::to_string(config.num_labels) + " classes");
  bundle.provenance_json = required(metadata, "germ.provenance", path);
  // Everything but the core entries travels as extra metadata (germ.checkpoint, germ.focus,
  // germ.lora, and keys other tools wrote), so a load + save keeps it.
  static const std::set<std::string> kCore{"germ.format_version", "germ.kind",   "germ.config",
                                           "germ.tokenizer",      "germ.labels", "germ.provenance"};
  for (const auto& [key, value] : metadata)
    if (!kCore.count(key)) bundle.extra_metadata[key] = value;

  torch::NoGradGuard no_grad;
  auto parameters = bundle.model->named_parameters();
  size_t matched = 0;
  for (const TensorInfo& info : reader.tensors()) {
    at::Tensor* target = parameters.find(info.name);
    if (!target) {
      bool extra = false;
      for (const auto& prefix : extra_prefixes) extra |= info.name.rfind(prefix, 0) == 0;
      if (!extra) throw ModelCorrupted(path, "unexpected tensor '" + info.name + "' for a " + to_string(kind) + " model");
      bundle.extra_tensors[info.name] = read_tensor(reader, info.name);
      continue;
    }
    copy_checked(reader, info, *target, "the config expects");
    ++matched;
  }
  if (matched != parameters.size()) {
    const std::string suffix = ".weight";
    for (const auto& item : parameters) {
      if (reader.find(item.key())) continue;
      const std::string& name = item.key();
      bool quantized = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                       bundle.extra_tensors.count("quant." + name.substr(0, name.size() - suffix.size()) + ".codes");
      if (!quantized) throw ModelCorrupted(path, "tensor '" + name + "' is missing");
      bundle.omitted_parameters.insert(name);
    }
  }
  bundle.model->eval();
  return bundle;
}

}  // namespace germ::model
