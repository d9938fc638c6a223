#include "score/lane_scorer.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "score/lane_tasks.hpp"

namespace germ::score {

LaneScorer::LaneScorer(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
                       int64_t lanes, int64_t workers)
    : lanes_(std::max<int64_t>(1, lanes)) {
  workers = std::clamp<int64_t>(workers, 1, lanes_);
  for (int64_t w = 0; w < workers; ++w) runners_.emplace_back(model, adapter, geometry);
}

std::vector<ScoreResult> LaneScorer::run(const std::vector<ScoreJob>& jobs) {
  // Job j goes to worker j % workers: the jobs of a batch are mostly equal segments, so the
  // workers finish together.
  const int64_t workers = std::min<int64_t>(static_cast<int64_t>(runners_.size()),
                                            std::max<int64_t>(1, static_cast<int64_t>(jobs.size())));
  std::vector<std::vector<LaneTask>> tasks(workers);
  for (size_t j = 0; j < jobs.size(); ++j) {
    LaneTask task;
    task.bases = jobs[j].bases;
    task.score_from = std::min<int64_t>(jobs[j].warmup, static_cast<int64_t>(jobs[j].bases.size()));
    task.score_to = static_cast<int64_t>(jobs[j].bases.size());
    task.keep_entropy = true;
    tasks[j % workers].push_back(std::move(task));
  }
  const int64_t lanes_per_worker = (lanes_ + workers - 1) / workers;
  std::vector<std::vector<LaneTaskResult>> done(workers);
  std::vector<int64_t> windows(workers, 0);
  auto work = [&](int64_t w) { done[w] = run_lane_tasks(runners_[w], tasks[w], lanes_per_worker, &windows[w]); };
  if (workers == 1) {
    work(0);
  } else {
    // Each worker runs its lanes on one thread: LibTorch runs the ops of a parallel region
    // inline, and OpenBLAS is kept to one thread while scoring (docs/score.md), so the cores
    // do independent GEMMs instead of synchronising inside every small one.
    at::parallel_for(0, workers, 1, [&](int64_t begin, int64_t end) {
      for (int64_t w = begin; w < end; ++w) work(w);
    });
  }
  std::vector<ScoreResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    LaneTaskResult& r = done[j % workers][j / workers];
    results[j].log_likelihood = std::move(r.log_likelihood);
    results[j].entropy = std::move(r.entropy);
  }
  for (int64_t w : windows) windows_run_ += w;
  return results;
}

}  // namespace germ::score
