#include "stats/outlier_report.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "util/error.hpp"

namespace germ::stats {

namespace {
constexpr int kLastBin = ActivationHistogram::kBins - 1;
}  // namespace

double ActivationHistogram::lower_edge(int bin) {
  if (bin <= 0) return 0.0;
  if (bin >= kLastBin) return std::pow(10.0, kMaxExponent);
  // (bin - 1) / kBinsPerDecade is exact at decade boundaries, so pow(10, integer) is exact too.
  return std::pow(10.0, kMinExponent + static_cast<double>(bin - 1) / kBinsPerDecade);
}

double ActivationHistogram::upper_edge(int bin) {
  if (bin >= kLastBin) return std::numeric_limits<double>::infinity();
  return lower_edge(bin + 1);
}

int ActivationHistogram::bin_of(double magnitude) {
  // The negated comparison also sends NaN to bin 0 rather than to an arbitrary bin.
  if (!(magnitude >= lower_edge(1))) return 0;
  if (magnitude >= lower_edge(kLastBin)) return kLastBin;
  int bin = 1 + static_cast<int>(std::floor((std::log10(magnitude) - kMinExponent) * kBinsPerDecade));
  // log10 and pow can disagree by an ulp at a boundary; the edges are the definition, so the
  // estimate is corrected against them and bin_of(lower_edge(i)) == i holds exactly.
  bin = std::clamp(bin, 1, kLastBin - 1);
  while (bin > 1 && magnitude < lower_edge(bin)) --bin;
  while (bin < kLastBin - 1 && magnitude >= upper_edge(bin)) ++bin;
  return bin;
}

void ActivationHistogram::merge(const ActivationHistogram& other) {
  if (other.counts.size() != counts.size())
    throw Error("activation histogram", "cannot merge histograms with different bin counts");
  for (size_t bin = 0; bin < counts.size(); ++bin) counts[bin] += other.counts[bin];
}

uint64_t ActivationHistogram::total() const {
  return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

// A report without layers has observed nothing; 0 keeps its summaries printable.
double OutlierReport::average_kurtosis() const {
  if (layers.empty()) return 0.0;
  double sum = 0;
  for (const LayerStats& layer : layers)
    sum += layer.ffn_output.mean_kurtosis + layer.layer_output.mean_kurtosis;
  return sum / (2.0 * static_cast<double>(layers.size()));
}

double OutlierReport::max_inf_norm() const {
  double largest = 0;
  for (const LayerStats& layer : layers)
    largest = std::max({largest, layer.ffn_output.mean_inf_norm, layer.layer_output.mean_inf_norm});
  return largest;
}

double OutlierReport::global_max_abs() const {
  double largest = 0;
  for (const LayerStats& layer : layers)
    largest = std::max({largest, layer.ffn_output.max_abs, layer.layer_output.max_abs});
  return largest;
}

double percent_change(double before, double after) {
  if (before == 0) return std::numeric_limits<double>::quiet_NaN();
  return 100.0 * (after - before) / before;
}

}  // namespace germ::stats
