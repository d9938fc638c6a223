#pragma once
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/model_store.hpp"

namespace germ::model {

// `germ import`: a Hugging Face checkpoint directory of DNABERT-2 / GERM (config.json,
// model.safetensors, tokenizer.json) as a germ model (docs/import.md).
struct HfImportOptions {
  // DNABERT-2 attends with softmax; GERM checkpoints with Softmax_1. config.json does not say.
  Normaliser attention = Normaliser::kSoftmax;
  // Strict: a checkpoint tensor germ does not use, or a germ parameter the checkpoint lacks,
  // is an error. Non-strict skips the former and keeps germ's initialisation for the latter.
  bool strict = true;
};

struct HfImport {
  ModelBundle bundle;
  std::string weight_file;
  std::vector<std::string> skipped;      // checkpoint tensors not used (non-strict only)
  std::vector<std::string> initialised;  // germ parameters not in the checkpoint (non-strict only)
};

// The germ config of a DNABERT-2 config.json; `subject` names the file in errors.
ModelConfig config_from_hf_json(const std::string& text, const std::string& subject);

// The germ parameter a checkpoint tensor name maps to ("bert.encoder.layer.0.mlp.wo.weight" ->
// "encoder.layer.0.mlp.wo.weight"); the tied "cls.predictions.decoder.weight" maps to itself.
std::string germ_parameter_name(const std::string& hf_name);

// Reads and checks the whole directory; throws germ::Error / germ::ModelCorrupted naming the
// file at fault. The bundle's provenance is left for the caller.
HfImport import_hf_checkpoint(const std::string& directory, const HfImportOptions& options = {});

}  // namespace germ::model
