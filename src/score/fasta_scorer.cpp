#include "score/fasta_scorer.hpp"

#include <tbb/parallel_pipeline.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::score {
namespace {

constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max() / 4;

struct JobInfo {
  std::string contig;
  int64_t first = 0;  // contig position of result value 0; reverse jobs count down from it
  int64_t count = 0;
  bool reverse = false;
};

struct Batch {
  std::vector<ScoreJob> jobs;
  std::vector<JobInfo> info;
  std::vector<ScoreResult> results;
  int64_t bases_read = 0;
};

// Stage 1: cuts the input into segment jobs (forward, and reverse with --both-strands).
class BatchReader {
 public:
  BatchReader(const FastaScoreOptions& options, const model::FocusGeometry& geometry)
      : options_(options),
        segment_(options.segment_windows * geometry.window),
        warmup_(geometry.warmup_windows() * geometry.window),
        reader_(open(options)) {}

  std::unique_ptr<Batch> next() {
    int64_t wanted = std::max<int64_t>(1, options_.jobs_per_batch);
    if (options_.both_strands) wanted = std::max<int64_t>(2, wanted - wanted % 2);
    auto batch = std::make_unique<Batch>();
    io::SequenceChunk chunk;
    while (static_cast<int64_t>(ready_.size()) < wanted && !input_done_) {
      if (!reader_.next(chunk)) {
        input_done_ = true;
        break;
      }
      batch->bases_read += static_cast<int64_t>(chunk.bases.size());
      take(chunk);
    }
    while (!ready_.empty() && static_cast<int64_t>(batch->jobs.size()) < wanted) {
      batch->jobs.push_back(std::move(ready_.front().first));
      batch->info.push_back(std::move(ready_.front().second));
      ready_.pop_front();
    }
    if (batch->jobs.empty() && batch->bases_read == 0) return nullptr;
    return batch;
  }

 private:
  io::SequenceReader open(const FastaScoreOptions& o) {
    if (o.regions.empty()) return io::SequenceReader(o.input);
    // A region is read with the margins its first and last segments need, so its values
    // match the same bases of a whole-contig run.
    io::IndexedFasta fasta(o.input);
    std::vector<io::Region> expanded;
    for (const auto& r : o.regions) {
      io::Region clip = fasta.resolve(r);
      if (!clips_.empty() && clips_.back().contig == clip.contig && clip.begin < clips_.back().end)
        throw Error(o.input, "regions must be sorted and must not overlap (" + r.to_string() + ")");
      clips_.push_back(clip);
      int64_t length = fasta.contig_length(clip.contig);
      int64_t begin = std::max<int64_t>(0, clip.begin / segment_ * segment_ - warmup_);
      int64_t end = std::min(length, (clip.end + segment_ - 1) / segment_ * segment_ + warmup_);
      expanded.push_back(io::Region{clip.contig, begin, end});
    }
    return io::SequenceReader(o.input, expanded);
  }

  void take(io::SequenceChunk& chunk) {
    if (chunk.contig_start) {
      contig_ = chunk.contig;
      buffer_offset_ = chunk.offset;
      buffer_.clear();
      finished_ = false;
      if (clips_.empty()) {
        clip_begin_ = 0, clip_end_ = kUnbounded;
      } else {
        const io::Region& clip = clips_.at(region_counter_++);
        clip_begin_ = clip.begin, clip_end_ = clip.end;
      }
      next_segment_ = clip_begin_ / segment_;
    }
    io::normalize_bases_in_place(chunk.bases);
    buffer_ += chunk.bases;
    if (chunk.contig_end) {
      finished_ = true;
      clip_end_ = std::min(clip_end_, buffer_offset_ + static_cast<int64_t>(buffer_.size()));
    }
    emit_ready();
  }

  void emit_ready() {
    const int64_t buffer_end = buffer_offset_ + static_cast<int64_t>(buffer_.size());
    while (true) {
      const int64_t segment_begin = next_segment_ * segment_;
      const int64_t segment_end = segment_begin + segment_;
      if (segment_begin >= clip_end_) break;
      int64_t needed = std::min(segment_end, clip_end_);
      if (options_.both_strands) needed = std::max(needed, segment_end + warmup_);
      if (!finished_ && buffer_end < needed) break;
      const int64_t out_begin = std::max(segment_begin, clip_begin_);
      const int64_t out_end = std::min({segment_end, clip_end_, buffer_end});
      if (out_begin < out_end) {
        const int64_t lane_begin = std::max<int64_t>(buffer_offset_, std::max<int64_t>(0, segment_begin - warmup_));
        ScoreJob forward{buffer_.substr(lane_begin - buffer_offset_, out_end - lane_begin), out_begin - lane_begin};
        ready_.emplace_back(std::move(forward), JobInfo{contig_, out_begin, out_end - out_begin, false});
        if (options_.both_strands) {
          const int64_t lane_end = std::min(buffer_end, segment_end + warmup_);
          ScoreJob reverse{io::reverse_complement(std::string_view(buffer_).substr(out_begin - buffer_offset_,
                                                                                   lane_end - out_begin)),
                           lane_end - out_end};
          ready_.emplace_back(std::move(reverse), JobInfo{contig_, out_end - 1, out_end - out_begin, true});
        }
      }
      ++next_segment_;
      int64_t keep_from = std::max(buffer_offset_, next_segment_ * segment_ - warmup_);
      if (keep_from > buffer_offset_) {
        buffer_.erase(0, std::min<size_t>(buffer_.size(), keep_from - buffer_offset_));
        buffer_offset_ = keep_from;
      }
    }
  }

