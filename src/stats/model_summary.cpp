#include "stats/model_summary.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/open_model.hpp"
#include "model/model_store.hpp"
#include "quant/quantized_store.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::stats {
namespace {

int64_t element_count(const at::Tensor& t) { return t.numel(); }

nlohmann::json summary_json(const std::string& path) {
  // Opened as eval would, so a damaged file is reported here too.
  engine::OpenOptions options;
  options.execution = quant::Execution::kFakeQuant;
  const model::ModelBundle bundle = engine::open_model(path, options).bundle;
  const model::ModelConfig& config = bundle.model->config();
  int64_t adapter_parameters = 0, training_tensors = 0;
  for (const auto& [name, tensor] : bundle.extra_tensors) {
    if (name.rfind("focus.", 0) == 0) adapter_parameters += element_count(tensor);
    if (name.rfind("__train.", 0) == 0) ++training_tensors;
  }
  nlohmann::json out{{"file", path},
                     {"file_bytes", static_cast<int64_t>(std::filesystem::file_size(path))},
                     {"kind", model::to_string(bundle.model->kind())},
                     {"parameters", bundle.model->parameter_count()},
                     {"config", nlohmann::json::parse(config.to_json())},
                     {"tokenizer", {{"kind", bundle.tokenizer->kind()}, {"vocab_size", bundle.tokenizer->vocab_size()}}}};
  if (!bundle.labels.empty()) out["labels"] = bundle.labels;
  if (auto focus = bundle.extra_metadata.find("germ.focus"); focus != bundle.extra_metadata.end())
    out["focus"] = {{"geometry", nlohmann::json::parse(focus->second)}, {"adapter_parameters", adapter_parameters}};
  if (quant::is_quantized(bundle)) {
    auto meta = nlohmann::json::parse(bundle.extra_metadata.at(quant::kQuantMetadata), nullptr, false);
    out["quantization"] = {{"summary", quant::describe_quantization(bundle)},
                           {"method", meta.value("method", "")}, {"bits", meta.value("bits", "")}};
  }
  if (training_tensors > 0) out["checkpoint"] = {{"training_state_tensors", training_tensors}};
  if (auto ckpt = bundle.extra_metadata.find("germ.checkpoint"); ckpt != bundle.extra_metadata.end())
    out["checkpoint"]["state"] = nlohmann::json::parse(ckpt->second, nullptr, false);
  out["provenance"] = nlohmann::json::parse(bundle.provenance_json, nullptr, false);
  return out;
}

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 3) value /= 1024, ++unit;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, unit ? "%.1f %s" : "%.0f %s", value, units[unit]);
  return buffer;
}

std::string scalar_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

std::string describe_model_file(const std::string& path, const std::string& format) {
  if (!std::filesystem::exists(path)) throw Error(path, "no such file");
  nlohmann::json s = summary_json(path);
  if (format == "json") return s.dump(2) + "\n";
  std::string out;
  auto line = [&](const std::string& key, const std::string& value) {
    out += key + std::string(key.size() < 14 ? 14 - key.size() : 1, ' ') + value + "\n";
  };
  line("file", path + " (" + human_bytes(s["file_bytes"].get<int64_t>()) + ")");
  line("kind", s["kind"].get<std::string>());
  line("parameters", std::to_string(s["parameters"].get<int64_t>()));
  const auto& c = s["config"];
  std::string shape;
  for (auto it = c.begin(); it != c.end(); ++it) shape += (shape.empty() ? "" : ", ") + it.key() + "=" + scalar_text(it.value());
  line("config", shape);
  line("tokenizer", s["tokenizer"]["kind"].get<std::string>() + ", vocabulary " +
                        std::to_string(s["tokenizer"]["vocab_size"].get<int64_t>()));
  if (s.contains("labels")) {
    std::string labels;
    for (const auto& l : s["labels"]) labels += (labels.empty() ? "" : ", ") + l.get<std::string>();
    line("labels", labels);
  }
  if (s.contains("focus"))
    line("focus", s["focus"]["geometry"].dump() + ", " +
                      std::to_string(s["focus"]["adapter_parameters"].get<int64_t>()) + " adapter parameters");
  if (s.contains("quantization")) line("quantization", s["quantization"]["summary"].get<std::string>());
  if (s.contains("checkpoint")) line("checkpoint", "training state included (resume with --resume)");
  const auto& p = s["provenance"];
  if (p.is_object())
    for (auto it = p.begin(); it != p.end(); ++it) line("provenance." + it.key(), scalar_text(it.value()));
  return out;
}

}  // namespace germ::stats
