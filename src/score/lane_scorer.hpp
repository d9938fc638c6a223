#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/focus.hpp"
#include "score/lane_tasks.hpp"

namespace germ::score {

// One stretch of sequence run through the model as a lane: the first `warmup` bases only
// build the FOCUS state (their values are discarded), the rest are scored.
struct ScoreJob {
  std::string bases;  // normalised upper-case ACGTN, already in the strand to score
  int64_t warmup = 0;
};

// Per-base values for bases [warmup, bases.size()) of a job, natural log; NaN where there is
// no value (N bases, and the first base of a sequence, which has no left context).
struct ScoreResult {
  std::vector<float> log_likelihood;
  std::vector<float> entropy;
};

// Runs jobs as lanes of a batch, one window per lane per step; a finished lane takes the next
// job, so short jobs (contig ends, small contigs) do not stall the others. Results are
// identical whatever the batch composition (each lane's state is its own).
class LaneScorer {
 public:
  // `workers` > 1 splits each batch's jobs between that many threads, each with its own
  // runner (the weights are shared); results are the same for any count.
  LaneScorer(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
             int64_t lanes, int64_t workers = 1);
  // `entropy` stays empty unless with_entropy (it doubles the values a batch holds).
  std::vector<ScoreResult> run(std::vector<ScoreJob> jobs, bool with_entropy = false);
  const model::FocusGeometry& geometry() const { return workers_.geometry(); }
  int64_t windows_run() const { return windows_run_; }

 private:
  LaneWorkers workers_;
  int64_t lanes_;
  int64_t windows_run_ = 0;
};

}  // namespace germ::score
