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

  // score() in two phases, so that its lanes run together with another scorer's: plan() adds
  // the lanes to `lanes`, the caller runs them, collect() reads the values.
  void plan(const std::vector<Variant>& variants, const io::IndexedFasta& reference, SharedLanes& lanes);
  std::vector<SiteScore> collect(const SharedLanes& lanes);

  int64_t windows_run() const { return windows_run_; }
  int64_t segment_bases() const { return options_.segment_windows * workers_.geometry().window; }
  int64_t lead_bases() const { return options_.lead_windows * workers_.geometry().window; }

 private:
  struct Allele {
    size_t variant = 0, alt = 0;
    int64_t position = 0;  // contig coordinate of the variant base
    int ref = 0, alt_base = 0;
  };
  // All sites of one segment of one contig, read by a forward and a reverse lane.
  struct Segment {
    std::string contig;
    int64_t index = 0;
    std::vector<Allele> alleles;
    std::vector<int64_t> positions;  // sorted, distinct (contig coordinates)
    int64_t forward_begin = 0;       // contig coordinate of the forward lane's first base
    int64_t reverse_last = 0;        // contig coordinate of the reverse lane's first base
    size_t forward = 0, reverse = 0;  // tickets
  };

  LaneWorkers& workers_;
  SiteLlrOptions options_;
  int64_t windows_run_ = 0;
  std::vector<SiteScore> scores_;   // of the planned variants
  std::vector<Segment> segments_;
};

}  // namespace germ::score
