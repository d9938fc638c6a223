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

struct SiteAllele {
  size_t variant = 0, alt = 0;
  int64_t position = 0;  // contig coordinate of the variant base
  int ref = 0, alt_base = 0;
};

// All sites of one segment of one contig, read by a forward and a reverse lane.
struct SegmentSites {
  std::string contig;
  int64_t segment = 0;
  std::vector<SiteAllele> alleles;
  std::vector<int64_t> positions;  // sorted, distinct (contig coordinates)
};

// Index of a contig position in a lane's distribution_at list.
size_t slot_of(const std::vector<int64_t>& lane_positions, int64_t lane_position) {
  return static_cast<size_t>(std::lower_bound(lane_positions.begin(), lane_positions.end(), lane_position) -
                             lane_positions.begin());
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
  const int64_t segment = segment_bases(), lead = lead_bases();
  std::vector<SiteScore> scores(variants.size());
  std::map<std::pair<std::string, int64_t>, SegmentSites> segments;
  for (size_t v = 0; v < variants.size(); ++v) {
    const Variant& variant = variants[v];
    scores[v].forward.assign(variant.alts.size(), kNoValue);
    scores[v].reverse = scores[v].mean = scores[v].forward;
    if (!reference.has_contig(variant.contig) || variant.position < 0 ||
        variant.position >= reference.contig_length(variant.contig))
      continue;
    for (size_t a = 0; a < variant.alts.size(); ++a) {
      if (!is_site_variant(variant.ref, variant.alts[a])) continue;
      SegmentSites& sites = segments[{variant.contig, variant.position / segment}];
      sites.contig = variant.contig, sites.segment = variant.position / segment;
      sites.alleles.push_back({v, a, variant.position, base_column(variant.ref[0]), base_column(variant.alts[a][0])});
      sites.positions.push_back(variant.position);
    }
  }

  // Two lanes per segment: forward from `lead` before the segment to its last site, reverse
  // (read right to left) from `lead` past the segment end to its first site.
  std::vector<LaneTask> tasks;
  std::vector<int64_t> lane_origin;  // contig coordinate of each lane's index 0
  for (auto& [key, sites] : segments) {
    std::sort(sites.positions.begin(), sites.positions.end());
    sites.positions.erase(std::unique(sites.positions.begin(), sites.positions.end()), sites.positions.end());
    const int64_t length = reference.contig_length(sites.contig);
    const int64_t first = sites.positions.front(), last = sites.positions.back();
    LaneTask forward;
    const int64_t forward_begin = std::max<int64_t>(0, sites.segment * segment - lead);
    forward.bases = io::normalize_bases(reference.fetch(sites.contig, forward_begin, last + 1));
    for (int64_t p : sites.positions) forward.distribution_at.push_back(p - forward_begin);
    LaneTask reverse;
    const int64_t reverse_end = std::min(length, (sites.segment + 1) * segment + lead);
    reverse.bases = io::reverse_complement(io::normalize_bases(reference.fetch(sites.contig, first, reverse_end)));
    for (auto p = sites.positions.rbegin(); p != sites.positions.rend(); ++p)
      reverse.distribution_at.push_back(reverse_end - 1 - *p);
    tasks.push_back(std::move(forward)), lane_origin.push_back(forward_begin);
    tasks.push_back(std::move(reverse)), lane_origin.push_back(reverse_end - 1);
  }
  std::vector<std::vector<int64_t>> lane_positions(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) lane_positions[t] = tasks[t].distribution_at;
  std::vector<std::string> forward_bases;  // to check REF against the lane's own reading
  for (size_t t = 0; t < tasks.size(); t += 2) forward_bases.push_back(tasks[t].bases);
  std::vector<LaneTaskResult> results = workers_.run(std::move(tasks), options_.lanes, &windows_run_);

  size_t lane = 0;
  for (const auto& [key, sites] : segments) {
    const LaneTaskResult& forward = results[lane];
    const LaneTaskResult& reverse = results[lane + 1];
    const int64_t forward_begin = lane_origin[lane], reverse_last = lane_origin[lane + 1];
    const std::string& bases = forward_bases[lane / 2];
    for (const SiteAllele& site : sites.alleles) {
      if (base_column(bases[site.position - forward_begin]) != site.ref) continue;  // REF mismatch: flagged by the caller
      SiteScore& score = scores[site.variant];
      const auto& f = forward.distributions[slot_of(lane_positions[lane], site.position - forward_begin)];
      const auto& r = reverse.distributions[slot_of(lane_positions[lane + 1], reverse_last - site.position)];
      // On the reverse strand the alleles are complemented: column c becomes 3 - c.
      const float fv = difference(f, site.alt_base, site.ref);
      const float rv = difference(r, 3 - site.alt_base, 3 - site.ref);
      score.forward[site.alt] = fv, score.reverse[site.alt] = rv;
      score.mean[site.alt] = fv != fv ? rv : rv != rv ? fv : 0.5f * (fv + rv);
    }
    lane += 2;
  }
  return scores;
}

}  // namespace germ::score
