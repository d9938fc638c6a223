#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_store.hpp"
#include "train/classification_metrics.hpp"
#include "train/distributed.hpp"
#include "train/lora_training.hpp"

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
  model::Pooling pooling = model::Pooling::kCls;  // a new head's: [CLS] or the mean over tokens
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

}  // namespace germ::train
