#include "score/site_llr.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <utility>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();

// Column of a base in LaneTaskResult::distributions (A, C, G, T), -1 for anything else.
int base_column(char base) {
  switch (std::toupper(static_cast<unsigned char>(base))) {
    case 'A': return 0;
    case 'C': return 1;
    case 'G': return 2;
    case 'T': return 3;
    default: return -1;
  }
}

float difference(const std::array<float, 4>& log_probs, int alt, int ref) { return log_probs[alt] - log_probs[ref]; }

}  // namespace

bool is_site_variant(const std::string& ref, const std::string& alt) {
  return ref.size() == 1 && alt.size() == 1 && base_column(ref[0]) >= 0 && base_column(alt[0]) >= 0 &&
         base_column(ref[0]) != base_column(alt[0]);
}

SiteLlrScorer::SiteLlrScorer(LaneWorkers& workers, SiteLlrOptions options) : workers_(workers), options_(options) {
  if (options_.segment_windows < 1) throw Error("--segment", "must be at least 1 window");
  if (options_.lead_windows < 0) options_.lead_windows = workers_.geometry().warmup_windows();
}

std::vector<SiteScore> SiteLlrScorer::score(const std::vector<Variant>& variants, const io::IndexedFasta& reference) {
  SharedLanes lanes;
  plan(variants, reference, lanes);
  lanes.run(workers_, options_.lanes, &windows_run_);
  return collect(lanes);
}

void SiteLlrScorer::plan(const std::vector<Variant>& variants, const io::IndexedFasta& reference, SharedLanes& lanes) {
  const int64_t segment = segment_bases(), lead = lead_bases();
  scores_.assign(variants.size(), {});
  std::map<std::pair<std::string, int64_t>, Segment> segments;
  for (size_t v = 0; v < variants.size(); ++v) {
    const Variant& variant = variants[v];
    scores_[v].forward.assign(variant.alts.size(), kNoValue);
    scores_[v].reverse = scores_[v].mean = scores_[v].forward;
    if (!reference.has_contig(variant.contig) || variant.position < 0 ||
        variant.position >= reference.contig_length(variant.contig))
      continue;
    for (size_t a = 0; a < variant.alts.size(); ++a) {
      if (!is_site_variant(variant.ref, variant.alts[a])) continue;
      Segment& sites = segments[{variant.contig, variant.position / segment}];
      sites.contig = variant.contig, sites.index = variant.position / segment;
      sites.alleles.push_back({v, a, variant.position, base_column(variant.ref[0]), base_column(variant.alts[a][0])});
      sites.positions.push_back(variant.position);
    }
  }

  // Two lanes per segment: forward from `lead` before the segment to its last site, reverse
  // (read right to left) from `lead` past the segment end to its first site.
  segments_.clear();
  for (auto& [key, sites] : segments) {
    std::sort(sites.positions.begin(), sites.positions.end());
    sites.positions.erase(std::unique(sites.positions.begin(), sites.positions.end()), sites.positions.end());
    const int64_t length = reference.contig_length(sites.contig);
    const int64_t first = sites.positions.front(), last = sites.positions.back();
    LaneTask forward;
    sites.forward_begin = std::max<int64_t>(0, sites.index * segment - lead);
    forward.bases = io::normalize_bases(reference.fetch(sites.contig, sites.forward_begin, last + 1));
    for (int64_t p : sites.positions) forward.distribution_at.push_back(p - sites.forward_begin);
    LaneTask reverse;
    const int64_t reverse_end = std::min(length, (sites.index + 1) * segment + lead);
    sites.reverse_last = reverse_end - 1;
    reverse.bases = io::reverse_complement(io::normalize_bases(reference.fetch(sites.contig, first, reverse_end)));
    for (auto p = sites.positions.rbegin(); p != sites.positions.rend(); ++p)
      reverse.distribution_at.push_back(sites.reverse_last - *p);
    sites.forward = lanes.add({sites.contig, false, sites.forward_begin}, std::move(forward));
    sites.reverse = lanes.add({sites.contig, true, sites.reverse_last}, std::move(reverse));
    segments_.push_back(std::move(sites));
  }
}

std::vector<SiteScore> SiteLlrScorer::collect(const SharedLanes& lanes) {
  for (const Segment& sites : segments_) {
    const LaneTaskResult forward = lanes.result(sites.forward), reverse = lanes.result(sites.reverse);
    const LaneTask& forward_task = lanes.task(sites.forward);
    const LaneTask& reverse_task = lanes.task(sites.reverse);
    for (const Allele& site : sites.alleles) {
      // REF mismatch (against the lane's own reading): flagged by the caller.
      if (base_column(forward_task.bases[site.position - sites.forward_begin]) != site.ref) continue;
      SiteScore& score = scores_[site.variant];
      const auto& f = forward.distributions[slot_of(forward_task.distribution_at, site.position - sites.forward_begin)];
      const auto& r = reverse.distributions[slot_of(reverse_task.distribution_at, sites.reverse_last - site.position)];
      // On the reverse strand the alleles are complemented: column c becomes 3 - c.
      const float fv = difference(f, site.alt_base, site.ref);
      const float rv = difference(r, 3 - site.alt_base, 3 - site.ref);
      score.forward[site.alt] = fv, score.reverse[site.alt] = rv;
      score.mean[site.alt] = fv != fv ? rv : rv != rv ? fv : 0.5f * (fv + rv);
    }
  }
  segments_.clear();
  return std::move(scores_);
}

}  // namespace germ::score
