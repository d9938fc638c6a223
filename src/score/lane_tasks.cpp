#include "score/lane_tasks.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <tuple>

#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();

using tokenize::NucleotideTokenizer;
const int64_t kGapId = NucleotideTokenizer::id_of('N');

// 0-3 for A, C, G, T (the columns of base_log_probs), -1 for anything else.
int base_index(char base) {
  int64_t index = NucleotideTokenizer::id_of(base) - NucleotideTokenizer::kFirstBaseId;
  return index >= 0 && index < 4 ? static_cast<int>(index) : -1;
}

bool window_is_gap(const std::string& bases, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    if (bases[i] != 'N') return false;
  return true;
}

int64_t task_end(const LaneTask& task) {
  int64_t end = task.score_to;
  if (!task.distribution_at.empty()) end = std::max(end, task.distribution_at.back() + 1);
  return std::min<int64_t>(end, static_cast<int64_t>(task.bases.size()));
}

// Lanes in their last window run only up to their last needed base (WindowRunner::last_step)
// when every lane of the batch is in its last window, so tasks are started in the order of
// how many windows they run and how far into the last one, and batches end together.
std::vector<size_t> order_by_length(const std::vector<LaneTask>& tasks, int64_t window) {
  std::vector<std::pair<int64_t, int64_t>> length(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) {
    const LaneTask& task = tasks[t];
    int64_t end = task_end(task);
    if (!task.snapshot_at.empty()) end = std::max(end, task.snapshot_at.back() + 1);
    const int64_t span = std::max<int64_t>(1, end - task.start);
    const int64_t windows = (span + window - 1) / window;
    length[t] = {windows, span - (windows - 1) * window};
  }
  std::vector<size_t> order(tasks.size());
  for (size_t t = 0; t < order.size(); ++t) order[t] = t;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return length[a] < length[b]; });
  return order;
}

struct Lane {
  size_t task = 0;
  int64_t start = 0;  // current window start
  size_t next_snapshot = 0;
  size_t next_distribution = 0;
  model::LaneMemory memory;
  // In the task's first window only: the saved rows it resumes from, and the first row it
  // needs run.
  const model::WindowPrefix* resume = nullptr;
  int64_t resume_row = 0;
  model::WindowPrefix* save = nullptr;  // this window's rows wanted by a snapshot
};

// The row that predicts the task's first wanted base in its first window (from which a lane
// with a saved prefix runs).
int64_t first_needed_row(const LaneTask& task, int64_t context) {
  int64_t first = task.score_to > task.score_from ? task.score_from : task_end(task);
  if (!task.distribution_at.empty()) first = std::min(first, task.distribution_at.front());
  return std::clamp<int64_t>(first - task.start + context - 1, 0, task.prefix.rows);
}

// Copies the predicted distributions this window holds into the task's result; lp's row i
// predicts base lane.start + first + i.
void keep_distributions(Lane& lane, const LaneTask& task, LaneTaskResult& out, const at::TensorAccessor<float, 2>& lp,
                        int64_t first, int64_t window) {
  const auto& at_positions = task.distribution_at;
  while (lane.next_distribution < at_positions.size() && at_positions[lane.next_distribution] < lane.start + window) {
    const int64_t pos = at_positions[lane.next_distribution];
    auto& slot = out.distributions[lane.next_distribution++];
    if (pos < lane.start + first || pos == task.valid_begin) continue;  // no left context: stays NaN
    for (int c = 0; c < 4; ++c) slot[c] = lp[pos - lane.start - first][c];
  }
}

// One result per task with every value missing, after checking the task's layout.
std::vector<LaneTaskResult> checked_empty_results(const std::vector<LaneTask>& tasks) {
  std::vector<LaneTaskResult> results(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) {
    const LaneTask& task = tasks[t];
    if (task.start < task.valid_begin || task.score_from < task.start || task.score_to < task.score_from)
      throw Error("lane task", "inconsistent start, valid_begin and score range");
    if (!task.snapshot_rows.empty() && task.snapshot_rows.size() != task.snapshot_at.size())
      throw Error("lane task", "one saved row count per snapshot position");
    if (!std::is_sorted(task.distribution_at.begin(), task.distribution_at.end()) ||
        (!task.distribution_at.empty() && task.distribution_at.front() < task.start))
      throw Error("lane task", "distribution positions must be sorted and not before the start");
    const auto scored = static_cast<size_t>(task.score_to - task.score_from);
    results[t].log_likelihood.assign(scored, kNoValue);
    if (task.keep_entropy) results[t].entropy.assign(scored, kNoValue);
    results[t].snapshots.resize(task.snapshot_at.size());
    results[t].snapshot_prefixes.resize(task.snapshot_at.size());
    results[t].distributions.assign(task.distribution_at.size(), {kNoValue, kNoValue, kNoValue, kNoValue});
  }
  return results;
}

