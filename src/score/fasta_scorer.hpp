#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "score/lane_scorer.hpp"

namespace germ::score {

enum class TrackKind { kLogLikelihood, kEntropy };
TrackKind parse_track_kind(const std::string& text);

struct FastaScoreOptions {
  std::string input;                // FASTA/FASTQ path (plain, gzip, bgzip) or "-"
  std::vector<io::Region> regions;  // empty: every contig in full
  TrackKind track = TrackKind::kLogLikelihood;
  bool bits = false;                // log base 2 instead of natural log
  int64_t bin = 1;                  // mean over bins of this many bases (aligned to 0)
  bool both_strands = false;        // average with the reverse-complement pass
  int64_t segment_windows = 128;    // a lane's share of a contig, in windows (docs/score.md)
  int64_t jobs_per_batch = 8;       // lanes batched together, split between the scorer's workers
  // One batch read or written while the model runs another; a third only added to the peak
  // memory (docs/score.md).
  int64_t max_batches_in_flight = 2;
  bool quiet = false;
};

struct FastaScoreSummary {
  int64_t bases_read = 0;
  int64_t values = 0;   // per-base values produced (before binning)
  int64_t records = 0;  // records handed to the sink
  double seconds = 0;
};

// One bedGraph-style record: 0-based half-open [begin, end) on `contig`.
using RecordSink = std::function<void(const std::string& contig, int64_t begin, int64_t end, float value)>;

// Streams the input through the scorer (read -> batch lanes -> model -> bin/write, a TBB
// pipeline that writes in input order). Memory is bounded by the batches in flight, not by
// contig length. Each contig is cut into segments of segment_windows windows; a segment's
// lane starts warmup_windows() windows early so its state is full when scoring begins. The
// result at a base depends only on the sequence and this fixed grid, so a region gives the
// same values as the same slice of a whole-contig run.
FastaScoreSummary score_fasta(LaneScorer& scorer, const FastaScoreOptions& options, const RecordSink& sink);

}  // namespace germ::score
