#include "score/classifier_track.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "io/bases.hpp"
#include "io/sequence_reader.hpp"
#include "model/token_batch.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::score {
namespace {

struct PendingWindow {
  std::string contig;
  int64_t begin = 0, end = 0;  // the record's span (not the window's)
  std::vector<int64_t> tokens;
};

class WindowBatcher {
 public:
  WindowBatcher(model::GermModel& model, const ClassifierTrackOptions& o, const RecordSink& sink,
                ClassifierTrackSummary& summary)
      : model_(model), options_(o), sink_(sink), summary_(summary) {}

  void add(PendingWindow window) {
    pending_.push_back(std::move(window));
    if (static_cast<int64_t>(pending_.size()) >= options_.batch_size) flush();
  }
  void flush() {
    if (pending_.empty()) return;
    std::vector<std::vector<int64_t>> tokens;
    for (auto& w : pending_) tokens.push_back(std::move(w.tokens));
    at::Tensor p = model::class_probabilities(model_, tokens, options_.batch_size, options_.device);
    auto view = p.accessor<float, 2>();
    for (size_t i = 0; i < pending_.size(); ++i) {
      sink_(pending_[i].contig, pending_[i].begin, pending_[i].end, view[i][options_.class_index]);
      ++summary_.records;
    }
    summary_.windows += static_cast<int64_t>(pending_.size());
    pending_.clear();
  }

 private:
  model::GermModel& model_;
  const ClassifierTrackOptions& options_;
  const RecordSink& sink_;
  ClassifierTrackSummary& summary_;
  std::vector<PendingWindow> pending_;
};

}  // namespace

ClassifierTrackSummary score_classifier_track(model::GermModel& model, const tokenize::Tokenizer& tokenizer,
                                              const ClassifierTrackOptions& o, const RecordSink& sink) {
  if (o.window < 1) throw Error("--window", "must be positive");
  if (o.stride < 1 || o.stride > o.window) throw Error("--stride", "must be between 1 and --window");
  if (o.class_index < 0 || o.class_index >= model->config().num_labels)
    throw Error("--class", "index " + std::to_string(o.class_index) + " is not a class of the model (0.." +
                               std::to_string(model->config().num_labels - 1) + ")");
  ClassifierTrackSummary summary;
  WindowBatcher batcher(model, o, sink, summary);
  io::SequenceReader reader = o.regions.empty() ? io::SequenceReader(o.input) : io::SequenceReader(o.input, o.regions);
  io::SequenceChunk chunk;
  util::Progress progress("score", 0, "bases", o.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kAuto);
  // Per contig: bases not yet left behind by the window start, and where they begin.
  std::string buffer, contig;
  int64_t buffer_start = 0, next_window = 0, covered_to = 0;
  const int64_t margin = (o.window - o.stride) / 2;  // bases before the record span in its window
  auto emit = [&](int64_t start, bool last) {
    std::string bases = io::normalize_bases(std::string_view(buffer).substr(start - buffer_start, o.window));
    int64_t n = std::count(bases.begin(), bases.end(), 'N');
    int64_t record_begin = start == covered_to ? covered_to : start + margin;
    record_begin = std::max(record_begin, covered_to);
    int64_t record_end = last ? start + o.window : start + margin + o.stride;
    covered_to = record_end;
    if (n > o.max_n_fraction * o.window) return;
    batcher.add({contig, record_begin, record_end,
                 model::frame_sequence(tokenizer, model::ModelKind::kClassifier, bases, model->config().max_length)});
  };
  while (reader.next(chunk)) {
    if (chunk.contig_start) {
      contig = chunk.contig;
      buffer.clear();
      buffer_start = next_window = covered_to = chunk.offset;
    }
    buffer += chunk.bases;
    summary.bases_read += static_cast<int64_t>(chunk.bases.size());
    int64_t buffer_end = buffer_start + static_cast<int64_t>(buffer.size());
    // A window is emitted once the next one is known to exist or the contig has ended, so the
    // last window of a contig can extend its record to the contig's end.
    while (next_window + o.window + o.stride <= buffer_end) {
      emit(next_window, false);
      next_window += o.stride;
    }
    if (chunk.contig_end) {
      if (next_window + o.window <= buffer_end) emit(next_window, true);
      batcher.flush();
    }
    // Keep only what later windows still read.
    int64_t keep_from = std::min(next_window, buffer_end);
    buffer.erase(0, keep_from - buffer_start);
    buffer_start = keep_from;
    progress.update(summary.bases_read);
  }
  batcher.flush();
  progress.finish();
  return summary;
}

}  // namespace germ::score
