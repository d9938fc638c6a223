#include "score/lane_scorer.hpp"

#include <algorithm>
#include <utility>

namespace germ::score {

LaneScorer::LaneScorer(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
                       int64_t lanes, int64_t workers)
    : workers_(std::move(model), std::move(adapter), geometry, std::clamp<int64_t>(workers, 1, std::max<int64_t>(1, lanes))),
      lanes_(std::max<int64_t>(1, lanes)) {}

std::vector<ScoreResult> LaneScorer::run(std::vector<ScoreJob> jobs, bool with_entropy) {
  std::vector<LaneTask> tasks(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    tasks[j].score_to = static_cast<int64_t>(jobs[j].bases.size());
    tasks[j].score_from = std::min<int64_t>(jobs[j].warmup, tasks[j].score_to);
    tasks[j].bases = std::move(jobs[j].bases);
    tasks[j].keep_entropy = with_entropy;
  }
  std::vector<LaneTaskResult> done = workers_.run(std::move(tasks), lanes_, &windows_run_);
  std::vector<ScoreResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    results[j].log_likelihood = std::move(done[j].log_likelihood);
    results[j].entropy = std::move(done[j].entropy);
  }
  return results;
}

}  // namespace germ::score
