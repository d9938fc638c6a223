#pragma once
// What a classifier file carries beside its weights (germ finetune writes it, docs/finetune.md):
// the length it was trained on, and its LoRA adapters when it was saved without --merge. Read
// by every command that runs a classifier, written by src/train.
#include <cstdint>
#include <memory>
#include <string>

#include "model/model_store.hpp"
#include "quant/quantized_linear.hpp"

namespace germ::engine {

class LoraSet;

// {"sequence_bases": median length of the training sequences}: germ score's default window.
inline constexpr const char* kClassifierMetadata = "germ.classifier";
// The adapters' method, rank, alpha, dropout and targets (adapter form only).
inline constexpr const char* kLoraMetadata = "germ.lora";

// For a classifier loaded with the "lora." and "quant." extra prefixes: re-attaches the LoRA
// adapters it was saved with (returned; null when it has none or they were merged), folding
// them into the weights with `merge_adapters`; a quantized classifier's linear layers run as
// `execution` says. Errors are germ::ModelCorrupted naming `path`.
std::shared_ptr<LoraSet> attach_classifier_extras(model::ModelBundle& bundle, const std::string& path,
                                                  quant::Execution execution, bool merge_adapters);

// The median training-sequence length a classifier file records, or `fallback`.
int64_t classifier_sequence_bases(const model::ModelBundle& classifier, int64_t fallback);
// A class given by name or index; germ::Error("--class", ...) listing the classes otherwise.
int64_t class_index(const model::ModelBundle& classifier, const std::string& name_or_index);

}  // namespace germ::engine
