#pragma once
// The one door to a model file, as llama.cpp's llama_model_load_from_file(path, params): the
// header is read once and validated, and the file comes back ready to run, whatever it holds
// (docs/model_file.md): a causal LM with or without its FOCUS adapter, an MLM encoder, a
// classifier with or without LoRA adapters, any of them quantized or not, on the device asked
// for. Commands dispatch on ModelFile::kind() before paying for the weights.
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/focus_store.hpp"
#include "model/model_store.hpp"
#include "quant/quantized_linear.hpp"

namespace germ::model {
class SafetensorsReader;
}

namespace germ::engine {

class LoraSet;

// A model file whose header (container, metadata, tensor layout, germ.kind) is read and
// validated; the weights are not read yet. Errors as model::peek_model_kind: germ::Error when
// the file cannot be opened, germ::ModelCorrupted naming the file for a bad header.
class ModelFile {
 public:
  explicit ModelFile(const std::string& path);
  const std::string& path() const;
  model::ModelKind kind() const { return kind_; }
  const model::SafetensorsReader& reader() const { return *reader_; }

 private:
  std::shared_ptr<const model::SafetensorsReader> reader_;  // memory-mapped: the weights are read from it
  model::ModelKind kind_;
};

struct OpenOptions {
  // How a quantized file's linear layers run (docs/quantize.md): integer GEMMs, or quantise-
  // dequantise in fp32 (--fake-quant; also what activation statistics need to see).
  quant::Execution execution = quant::Execution::kInteger;
  // Where the weights go. The integer kernels of a quantized model are CPU code: another
  // device is a germ::Error naming the file.
  c10::Device device = c10::Device(c10::kCPU);
  // A classifier saved in adapter form: fold its LoRA adapters into the weights (quantize,
  // stats) instead of running them as hooks.
  bool merge_adapters = false;
};

// What a model file holds, loaded, with everything it stores attached: quantized layers run as
// OpenOptions::execution says, a classifier's LoRA adapters run as hooks (or are merged), a
// causal LM's FOCUS adapter is built. Checkpoints keep their "__train." tensors in
// bundle.extra_tensors (scoring ignores them).
struct LoadedModel {
  std::string path;
  model::ModelKind kind = model::ModelKind::kCausalLm;
  model::ModelBundle bundle;
  bool quantized = false;
  // Causal LMs: the adapter and geometry of a FOCUS model file; without an adapter the
  // geometry's kind is kNone (plain windowed scoring).
  model::FocusAdapter focus_adapter{nullptr};
  model::FocusGeometry focus_geometry;
  bool has_focus_adapter = false;
  // Classifiers saved in adapter form (not merged): the adapters the hooks run. They are not
  // children of the model, so they move to the device with it here.
  std::shared_ptr<LoraSet> lora_adapters;

  // The causal LM as FOCUS scoring takes it; another kind is a germ::Error naming the file
  // ("scoring a sequence base by base needs a causal-lm model").
  model::FocusModel focus_model() const;
};

// germ::Error naming the file unless it holds a classifier ("not a classifier (train one with
// germ finetune)"), for the commands that run nothing else.
void require_classifier(const ModelFile& file);

LoadedModel open_model(const ModelFile& file, const OpenOptions& options = {});
LoadedModel open_model(const std::string& path, const OpenOptions& options = {});

// Training starts from a file's weights exactly as stored (pretrain --resume / --init-from /
// --tokenizer-from, pretrain --focus --init-from, finetune --base): nothing is attached or run.
// Tensors under `extra_prefixes` (the "__train." state, a "focus." adapter) come back in
// bundle.extra_tensors; any other tensor the model does not have is germ::ModelCorrupted.
model::ModelBundle open_for_training(const std::string& path, const std::vector<std::string>& extra_prefixes = {});

}  // namespace germ::engine
