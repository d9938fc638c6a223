#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "score/lane_tasks.hpp"
#include "score/variant_windows.hpp"

namespace germ::io {
class IndexedFasta;
}

namespace germ::score {

struct SiteLlrOptions {
  int64_t segment_windows = 64;  // model windows per segment of the fixed grid
  int64_t lead_windows = -1;     // windows read before a segment (-1: the geometry's warm-up)
  int64_t lanes = 8;             // lanes batched per model step, shared out between the workers
};

// Site LLR of one record, per ALT (natural log): log P(alt) - log P(ref) at the variant base,
// from the forward reading (left context) and from the reverse-complement reading (right
// context); `mean` is their mean. NaN where that ALT has no site value (not an SNV, or no
// context: the first base of a contig on that strand).
struct SiteScore {
  std::vector<float> forward, reverse, mean;
};

// True for an ALT the site method scores: REF and ALT single A/C/G/T bases.
bool is_site_variant(const std::string& ref, const std::string& alt);

// The probabilities come from one streamed reading of the reference per strand over each
// segment that holds variants, laid out exactly as `germ score --both-strands` lays out its
// lanes (fixed grid of segment_windows windows from the contig start, each lane starting
// lead windows before its segment; the reverse lane starts lead windows past the segment end
// and reads right to left). So the cost grows with the sequence covered, not with the number
// of records, and log P(ref) at a site is the value `germ score` writes there (same segment
// and model). A value depends only on the reference, the model and the options.
class SiteLlrScorer {
 public:
  SiteLlrScorer(LaneWorkers& workers, SiteLlrOptions options);

  // One SiteScore per variant, same order. Records the checks reject (plan_variant_windows'
  // flags) get NaN everywhere; the caller reports their flags.
  std::vector<SiteScore> score(const std::vector<Variant>& variants, const io::IndexedFasta& reference);

  int64_t windows_run() const { return windows_run_; }
  int64_t segment_bases() const { return options_.segment_windows * workers_.geometry().window; }
  int64_t lead_bases() const { return options_.lead_windows * workers_.geometry().window; }

 private:
  LaneWorkers& workers_;
  SiteLlrOptions options_;
  int64_t windows_run_ = 0;
};

}  // namespace germ::score
