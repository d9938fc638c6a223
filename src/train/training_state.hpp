#pragma once
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "model/model_store.hpp"

namespace torch::optim {
class AdamW;
}

namespace germ::train {

// Tensors of a checkpoint that are training state rather than weights.
inline constexpr const char* kTrainingStatePrefix = "__train.";

// Everything besides weights and optimizer moments that a resumed run needs to continue
// exactly: the step, the data sampler's RNG, the masking RNG (LibTorch's own generator,
// used by dropout, is saved alongside in the checkpoint).
struct TrainingState {
  int64_t step = 0;
  std::string sampler;
  std::mt19937_64 batch_rng;
  static TrainingState fresh(uint64_t seed);
};

// AdamW (beta 0.9/0.98, eps 1e-6) with weight decay on matrices only: biases, LayerNorm and
// embeddings are not decayed, as in BERT.
std::unique_ptr<torch::optim::AdamW> make_adamw(model::GermModel& model, double lr, double weight_decay);
// The same over any named parameters; those that do not require gradients are left out.
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<std::pair<std::string, at::Tensor>>& parameters,
                                                double lr, double weight_decay);

// Checkpoint = model file + "__train.optimizer" / "__train.torch_rng" byte tensors +
// "germ.checkpoint" metadata; written atomically, so a kill never leaves a torn checkpoint.
void save_checkpoint(const std::string& path, const model::ModelBundle& bundle,
                     torch::optim::AdamW& optimizer, const TrainingState& state);
TrainingState restore_training_state(const std::string& path, model::ModelBundle& bundle,
                                     torch::optim::AdamW& optimizer);

// Tab-separated log of train and validation loss per evaluation interval; `extra_columns`
// (per held-out file results) follow the fixed ones.
class TrainingLog {
 public:
  TrainingLog(const std::string& path, bool append, const std::vector<std::string>& extra_columns = {});
  void write(int64_t step, double lr, double train_loss, double validation_loss, double tokens_per_second,
             const std::vector<double>& extra = {});

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace germ::train
