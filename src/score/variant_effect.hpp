#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/focus.hpp"
#include "score/lane_tasks.hpp"
#include "score/variant_windows.hpp"

namespace germ::io {
class IndexedFasta;
}

namespace germ::score {

struct VariantScoreOptions {
  int64_t window = 8192;        // scoring window centred on the variant (bases)
  bool both_strands = false;    // average with the reverse-complement reading
  bool prefix_reuse = true;     // branch ALTs from the shared reference lane
  int64_t segment_windows = 8;  // model windows per segment of the fixed grid
  int64_t lanes = 8;            // lanes batched per model step, shared out between the workers
  // Sum from the variant to this many bases past the REF end (each strand in its own
  // direction) instead of to the window end; -1: to the window end (docs/score_variants.md).
  int64_t downstream = -1;
};

// GERM_LLR = log P(window carrying the ALT) - log P(reference window) under the causal LM,
// over the genomic window [c - window/2, c + window/2) around the REF centre c (flanks
// identical in both). Causality makes every term left of the variant equal, so the sum runs
// from the variant to the right end; the model still reads the whole left half (and more:
// each lane starts on a fixed grid, far enough left to fill its memory), so a variant's score
// depends only on the reference and the options, never on the other records or on -r.
class VariantScorer {
 public:
  VariantScorer(LaneWorkers& workers, VariantScoreOptions options);

  // One score per variant, same order. Variants sharing a segment share one reference lane.
  std::vector<VariantScore> score(const std::vector<Variant>& variants, const io::IndexedFasta& reference);

  // score() in two phases, so that the reference lanes run together with another scorer's:
  // plan() adds them to `lanes`, the caller runs them, finish() runs the ALTs and scores.
  void plan(const std::vector<Variant>& variants, const io::IndexedFasta& reference, SharedLanes& lanes);
  std::vector<VariantScore> finish(const SharedLanes& lanes);

  int64_t windows_run() const { return windows_run_; }
  const VariantScoreOptions& options() const { return options_; }
  // Bases each lane reads before its segment (at least half a window, and the warm-up).
  int64_t lead_bases() const { return lead_windows_ * workers_.geometry().window; }

 private:
  struct StrandVariant : StrandWindow {
    size_t variant = 0;
  };
  // The variants of one contig, strand and segment: one reference lane.
  struct Group {
    std::string contig;
    bool reverse = false;
    int64_t lane_start = 0, end = 0;  // strand coordinates of the lane's sequence
    std::vector<size_t> members;      // StrandVariant indices
    size_t ticket = 0;                // of the reference lane
  };

  LaneWorkers& workers_;
  VariantScoreOptions options_;
  int64_t lead_windows_;
  int64_t windows_run_ = 0;
  // Between plan() and finish().
  std::vector<VariantScore> scores_;
  std::vector<StrandVariant> strand_variants_;
  std::vector<Group> groups_;
};

}  // namespace germ::score
