#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/focus.hpp"

namespace germ::io {
class IndexedFasta;
}

namespace germ::score {

// One VCF record as the scorer sees it.
struct Variant {
  std::string contig;
  int64_t position = 0;  // 0-based start of REF
  std::string ref;
  std::vector<std::string> alts;  // as written (symbolic, breakend, '*' and '.' are flagged)
};

// Why a record (or one of its ALTs) has no score, or has a caveat. These are the values of
// INFO/GERM_FLAG (docs/score_variants.md).
namespace variant_flag {
inline constexpr const char* kContigMissing = "CONTIG_MISSING";  // contig not in the reference
inline constexpr const char* kRefMismatch = "REF_MISMATCH";      // REF differs from the reference
inline constexpr const char* kNonAcgtRef = "NON_ACGT_REF";       // REF (or the reference there) is not ACGT
inline constexpr const char* kPastContigEnd = "PAST_CONTIG_END";  // REF runs past the contig end
inline constexpr const char* kSymbolicAlt = "SYMBOLIC_ALT";      // <DEL>, breakend, '*' or '.': not scored
inline constexpr const char* kNonAcgtAlt = "NON_ACGT_ALT";       // an ALT with IUPAC/N letters: not scored
inline constexpr const char* kTooLong = "TOO_LONG";               // an allele longer than half the window
inline constexpr const char* kEdge = "EDGE";  // window truncated at a contig edge (scored, truncated)
}  // namespace variant_flag

struct VariantScore {
  std::vector<float> llr;          // per ALT, nats; NaN where that ALT has no score
  std::vector<std::string> flags;  // distinct reasons, in a fixed order
};

struct VariantScoreOptions {
  int64_t window = 8192;        // scoring window centred on the variant (bases)
  bool both_strands = false;    // average with the reverse-complement reading
  bool prefix_reuse = true;     // branch ALTs from the shared reference lane
  int64_t segment_windows = 8;  // model windows per segment of the fixed grid
  int64_t lanes = 8;            // lanes batched per model step
};

// GERM_LLR = log P(window carrying the ALT) - log P(reference window) under the causal LM,
// over the genomic window [c - window/2, c + window/2) around the REF centre c (flanks
// identical in both). Causality makes every term left of the variant equal, so the sum runs
// from the variant to the right end; the model still reads the whole left half (and more:
// each lane starts on a fixed grid, far enough left to fill its memory), so a variant's score
// depends only on the reference and the options, never on the other records or on -r.
class VariantScorer {
 public:
  VariantScorer(model::WindowRunner& runner, VariantScoreOptions options);

  // One score per variant, same order. Variants sharing a segment share one reference lane.
  std::vector<VariantScore> score(const std::vector<Variant>& variants, const io::IndexedFasta& reference);

  int64_t windows_run() const { return windows_run_; }
  const VariantScoreOptions& options() const { return options_; }
  // Bases each lane reads before its segment (at least half a window, and the warm-up).
  int64_t lead_bases() const { return lead_windows_ * runner_.geometry().window; }

 private:
  model::WindowRunner& runner_;
  VariantScoreOptions options_;
  int64_t lead_windows_;
  int64_t windows_run_ = 0;
};

}  // namespace germ::score
