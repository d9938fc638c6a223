#include "score/lane_scorer.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>

#include "tokenize/nucleotide_tokenizer.hpp"

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

struct Lane {
  size_t job = 0;
  int64_t start = 0;  // window start within the job
  model::LaneMemory memory;
};

bool window_is_gap(const std::string& bases, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    if (bases[i] != 'N') return false;
  return true;
}

}  // namespace

LaneScorer::LaneScorer(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
                       int64_t lanes)
    : runner_(std::move(model), std::move(adapter), geometry), lanes_(std::max<int64_t>(1, lanes)) {}

std::vector<ScoreResult> LaneScorer::run(const std::vector<ScoreJob>& jobs) {
  c10::InferenceMode inference;
  const auto& g = runner_.geometry();
  const int64_t window = g.window, context = g.context, tokens = g.raw_tokens();
  std::vector<ScoreResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    size_t scored = jobs[j].bases.size() - std::min<size_t>(jobs[j].bases.size(), jobs[j].warmup);
    results[j].log_likelihood.assign(scored, kNoValue);
    results[j].entropy.assign(scored, kNoValue);
  }
  std::vector<Lane> lanes;
  size_t next_job = 0;
  auto refill = [&] {
    while (static_cast<int64_t>(lanes.size()) < lanes_ && next_job < jobs.size()) {
      if (!jobs[next_job].bases.empty()) lanes.push_back(Lane{next_job, 0, {}});
      ++next_job;
    }
  };
  refill();
  while (!lanes.empty()) {
    // Lanes past their job's end take the next job. A window of nothing but N is skipped: it
    // has no values, and the gap ends the context (memory positions assume contiguous sequence).
    for (size_t b = 0; b < lanes.size();) {
      Lane& lane = lanes[b];
      const std::string& bases = jobs[lane.job].bases;
      int64_t length = static_cast<int64_t>(bases.size());
      while (lane.start < length && window_is_gap(bases, lane.start, std::min(length, lane.start + window))) {
        lane.start += window;
        lane.memory.clear();
      }
      if (lane.start >= length) {
        lanes.erase(lanes.begin() + b);
        refill();
        continue;
      }
      ++b;
    }
    if (lanes.empty()) break;

    const int64_t batch = static_cast<int64_t>(lanes.size());
    at::Tensor ids = at::full({batch, tokens}, kGapId, at::kLong);  // before/after the job: N
    std::vector<int64_t> valid_from(batch);
    std::vector<model::LaneMemory*> memories(batch);
    for (int64_t b = 0; b < batch; ++b) {
      const std::string& bases = jobs[lanes[b].job].bases;
      int64_t length = static_cast<int64_t>(bases.size());
      int64_t first = lanes[b].start - context;
      int64_t from = std::max<int64_t>(0, first), to = std::min(length, first + tokens);
      NucleotideTokenizer::encode_into(std::string_view(bases).substr(from, to - from),
                                       ids[b].data_ptr<int64_t>() + (from - first));
      valid_from[b] = std::max<int64_t>(0, context - lanes[b].start);
      memories[b] = &lanes[b].memory;
    }
    at::Tensor hidden = runner_.step(ids, valid_from, memories);
    at::Tensor log_probs = model::base_log_probs(runner_.model(), hidden).contiguous();
    windows_run_ += batch;
    auto lp = log_probs.accessor<float, 3>();

    for (int64_t b = 0; b < batch; ++b) {
      Lane& lane = lanes[b];
      const ScoreJob& job = jobs[lane.job];
      ScoreResult& out = results[lane.job];
      int64_t length = static_cast<int64_t>(job.bases.size());
      for (int64_t i = 0; i < window; ++i) {
        int64_t pos = lane.start + i;
        if (pos >= length) break;
        if (pos < job.warmup || pos == 0) continue;
        int observed = base_index(job.bases[pos]);
        if (observed < 0) continue;
        double entropy = 0;
        for (int c = 0; c < 4; ++c) entropy -= std::exp(lp[b][i][c]) * lp[b][i][c];
        out.log_likelihood[pos - job.warmup] = lp[b][i][observed];
        out.entropy[pos - job.warmup] = static_cast<float>(entropy);
      }
      lane.start += window;  // a finished lane is replaced at the top of the loop
    }
  }
  return results;
}

}  // namespace germ::score