// The ids of one model step: lane b's bases [start - context, start + run_bases), N outside
// its sequence; valid_from[b] masks what lies before the task's valid_begin.
at::Tensor step_ids(const std::vector<Lane>& lanes, const std::vector<LaneTask>& tasks, int64_t context,
                    int64_t run_bases, std::vector<int64_t>& valid_from) {
  const int64_t batch = static_cast<int64_t>(lanes.size()), step_tokens = context + run_bases;
  at::Tensor ids = at::full({batch, step_tokens}, kGapId, at::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    const LaneTask& task = tasks[lanes[b].task];
    const int64_t length = static_cast<int64_t>(task.bases.size());
    const int64_t first = lanes[b].start - context;
    const int64_t from = std::max(task.valid_begin, first), to = std::min(length, first + step_tokens);
    NucleotideTokenizer::encode_into(std::string_view(task.bases).substr(from, to - from),
                                     ids[b].data_ptr<int64_t>() + (from - first));
    valid_from[b] = std::max<int64_t>(0, task.valid_begin - first);
  }
  return ids;
}

// Copies log P(base) (and the entropy) of the scored positions this step predicted; lp's row i
// predicts base lane.start + first + i.
void keep_log_likelihoods(const Lane& lane, const LaneTask& task, LaneTaskResult& out,
                          const at::TensorAccessor<float, 2>& lp, int64_t first, int64_t run_bases) {
  const int64_t from = std::max(lane.start + first, task.score_from);
  const int64_t to = std::min({lane.start + run_bases, task.score_to, static_cast<int64_t>(task.bases.size())});
  for (int64_t pos = from; pos < to; ++pos) {
    if (pos == task.valid_begin) continue;
    const int64_t i = pos - lane.start - first;
    const int observed = base_index(task.bases[pos]);
    if (observed < 0) continue;
    out.log_likelihood[pos - task.score_from] = lp[i][observed];
    if (task.keep_entropy) {
      double entropy = 0;
      for (int c = 0; c < 4; ++c) entropy -= std::exp(lp[i][c]) * lp[i][c];
      out.entropy[pos - task.score_from] = static_cast<float>(entropy);
    }
  }
}

// A batch starts mid-window only when every lane resumes from saved rows: at the first row
// any of them needs (the others run a few rows more, with the same values).
model::StepOptions step_options(const std::vector<Lane>& lanes, int64_t tokens) {
  model::StepOptions options;
  int64_t first_row = tokens - 2;
  bool any_save = false;
  for (const Lane& lane : lanes) {
    first_row = lane.resume ? std::min(first_row, lane.resume_row) : 0;
    any_save = any_save || lane.save;
  }
  if (first_row > 0) {
    options.first_row = first_row;
    for (const Lane& lane : lanes) options.resume.push_back(lane.resume);
  }
  if (any_save)
    for (const Lane& lane : lanes) options.save.push_back(lane.save);
  return options;
}

}  // namespace