  const FastaScoreOptions& options_;
  int64_t segment_, warmup_;
  std::vector<io::Region> clips_;
  io::SequenceReader reader_;
  size_t region_counter_ = 0;
  std::string contig_, buffer_;
  int64_t buffer_offset_ = 0, next_segment_ = 0, clip_begin_ = 0, clip_end_ = kUnbounded;
  bool finished_ = false, input_done_ = false;
  std::deque<std::pair<ScoreJob, JobInfo>> ready_;
};

// Stage 3: mean over --bin bases (aligned to multiples of the bin), one record per bin that
// has a value.
class Binner {
 public:
  Binner(int64_t bin, const RecordSink& sink, int64_t& records) : bin_(bin), sink_(sink), records_(records) {}

  void add(const std::string& contig, int64_t pos, float value) {
    if (contig != contig_ || pos / bin_ != bin_index_ || pos != last_ + 1) {
      flush();
      contig_ = contig;
      bin_index_ = pos / bin_;
      first_ = pos;
    }
    last_ = pos;
    if (std::isfinite(value)) sum_ += value, ++count_;
  }

  void flush() {
    if (count_ > 0) {
      sink_(contig_, first_, last_ + 1, static_cast<float>(sum_ / count_));
      ++records_;
    }
    sum_ = 0, count_ = 0, bin_index_ = -1, last_ = -2;
  }

 private:
  int64_t bin_;
  const RecordSink& sink_;
  int64_t& records_;
  std::string contig_;
  int64_t bin_index_ = -1, first_ = 0, last_ = -2, count_ = 0;
  double sum_ = 0;
};

}  // namespace

TrackKind parse_track_kind(const std::string& text) {
  if (text == "ll") return TrackKind::kLogLikelihood;
  if (text == "entropy") return TrackKind::kEntropy;
  throw Error("--track", "unknown track '" + text + "' (use ll or entropy)");
}

FastaScoreSummary score_fasta(LaneScorer& scorer, const FastaScoreOptions& options, const RecordSink& sink) {
  if (options.bin < 1) throw Error("--bin", "must be at least 1");
  if (options.segment_windows < 1) throw Error("--segment", "must be at least 1 window");
  auto started = std::chrono::steady_clock::now();
  FastaScoreSummary summary;
  BatchReader reader(options, scorer.geometry());
  Binner binner(options.bin, sink, summary.records);
  util::Progress progress("score", 0, "bases", options.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kAuto);
  const double scale = options.bits ? 1.0 / std::log(2.0) : 1.0;
  const bool ll = options.track == TrackKind::kLogLikelihood;

  tbb::parallel_pipeline(
      static_cast<size_t>(std::max<int64_t>(1, options.max_batches_in_flight)),
      tbb::make_filter<void, Batch*>(tbb::filter_mode::serial_in_order,
                                     [&](tbb::flow_control& control) -> Batch* {
                                       auto batch = reader.next();
                                       if (!batch) control.stop();
                                       return batch.release();
                                     }) &
          tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::serial_in_order,
                                           [&](Batch* batch) {
                                             batch->results = scorer.run(std::move(batch->jobs), !ll);  // the bases are not needed after
                                             return batch;
                                           }) &
          tbb::make_filter<Batch*, void>(tbb::filter_mode::serial_in_order, [&](Batch* raw) {
            std::unique_ptr<Batch> batch(raw);
            summary.bases_read += batch->bases_read;
            for (size_t j = 0; j < batch->info.size(); ++j) {
              const JobInfo& info = batch->info[j];
              if (info.reverse) continue;  // consumed with its forward job
              const auto& forward = ll ? batch->results[j].log_likelihood : batch->results[j].entropy;
              const std::vector<float>* reverse = nullptr;
              if (options.both_strands)
                reverse = ll ? &batch->results[j + 1].log_likelihood : &batch->results[j + 1].entropy;
              for (int64_t i = 0; i < info.count; ++i) {
                float value = forward[i];
                if (reverse) {
                  float other = (*reverse)[info.count - 1 - i];
                  value = std::isnan(value) ? other : std::isnan(other) ? value : 0.5f * (value + other);
                }
                if (!std::isnan(value)) ++summary.values;
                binner.add(info.contig, info.first + i, static_cast<float>(value * scale));
              }
              progress.add(static_cast<uint64_t>(info.count));
            }
          }));
  binner.flush();
  progress.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace germ::score
