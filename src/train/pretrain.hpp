#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "train/distributed.hpp"
#include "train/genome_corpus.hpp"
#include "train/precision.hpp"
#include "train/schedule.hpp"

namespace germ::train {

struct PretrainOptions {
  std::string objective = "mlm";  // mlm | clm
  std::string attention;          // softmax | softmax1; empty = config default / keep init model's
  std::string size = "tiny";
  std::string config_path;        // JSON config overriding --size
  std::vector<std::string> inputs;
  std::string output;
  std::string tokenizer_from;     // model file whose tokenizer is reused (mlm)
  int64_t vocab = 4096;
  int64_t tokenizer_sample_bases = 4'000'000;
  std::string init_from;          // continue from this model (GERM-T when attention changes)
  std::string resume;             // checkpoint to resume
  std::string checkpoint;         // where checkpoints go (default: <output>.ckpt)
  int64_t checkpoint_every = 200;
  int64_t steps = 1000;
  int64_t batch_size = 32;
  int64_t seq_len = 0;            // 0: 128 tokens (mlm) or 512 bases (clm)
  int64_t grad_accum = 1;
  double lr = 0;  // peak; 0: default_pretrain_lr(hidden, kind), kDefaultFocusLr for --focus
  int64_t warmup = -1;            // -1: 6% of steps
  std::string schedule = "linear";
  double clip = 1.0;
  double weight_decay = 0.01;
  double mask_fraction = 0.15;
  int64_t eval_every = 100;
  int64_t eval_windows = 64;
  std::string log_path;           // default: <output>.log.tsv
  CorpusOptions corpus;
  std::vector<std::string> heldout_files;  // evaluated per file; then no contig tail is held out
  std::string sampling_weights;       // --weights TSV (sampling_weights.hpp); empty = sqrt(bases) per file
  double time_limit_minutes = 0;  // > 0: checkpoint and stop before this much wall time has passed
  int64_t stop_after_step = 0;    // tests: take the time-limit exit after this step
  Precision precision = Precision::kFp32;
  uint64_t seed = 42;
  c10::Device device = c10::Device(c10::kCPU);
  std::string command_line;
  bool quiet = false;
  double dist_timeout = kDefaultDistributedTimeout;  // seconds a collective may wait (--dist-timeout)
  // FOCUS adapter training (--focus; docs/focus.md)
  bool focus = false;
  int64_t focus_k = 100;
  int64_t focus_window = 1000;
  int64_t focus_memory = 64;
  int64_t focus_context = 0;  // bases re-read before each window; 0 = k (the shared boundary block)
  int64_t focus_windows_per_sequence = 3;
  double focus_kl_weight = 1.0;
};

struct PretrainResult {
  int rank = 0;                 // of a data-parallel run; only rank 0 wrote files
  int64_t steps = 0;
  int64_t parameters = 0;
  double first_train_loss = 0;  // mean over the first logged interval
  double last_train_loss = 0;   // mean over the last logged interval
  double validation_loss = 0;   // nats per labelled token (per base for clm)
  double validation_bits = 0;   // validation_loss / ln 2
  std::vector<std::pair<std::string, double>> heldout_loss;  // per --heldout file, last evaluation
  bool stopped_by_time_limit = false;  // then only the checkpoint was written, not the output
  std::string checkpoint;              // path of that checkpoint
};

PretrainResult pretrain(const PretrainOptions& options);

}  // namespace germ::train
