#include "score/variant_effect.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "score/lane_tasks.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();

double nan_sum(const float* values, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i)
    if (!std::isnan(values[i])) sum += values[i];
  return sum;
}

}  // namespace

VariantScorer::VariantScorer(LaneWorkers& workers, VariantScoreOptions options)
    : workers_(workers), options_(options) {
  const int64_t window = workers_.geometry().window;
  if (options_.window < 2) throw Error("--window", "the variant window must be at least 2 bases");
  if (options_.segment_windows < 1) throw Error("--segment", "must be at least 1");
  if (options_.downstream < -1) throw Error("--downstream", "must be 0 or more bases");
  const int64_t half = options_.window / 2;
  lead_windows_ = std::max(workers_.geometry().warmup_windows(), (half + window - 1) / window);
}

std::vector<VariantScore> VariantScorer::score(const std::vector<Variant>& variants,
                                               const io::IndexedFasta& reference) {
  SharedLanes lanes;
  plan(variants, reference, lanes);
  lanes.run(workers_, options_.lanes, &windows_run_);
  return finish(lanes);
}

void VariantScorer::plan(const std::vector<Variant>& variants, const io::IndexedFasta& reference, SharedLanes& lanes) {
  const int64_t model_window = workers_.geometry().window, half = options_.window / 2;
  const int64_t context = workers_.geometry().context;
  scores_.assign(variants.size(), {});
  strand_variants_.clear(), groups_.clear();

  // Checks and windows, then variants grouped by contig, strand and segment of the fixed grid.
  std::map<std::tuple<std::string, bool, int64_t>, size_t> group_of_key;
  for (size_t v = 0; v < variants.size(); ++v) {
    const Variant& variant = variants[v];
    scores_[v].llr.assign(variant.alts.size(), kNoValue);
    VariantWindows plan = plan_variant_windows(variant, reference, half, options_.both_strands);
    scores_[v].flags.assign(plan.flags.begin(), plan.flags.end());
    for (StrandWindow& window : plan.strands) {
      if (options_.downstream >= 0)
        window.end = std::min(window.end, window.position + window.ref_length + options_.downstream);
      const int64_t segment = window.position / model_window / options_.segment_windows;
      // Without reuse every variant gets its own lanes, started on the same grid point, so
      // both modes compute the same values.
      auto key = std::make_tuple(variant.contig, window.reverse,
                                 options_.prefix_reuse ? segment : static_cast<int64_t>(strand_variants_.size()));
      auto [it, fresh] = group_of_key.emplace(key, groups_.size());
      if (fresh) {
        Group group;
        group.contig = variant.contig;
        group.reverse = window.reverse;
        group.lane_start = std::max<int64_t>(0, (segment * options_.segment_windows - lead_windows_) * model_window);
        groups_.push_back(group);
      }
      Group& group = groups_[it->second];
      group.end = std::max(group.end, window.end);
      group.members.push_back(strand_variants_.size());
      strand_variants_.push_back(StrandVariant{std::move(window), v});
    }
  }

  // One reference lane per group, saving its state where each variant's window starts.
  for (Group& group : groups_) {
    LaneTask task;
    const int64_t length = reference.contig_length(group.contig);
    if (group.reverse) {
      task.bases = io::reverse_complement(
          io::normalize_bases(reference.fetch(group.contig, length - group.end, length - group.lane_start)));
    } else {
      task.bases = io::normalize_bases(reference.fetch(group.contig, group.lane_start, group.end));
    }
    task.score_from = task.score_to = group.end - group.lane_start;
    // Per window holding variants: its raw rows up to the row before the last variant's
    // first base, which every ALT there shares with the reference.
    std::map<int64_t, int64_t> rows_at;
    for (size_t m : group.members) {
      const StrandVariant& sv = strand_variants_[m];
      task.score_from = std::min(task.score_from, sv.position - group.lane_start);
      if (!options_.prefix_reuse) continue;
      const int64_t window_start = sv.position / model_window * model_window;
      int64_t& rows = rows_at[window_start - group.lane_start];
      rows = std::max(rows, sv.position - window_start + context - 1);
    }
    for (const auto& [at, rows] : rows_at) task.snapshot_at.push_back(at), task.snapshot_rows.push_back(rows);
    const int64_t first = group.reverse ? length - 1 - group.lane_start : group.lane_start;
    // Without reuse each variant reads its own reference lane too (the mode measures the saving).
    group.ticket = lanes.add({group.contig, group.reverse, first}, std::move(task), options_.prefix_reuse);
  }
}

