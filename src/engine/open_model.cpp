#include "engine/open_model.hpp"

#include "engine/classifier_file.hpp"
#include "engine/lora.hpp"
#include "model/safetensors.hpp"
#include "quant/quantized_store.hpp"
#include "util/error.hpp"

namespace germ::engine {
namespace {

// A causal LM: the FOCUS adapter when the file has one, then its stored quantization.
void load_causal_lm(const ModelFile& file, const OpenOptions& options, LoadedModel& loaded) {
  model::FocusModel focus = model::load_focus_model(file.reader());
  quant::attach_stored_quantization(focus.bundle, file.path(), options.execution);
  loaded.bundle = std::move(focus.bundle);
  loaded.focus_adapter = focus.adapter;
  loaded.focus_geometry = focus.geometry;
  loaded.has_focus_adapter = focus.has_adapter;
}

void load_classifier(const ModelFile& file, const OpenOptions& options, LoadedModel& loaded) {
  loaded.bundle = model::load_model(file.reader(), {"lora.", quant::kQuantTensorPrefix});
  loaded.lora_adapters =
      attach_classifier_extras(loaded.bundle, file.path(), options.execution, options.merge_adapters);
}

// An encoder may be a pretraining checkpoint: its training state is kept aside, unused.
void load_encoder(const ModelFile& file, const OpenOptions& options, LoadedModel& loaded) {
  loaded.bundle = model::load_model(file.reader(), {"focus.", "__train.", quant::kQuantTensorPrefix});
  quant::attach_stored_quantization(loaded.bundle, file.path(), options.execution);
}

void place_on_device(LoadedModel& loaded, c10::Device device) {
  if (device.is_cpu()) return;
  if (loaded.quantized) throw Error(loaded.path, "is quantized; its integer kernels run on the CPU (use --device cpu)");
  loaded.bundle.model->to(device);
  if (loaded.focus_adapter) loaded.focus_adapter->to(device);
  if (loaded.lora_adapters) loaded.lora_adapters->to(device);
}

}  // namespace

ModelFile::ModelFile(const std::string& path)
    : reader_(std::make_shared<const model::SafetensorsReader>(path)), kind_(model::peek_model_kind(*reader_)) {}

const std::string& ModelFile::path() const { return reader_->path(); }

model::FocusModel LoadedModel::focus_model() const {
  if (kind != model::ModelKind::kCausalLm)
    throw Error(path, std::string("is a ") + model::to_string(kind) +
                          " model; scoring a sequence base by base needs a causal-lm model");
  return model::FocusModel{bundle, focus_adapter, focus_geometry, has_focus_adapter};
}

void require_classifier(const ModelFile& file) {
  if (file.kind() != model::ModelKind::kClassifier)
    throw Error(file.path(), std::string("is a ") + model::to_string(file.kind()) +
                                 " model, not a classifier (train one with germ finetune)");
}

LoadedModel open_model(const ModelFile& file, const OpenOptions& options) {
  LoadedModel loaded;
  loaded.path = file.path();
  loaded.kind = file.kind();
  switch (file.kind()) {
    case model::ModelKind::kCausalLm: load_causal_lm(file, options, loaded); break;
    case model::ModelKind::kClassifier: load_classifier(file, options, loaded); break;
    case model::ModelKind::kEncoderMlm: load_encoder(file, options, loaded); break;
  }
  loaded.quantized = quant::is_quantized(loaded.bundle);
  place_on_device(loaded, options.device);
  return loaded;
}

LoadedModel open_model(const std::string& path, const OpenOptions& options) {
  return open_model(ModelFile(path), options);
}

model::ModelBundle open_for_training(const std::string& path, const std::vector<std::string>& extra_prefixes) {
  return model::load_model(path, extra_prefixes);
}

}  // namespace germ::engine