std::vector<LaneTaskResult> run_lane_tasks(model::WindowRunner& runner, const std::vector<LaneTask>& tasks,
                                           int64_t max_lanes, int64_t* windows_run) {
  c10::InferenceMode inference;
  const auto& g = runner.geometry();
  const int64_t window = g.window, context = g.context;
  std::vector<LaneTaskResult> results = checked_empty_results(tasks);
  std::vector<Lane> lanes;
  const std::vector<size_t> order = order_by_length(tasks, window);
  size_t next_task = 0;
  auto refill = [&] {
    while (static_cast<int64_t>(lanes.size()) < std::max<int64_t>(1, max_lanes) && next_task < tasks.size()) {
      const size_t t = order[next_task++];
      const LaneTask& task = tasks[t];
      if (task.start < task_end(task) || !task.snapshot_at.empty()) {
        Lane lane{t, task.start, 0, 0, task.memory};
        if (task.prefix.rows > 0) lane.resume = &task.prefix, lane.resume_row = first_needed_row(task, context);
        lanes.push_back(std::move(lane));
      }
    }
  };
  // Bases this lane still needs from its window: fewer than `window` only in its last window.
  auto bases_needed = [&](const Lane& lane) {
    const LaneTask& task = tasks[lane.task];
    if (lane.next_snapshot < task.snapshot_at.size()) return window;  // a later window's state is wanted
    return std::clamp<int64_t>(task_end(task) - lane.start, 1, window);
  };
  // Saves the entering state for every snapshot requested at this lane's window start.
  auto take_snapshots = [&](Lane& lane) {
    const LaneTask& task = tasks[lane.task];
    while (lane.next_snapshot < task.snapshot_at.size() && task.snapshot_at[lane.next_snapshot] <= lane.start) {
      if (task.snapshot_at[lane.next_snapshot] != lane.start)
        throw Error("lane task", "a snapshot position is not a window start");
      if (!task.snapshot_rows.empty() && task.snapshot_rows[lane.next_snapshot] > 0) {
        lane.save = &results[lane.task].snapshot_prefixes[lane.next_snapshot];
        lane.save->rows = task.snapshot_rows[lane.next_snapshot];
      }
      results[lane.task].snapshots[lane.next_snapshot++] = lane.memory;
    }
  };
  // Moves past a window that is not run: the saved rows belong to the window left.
  auto skip_window = [&](Lane& lane) {
    if (lane.save) lane.save->rows = 0, lane.save = nullptr;
    lane.resume = nullptr;
    lane.start += window;
  };
  auto finished = [&](const Lane& lane) {
    const LaneTask& task = tasks[lane.task];
    return lane.start >= task_end(task) && lane.next_snapshot == task.snapshot_at.size();
  };
  refill();
  while (!lanes.empty()) {
    // A window of nothing but N has no values, and the gap ends the context (memory positions
    // assume contiguous sequence).
    for (size_t b = 0; b < lanes.size();) {
      Lane& lane = lanes[b];
      const std::string& bases = tasks[lane.task].bases;
      const int64_t length = static_cast<int64_t>(bases.size());
      take_snapshots(lane);
      while (lane.start < length && !finished(lane) &&
             window_is_gap(bases, lane.start, std::min(length, lane.start + window))) {
        skip_window(lane);
        lane.memory.clear();
        take_snapshots(lane);
      }
      if (finished(lane) || lane.start >= length) {
        if (!finished(lane)) throw Error("lane task", "a snapshot position lies past the sequence");
        lanes.erase(lanes.begin() + b);
        refill();
        continue;
      }
      ++b;
    }
    if (lanes.empty()) break;

    int64_t run_bases = 0;
    for (const Lane& lane : lanes) run_bases = std::max(run_bases, bases_needed(lane));
    const int64_t batch = static_cast<int64_t>(lanes.size());
    std::vector<int64_t> valid_from(batch);
    std::vector<model::LaneMemory*> memories(batch);
    at::Tensor ids = step_ids(lanes, tasks, context, run_bases, valid_from);
    for (int64_t b = 0; b < batch; ++b) memories[b] = &lanes[b].memory;
    const model::StepOptions options = step_options(lanes, context + run_bases);
    at::Tensor hidden = run_bases < window ? runner.last_step(ids, valid_from, memories, options)
                                           : runner.step(ids, valid_from, memories, options);
    at::Tensor log_probs = model::base_log_probs(runner.model(), hidden).to(at::kCPU).contiguous();
    if (windows_run) *windows_run += batch;
    auto lp = log_probs.accessor<float, 3>();
    const int64_t first = runner.first_predicted(options);
    for (int64_t b = 0; b < batch; ++b) {
      Lane& lane = lanes[b];
      keep_log_likelihoods(lane, tasks[lane.task], results[lane.task], lp[b], first, run_bases);
      keep_distributions(lane, tasks[lane.task], results[lane.task], lp[b], first, run_bases);
      lane.save = nullptr;
      skip_window(lane);  // the next window; a finished lane is replaced at the top of the loop
    }
  }
  return results;
}

LaneWorkers::LaneWorkers(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
                         int64_t workers) {
  for (int64_t w = 0; w < std::max<int64_t>(1, workers); ++w) runners_.emplace_back(model, adapter, geometry);
}

std::vector<LaneTaskResult> LaneWorkers::run(std::vector<LaneTask> tasks, int64_t lanes, int64_t* windows_run) {
  const int64_t workers = std::clamp<int64_t>(static_cast<int64_t>(tasks.size()), 1, size());
  if (workers == 1) return run_lane_tasks(runners_.front(), tasks, lanes, windows_run);
  // Consecutive tasks are mostly alike (equal segments, the ALTs of one site), so dealing
  // them round-robin lets the workers finish together.
  std::vector<std::vector<LaneTask>> shares(workers);
  for (size_t t = 0; t < tasks.size(); ++t) shares[t % workers].push_back(std::move(tasks[t]));
  const int64_t lanes_per_worker = std::max<int64_t>(1, (lanes + workers - 1) / workers);
  std::vector<std::vector<LaneTaskResult>> done(workers);
  std::vector<int64_t> windows(workers, 0);
  at::parallel_for(0, workers, 1, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) done[w] = run_lane_tasks(runners_[w], shares[w], lanes_per_worker, &windows[w]);
  });
  std::vector<LaneTaskResult> results(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) results[t] = std::move(done[t % workers][t / workers]);
  if (windows_run)
    for (int64_t w : windows) *windows_run += w;
  return results;
}