std::vector<VariantScore> VariantScorer::finish(const SharedLanes& lanes) {
  const int64_t model_window = workers_.geometry().window;
  std::vector<LaneTaskResult> reference_results(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) reference_results[g] = lanes.result(groups_[g].ticket);

  // Each ALT resumes from the saved state (or, without reuse, reads from the lane start).
  struct AltJob {
    size_t strand_variant, alt;
  };
  std::vector<LaneTask> alt_tasks;
  std::vector<AltJob> alt_jobs;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Group& group = groups_[g];
    const LaneTask& ref_task = lanes.task(group.ticket);
    for (size_t m : group.members) {
      const StrandVariant& sv = strand_variants_[m];
      const int64_t at = sv.position - group.lane_start, end = sv.end - group.lane_start;
      const int64_t window_start = sv.position / model_window * model_window - group.lane_start;
      for (size_t a = 0; a < sv.alt_bases.size(); ++a) {
        LaneTask task;
        task.bases = alt_haplotype(ref_task.bases, at, sv.ref_length, sv.alt_bases[a], end);
        task.score_from = at;
        task.score_to = static_cast<int64_t>(task.bases.size());
        if (options_.prefix_reuse) {
          const size_t slot = slot_of(ref_task.snapshot_at, window_start);
          task.start = window_start;
          task.memory = reference_results[g].snapshots[slot];
          task.prefix = reference_results[g].snapshot_prefixes[slot];
        }
        alt_tasks.push_back(std::move(task));
        alt_jobs.push_back({m, a});
      }
    }
  }
  std::vector<LaneTaskResult> alt_results = workers_.run(std::move(alt_tasks), options_.lanes, &windows_run_);

  // LLR per strand; the record's value is the mean over the strands read.
  std::vector<size_t> group_of_member(strand_variants_.size());
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t m : groups_[g].members) group_of_member[m] = g;
  std::vector<std::vector<double>> sums(scores_.size()), strands(scores_.size());
  for (size_t j = 0; j < alt_jobs.size(); ++j) {
    const StrandVariant& sv = strand_variants_[alt_jobs[j].strand_variant];
    const size_t g = group_of_member[alt_jobs[j].strand_variant];
    const LaneTask& ref_task = lanes.task(groups_[g].ticket);
    const int64_t from = sv.position - groups_[g].lane_start - ref_task.score_from;
    const double reference_ll = nan_sum(reference_results[g].log_likelihood.data() + from, sv.end - sv.position);
    const auto& alt_ll = alt_results[j].log_likelihood;
    const double alt_ll_sum = nan_sum(alt_ll.data(), static_cast<int64_t>(alt_ll.size()));
    const size_t record_alt = sv.alt_index[alt_jobs[j].alt];
    auto& sum = sums[sv.variant];
    auto& count = strands[sv.variant];
    if (sum.empty()) sum.assign(scores_[sv.variant].llr.size(), 0.0), count = sum;
    sum[record_alt] += alt_ll_sum - reference_ll;
    count[record_alt] += 1;
  }
  for (size_t v = 0; v < scores_.size(); ++v)
    for (size_t a = 0; a < sums[v].size(); ++a)
      if (strands[v][a] > 0) scores_[v].llr[a] = static_cast<float>(sums[v][a] / strands[v][a]);
  strand_variants_.clear(), groups_.clear();
  return std::move(scores_);
}

}  // namespace germ::score
