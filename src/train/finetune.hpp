#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_store.hpp"
#include "quant/quantized_linear.hpp"
#include "train/classification_metrics.hpp"
#include "train/distributed.hpp"
#include "train/lora.hpp"

namespace germ::train {

// `germ finetune` (docs/finetune.md). Defaults follow DNABERT-2's fine-tuning recipe, with the
// learning rate and warm-up scaled to the model (train/finetune_defaults.hpp).
struct FinetuneOptions {
  std::string method = "full";  // full | lora | qlora | loftq
  std::string base;             // encoder (mlm) or classifier model file
  std::string data;             // GUE directory with train.csv, dev.csv (test.csv for germ eval)
  std::string output;
  double lr = 0;                // 0: default_finetune_lr(method, hidden width)
  bool lr_auto = false;         // --lr auto: a learning-rate range test picks lr
  int64_t warmup = -1;          // < 0: default_warmup(total steps)
  bool fail_on_chance = false;  // a run that learned nothing is an error, not a warning
  double weight_decay = 0.01;
  int64_t batch_size = 32;
  int64_t epochs = 3;
  int64_t steps = 0;            // > 0 overrides epochs
  int64_t eval_every = 0;       // 0: every epoch (or every steps/5 with --steps)
  int64_t max_length = 0;       // tokens; 0: the model's max_length
  double clip = 1.0;
  uint64_t seed = 42;
  LoraOptions lora;
  int loftq_iterations = 5;
  bool merge = false;           // fold adapters into the weights before saving
  std::string log_path;         // default <output>.log.tsv
  c10::Device device = c10::Device(c10::kCPU);
  std::string command_line;
  bool quiet = false;           // no informational lines on stderr
  double dist_timeout = kDefaultDistributedTimeout;  // seconds a collective may wait (--dist-timeout)
};

struct FinetuneResult {
  int rank = 0;  // of a data-parallel run; only rank 0 wrote files
  int64_t steps = 0;
  int64_t best_step = 0;
  ClassificationMetrics best_dev;
  std::vector<double> epoch_seconds;  // training time per epoch (evaluation excluded)
  int64_t trainable_parameters = 0;
  int64_t total_parameters = 0;
  int64_t train_examples = 0;
  int64_t truncated = 0;
};

FinetuneResult finetune(const FinetuneOptions& options);

// Metadata of a classifier file: {"sequence_bases": median length of the training sequences}.
inline constexpr const char* kClassifierMetadata = "germ.classifier";

// Loads a classifier written by finetune, re-attaching its LoRA adapters when it was saved
// in adapter form (without --merge), or folding them in with `merge_adapters`. A quantized
// classifier (germ quantize) runs its linear layers as `execution` says. Errors name the file.
model::ModelBundle load_classifier(const std::string& path, quant::Execution execution = quant::Execution::kInteger,
                                   bool merge_adapters = false);

// The median training-sequence length a classifier file records, or `fallback`.
int64_t classifier_sequence_bases(const model::ModelBundle& classifier, int64_t fallback);
// A class given by name or index; germ::Error("--class", ...) listing the classes otherwise.
int64_t class_index(const model::ModelBundle& classifier, const std::string& name_or_index);

}  // namespace germ::train
