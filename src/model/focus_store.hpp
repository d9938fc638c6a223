#pragma once
#include <string>

#include "model/focus.hpp"
#include "model/model_store.hpp"

namespace germ::model {

// A causal LM with (optionally) its FOCUS adapter: tensors "focus.*" and metadata
// "germ.focus" (the geometry it was trained for) in the same model file.
struct FocusModel {
  ModelBundle bundle;
  FocusAdapter adapter{nullptr};
  FocusGeometry geometry;  // the file's defaults; plain windowed scoring when it has no adapter
  bool has_adapter = false;
};

FocusModel load_focus_model(const std::string& path);
// The same from a file whose header is already read (engine::ModelFile).
FocusModel load_focus_model(const SafetensorsReader& reader);
// The bundle with the adapter's tensors and its geometry added: what a FOCUS model file (and a
// FOCUS training checkpoint, beside its training state) holds.
ModelBundle with_focus_adapter(ModelBundle bundle, const FocusAdapter& adapter, const FocusGeometry& geometry);
void save_focus_model(const std::string& path, ModelBundle bundle, const FocusAdapter& adapter,
                      const FocusGeometry& geometry);

// The model `germ score` uses without --model: installed copy first, then the source tree.
std::string default_model_path();
inline constexpr const char* kDefaultModelName = "germ-focus-default.safetensors";

}  // namespace germ::model
