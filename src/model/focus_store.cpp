#include "model/focus_store.hpp"

#include <filesystem>
#include <utility>

#include "germ/version.hpp"
#include "model/safetensors.hpp"
#include "util/error.hpp"

namespace germ::model {

FocusModel load_focus_model(const std::string& path) { return load_focus_model(SafetensorsReader(path)); }

FocusModel load_focus_model(const SafetensorsReader& reader) {
  const std::string& path = reader.path();
  FocusModel out;
  // Checkpoints carry training state ("__train.*") beside the weights; scoring ignores it.
  out.bundle = load_model(reader, {"focus.", "__train.", "quant."});
  if (out.bundle.model->kind() != ModelKind::kCausalLm)
    throw Error(path, std::string("is a ") + to_string(out.bundle.model->kind()) +
                          " model; scoring a sequence base by base needs a causal-lm model");
  auto focus = out.bundle.extra_metadata.find("germ.focus");
  if (focus != out.bundle.extra_metadata.end()) {
    try {
      out.geometry = FocusGeometry::from_json(focus->second);
    } catch (const Error& e) {
      throw ModelCorrupted(path, e.what());
    }
    out.adapter = FocusAdapter(out.bundle.model->config());
    out.adapter->load_tensors(out.bundle.extra_tensors, path);
    out.adapter->eval();
    out.has_adapter = true;
  } else {
    out.geometry.kind = MemoryKind::kNone;
  }
  out.bundle.model->eval();
  return out;
}

ModelBundle with_focus_adapter(ModelBundle bundle, const FocusAdapter& adapter, const FocusGeometry& geometry) {
  for (const auto& [name, tensor] : adapter->named_tensors()) bundle.extra_tensors[name] = tensor.detach();
  bundle.extra_metadata["germ.focus"] = geometry.to_json();
  return bundle;
}

void save_focus_model(const std::string& path, ModelBundle bundle, const FocusAdapter& adapter,
                      const FocusGeometry& geometry) {
  save_model(path, with_focus_adapter(std::move(bundle), adapter, geometry));
}

std::string default_model_path() {
  for (const char* dir : {kInstallModelDir, kSourceModelDir}) {
    std::filesystem::path candidate = std::filesystem::path(dir) / kDefaultModelName;
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  throw Error("--model", std::string("no model given and the default model ") + kDefaultModelName +
                             " is neither in " + kInstallModelDir + " nor in " + kSourceModelDir);
}

}  // namespace germ::model
