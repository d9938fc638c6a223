#include "engine/classifier_file.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "engine/lora.hpp"
#include "quant/quantized_store.hpp"
#include "util/error.hpp"

namespace germ::engine {
namespace {

LoraOptions lora_options_from_metadata(const std::string& json, const std::string& path) {
  LoraOptions options;
  try {
    auto j = nlohmann::json::parse(json);
    options.rank = j.at("rank").get<int64_t>();
    options.alpha = j.at("alpha").get<double>();
    options.dropout = j.at("dropout").get<double>();
    options.targets = j.at("targets").get<std::vector<std::string>>();
    options.validate();
  } catch (const std::exception& e) {
    throw ModelCorrupted(path, std::string("germ.lora metadata: ") + e.what());
  }
  return options;
}

}  // namespace

std::shared_ptr<LoraSet> attach_classifier_extras(model::ModelBundle& bundle, const std::string& path,
                                                  quant::Execution execution, bool merge_adapters) {
  auto meta = bundle.extra_metadata.find(kLoraMetadata);
  if (meta == bundle.extra_metadata.end()) {
    quant::attach_stored_quantization(bundle, path, execution);
    if (!bundle.extra_tensors.empty()) throw ModelCorrupted(path, "adapter tensors without germ.lora metadata");
    bundle.model->eval();
    return nullptr;
  }
  if (quant::is_quantized(bundle)) throw ModelCorrupted(path, "a quantized model cannot carry LoRA adapters");
  const LoraOptions options = lora_options_from_metadata(meta->second, path);
  std::shared_ptr<LoraSet> set;
  try {
    set = attach_lora(bundle.model, options);
    load_lora_tensors(*set, bundle.extra_tensors);
    bundle.extra_tensors.clear();
    if (merge_adapters) {
      merge_lora(bundle.model, *set);
      bundle.extra_metadata.erase(kLoraMetadata);
      set = nullptr;
    }
  } catch (const ModelCorrupted&) {
    throw;
  } catch (const Error& e) {
    throw ModelCorrupted(path, e.what());
  }
  bundle.model->eval();
  return set;
}

int64_t classifier_sequence_bases(const model::ModelBundle& classifier, int64_t fallback) {
  auto entry = classifier.extra_metadata.find(kClassifierMetadata);
  if (entry == classifier.extra_metadata.end()) return fallback;
  auto j = nlohmann::json::parse(entry->second, nullptr, false);
  if (j.is_discarded() || !j.contains("sequence_bases") || !j["sequence_bases"].is_number_integer()) return fallback;
  int64_t bases = j["sequence_bases"].get<int64_t>();
  return bases > 0 ? bases : fallback;
}

int64_t class_index(const model::ModelBundle& classifier, const std::string& name_or_index) {
  const auto& labels = classifier.labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == name_or_index) return static_cast<int64_t>(i);
  if (!name_or_index.empty() && std::all_of(name_or_index.begin(), name_or_index.end(), ::isdigit)) {
    int64_t index = std::stoll(name_or_index);
    if (index < static_cast<int64_t>(labels.size())) return index;
  }
  std::string known;
  for (size_t i = 0; i < labels.size(); ++i) known += (i ? ", " : "") + std::to_string(i) + " = " + labels[i];
  throw Error("--class", "'" + name_or_index + "' is not a class of the model (" + known + ")");
}

}  // namespace germ::engine
