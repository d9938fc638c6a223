#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace germ::stats {

// Counts of |x| in log-spaced bins: bin 0 is [0, 10^kMinExponent), the last bin is
// [10^kMaxExponent, inf), the ones between split each decade into kBinsPerDecade. A log-spaced
// magnitude axis keeps both the bulk near 0.1-1 and the outlier tail at 10-1000 visible.
struct ActivationHistogram {
  static constexpr int kMinExponent = -3;
  static constexpr int kMaxExponent = 4;
  static constexpr int kBinsPerDecade = 10;
  static constexpr int kBins = (kMaxExponent - kMinExponent) * kBinsPerDecade + 2;

  std::vector<uint64_t> counts = std::vector<uint64_t>(kBins, 0);

  // Lower and upper bound of bin i (upper of the last bin is +inf, lower of bin 0 is 0).
  static double lower_edge(int bin);
  static double upper_edge(int bin);
  static int bin_of(double magnitude);
  void add(double magnitude) { ++counts[bin_of(magnitude)]; }
  void merge(const ActivationHistogram& other);
  uint64_t total() const;
};

// One observed tensor (FFN output or layer output) of one layer, over all tokens seen.
struct TensorStats {
  double mean_kurtosis = 0;  // mean over tokens of mean((x-mu)^4)/std^4 over hidden features
  double mean_inf_norm = 0;  // mean over tokens of max_f |x_f|
  double max_abs = 0;        // max |x| over every token and feature
  int64_t tokens = 0;
};

struct LayerStats {
  TensorStats ffn_output;    // FFN branch output, before the residual add
  TensorStats layer_output;  // post-LN output (post-LN models) or residual stream (pre-LN)
  // Softmax_1 only: mean over query tokens of 1 - sum_j p_ij, per head (empty for softmax).
  std::vector<double> null_mass_per_head;
};

struct OutlierReport {
  std::string label;       // what the user called the model (file name)
  std::string normaliser;  // "softmax" or "softmax1"
  std::vector<LayerStats> layers;
  ActivationHistogram histogram;  // every value of every observed tensor
  int64_t sequences = 0;
  int64_t tokens = 0;  // tokens per tensor (padding excluded)

  // The paper's summaries: mean kurtosis over the 2L tensors, and the max over the 2L tensors
  // of the token-averaged infinity norm ("max inf-norm").
  double average_kurtosis() const;
  double max_inf_norm() const;
  double global_max_abs() const;
};

// 100 * (after - before) / before: negative is a reduction.
double percent_change(double before, double after);

}  // namespace germ::stats