size_t slot_of(const std::vector<int64_t>& positions, int64_t position) {
  return static_cast<size_t>(std::lower_bound(positions.begin(), positions.end(), position) - positions.begin());
}

bool SharedLanes::Origin::operator<(const Origin& other) const {
  return std::tie(contig, reverse, first) < std::tie(other.contig, other.reverse, other.first);
}

namespace {

// Adds `extra`'s sorted positions to `into`'s, keeping them sorted and distinct.
void merge_positions(std::vector<int64_t>& into, const std::vector<int64_t>& extra) {
  std::vector<int64_t> both;
  std::set_union(into.begin(), into.end(), extra.begin(), extra.end(), std::back_inserter(both));
  into.swap(both);
}


// Adds `task`'s snapshot positions to `lane`'s, with the larger saved row count where both ask.
void merge_snapshots(LaneTask& lane, const LaneTask& task) {
  std::map<int64_t, int64_t> rows;
  const LaneTask* both[] = {&lane, &task};
  for (const LaneTask* t : both)
    for (size_t i = 0; i < t->snapshot_at.size(); ++i) {
      int64_t& wanted = rows[t->snapshot_at[i]];
      wanted = std::max(wanted, t->snapshot_rows.empty() ? 0 : t->snapshot_rows[i]);
    }
  lane.snapshot_at.clear(), lane.snapshot_rows.clear();
  for (const auto& [at, count] : rows) lane.snapshot_at.push_back(at), lane.snapshot_rows.push_back(count);
}

}  // namespace

size_t SharedLanes::add(const Origin& origin, LaneTask task, bool share) {
  if (!std::is_sorted(task.snapshot_at.begin(), task.snapshot_at.end()) ||
      !std::is_sorted(task.distribution_at.begin(), task.distribution_at.end()))
    throw Error("lane task", "snapshot and distribution positions must be sorted");
  // Only a lane read from its first base with no saved state can serve several tasks.
  const bool shareable = share && task.start == 0 && task.valid_begin == 0 && task.memory.count == 0 &&
                         task.prefix.rows == 0 && !task.keep_entropy;
  auto found = shareable ? lane_of_origin_.find(origin) : lane_of_origin_.end();
  if (found == lane_of_origin_.end()) {
    if (shareable) lane_of_origin_.emplace(origin, merged_.size());
    merged_.push_back(task);
    tickets_.push_back({std::move(task), merged_.size() - 1});
    return tickets_.size() - 1;
  }
  LaneTask& lane = merged_[found->second];
  if (task.bases.size() > lane.bases.size()) {
    if (task.bases.compare(0, lane.bases.size(), lane.bases) != 0)
      throw Error("lane task", "two tasks from one origin read different bases");
    lane.bases = task.bases;
  }
  if (lane.score_to == lane.score_from) {
    lane.score_from = task.score_from, lane.score_to = task.score_to;
  } else if (task.score_to > task.score_from) {
    lane.score_from = std::min(lane.score_from, task.score_from);
    lane.score_to = std::max(lane.score_to, task.score_to);
  }
  merge_snapshots(lane, task);
  merge_positions(lane.distribution_at, task.distribution_at);
  tickets_.push_back({std::move(task), found->second});
  return tickets_.size() - 1;
}

void SharedLanes::run(LaneWorkers& workers, int64_t lanes, int64_t* windows_run) {
  results_ = workers.run(merged_, lanes, windows_run);
}

LaneTaskResult SharedLanes::result(size_t ticket) const {
  const Ticket& t = tickets_.at(ticket);
  const LaneTask& lane = merged_[t.lane];
  const LaneTaskResult& all = results_.at(t.lane);
  LaneTaskResult out;
  const int64_t offset = t.task.score_from - lane.score_from;
  const auto scored = static_cast<size_t>(t.task.score_to - t.task.score_from);
  if (scored > 0) out.log_likelihood.assign(all.log_likelihood.begin() + offset, all.log_likelihood.begin() + offset + scored);
  for (int64_t at : t.task.snapshot_at) {
    const size_t slot = slot_of(lane.snapshot_at, at);
    out.snapshots.push_back(all.snapshots[slot]);
    out.snapshot_prefixes.push_back(all.snapshot_prefixes[slot]);
  }
  for (int64_t at : t.task.distribution_at) out.distributions.push_back(all.distributions[slot_of(lane.distribution_at, at)]);
  return out;
}

}  // namespace germ::score
