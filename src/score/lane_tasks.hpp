#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/focus.hpp"

namespace germ::score {

// A stretch of sequence read window by window by one lane, optionally resuming from a saved
// state. Variant scoring uses it to branch: one reference lane saves its memory at the
// windows that hold variants, and each ALT resumes from there with its own sequence, so the
// shared prefix is computed once (docs/score_variants.md).
//
// Positions are indices into `bases`. Windows start at `start`, start + window, ... and stop
// once a window starts at or after `score_to` (or past the end of `bases`).
struct LaneTask {
  std::string bases;              // normalised ACGTN, in the strand to score
  int64_t start = 0;              // first window start (>= valid_begin)
  int64_t valid_begin = 0;        // bases before this index do not exist (a contig start)
  model::LaneMemory memory;       // the state entering the first window
  int64_t score_from = 0;         // log-likelihoods are kept for [score_from, score_to)
  int64_t score_to = 0;
  std::vector<int64_t> snapshot_at;  // window starts at which to save the entering state
  // Per snapshot_at (or empty: none): how many raw rows of that window (from its re-read
  // context on) to save with it, so that a lane branching there can start mid-window.
  std::vector<int64_t> snapshot_rows;
  // The first window's saved rows (rows > 0: from a lane that read the same bases with the
  // same memory up to there); the lane runs that window only from the row before its first
  // scored base or distribution, as far as the prefix reaches.
  model::WindowPrefix prefix;
  bool keep_entropy = false;
  // Positions (sorted, within [start, bases.size())) at which to keep the whole predicted
  // distribution over A, C, G, T: the site variant method reads alleles there. The lane runs
  // at least up to the last of them.
  std::vector<int64_t> distribution_at;
};

struct LaneTaskResult {
  // log P(base) for positions [score_from, score_to), natural log; NaN for N bases, for the
  // base at valid_begin (no left context) and for positions past the end of `bases`.
  std::vector<float> log_likelihood;
  std::vector<float> entropy;  // of the predicted next-base distribution; only with keep_entropy
  std::vector<model::LaneMemory> snapshots;  // one per snapshot_at, in its order
  std::vector<model::WindowPrefix> snapshot_prefixes;  // one per snapshot_at (rows 0 where none)
  // log P(A), log P(C), log P(G), log P(T) per distribution_at position, in its order (natural
  // log; NaN at valid_begin, which has no left context).
  std::vector<std::array<float, 4>> distributions;
};

// Runs the tasks as lanes of batches (up to `lanes` at a time; a finished lane takes the
// next task). A lane's values do not depend on the other lanes. A window of nothing but N is
// skipped and clears the lane's memory, exactly as LaneScorer does.
std::vector<LaneTaskResult> run_lane_tasks(model::WindowRunner& runner, const std::vector<LaneTask>& tasks,
                                           int64_t lanes, int64_t* windows_run = nullptr);

// run_lane_tasks on several threads, each with a runner of its own over the same weights:
// task t goes to worker t % workers, and the `lanes` are shared out between the workers.
// Results come in task order and are the same for any worker count. Each worker runs on one
// thread of an OpenMP region, where LibTorch runs its ops inline; callers with several
// workers keep OpenBLAS to one thread (docs/score.md).
class LaneWorkers {
 public:
  LaneWorkers(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
              int64_t workers = 1);
  std::vector<LaneTaskResult> run(std::vector<LaneTask> tasks, int64_t lanes, int64_t* windows_run = nullptr);
  const model::FocusGeometry& geometry() const { return runners_.front().geometry(); }
  int64_t size() const { return static_cast<int64_t>(runners_.size()); }

 private:
  std::vector<model::WindowRunner> runners_;
};

// Index of `position` in sorted `positions` (a task's snapshot_at or distribution_at), i.e. of
// its snapshot or distribution in the task's result.
size_t slot_of(const std::vector<int64_t>& positions, int64_t position);

// Lane tasks from several scorers over one reference, run together: tasks that start reading
// at the same base of the same strand (their `origin`), at their first index and with no
// saved state, are one lane that reads as far as the longest of them and keeps what each asked
// for (the site method's forward lanes are the window method's reference lanes when both use
// one grid: docs/score_variants.md). Each task gets back the result it would have had alone.
class SharedLanes {
 public:
  struct Origin {
    std::string contig;
    bool reverse = false;  // the lane reads the reverse complement, right to left
    int64_t first = 0;     // contig coordinate of the task's bases[0]
    bool operator<(const Origin& other) const;
  };
  // Returns the ticket of the task's result. `share` false: the task gets a lane of its own.
  size_t add(const Origin& origin, LaneTask task, bool share = true);
  // Runs every lane (each once); windows are counted into windows_run.
  void run(LaneWorkers& workers, int64_t lanes, int64_t* windows_run = nullptr);
  const LaneTask& task(size_t ticket) const { return tickets_[ticket].task; }
  // Only after run().
  LaneTaskResult result(size_t ticket) const;
  size_t lanes() const { return merged_.size(); }

 private:
  struct Ticket {
    LaneTask task;  // as added (its bases kept for the caller)
    size_t lane = 0;
  };
  std::vector<Ticket> tickets_;
  std::vector<LaneTask> merged_;
  std::vector<LaneTaskResult> results_;
  std::map<Origin, size_t> lane_of_origin_;
};

}  // namespace germ::score
