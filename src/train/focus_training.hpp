#pragma once
#include "model/fidelity.hpp"
#include "train/pretrain.hpp"

namespace germ::train {

struct FocusTrainingResult {
  int64_t steps = 0;
  int64_t trainable_parameters = 0;
  double first_loss = 0, last_loss = 0;  // CE + KL per position, first / last logged interval
  model::FidelityTotals before, after;   // on held-out sequence at the default k
  bool stopped_by_time_limit = false;    // then only the checkpoint was written, not the output
  std::string checkpoint;                // path of that checkpoint
};

// `germ pretrain --focus --init-from base.safetensors`: freezes the causal LM and trains only
// the FOCUS adapter (focus embedding + per-layer focus Q/K/V) with next-base cross-entropy
// plus KL(uncompressed || FOCUS) on the same positions; k is drawn per step from
// {k/2, k, 2k} (those dividing the window) so one adapter serves several compression ratios.
// Checkpoints (--checkpoint-every, --time-limit) hold the adapter, optimizer and random streams;
// --resume continues from one exactly.
FocusTrainingResult train_focus(const PretrainOptions& options);

}  // namespace germ::train
