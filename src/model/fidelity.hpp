#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "model/focus.hpp"

namespace germ::model {

// How far FOCUS next-base distributions are from the uncompressed model's, summed over
// positions (FOCUS paper metrics; docs/focus.md). Distributions are over A, C, G, T.
struct FidelityTotals {
  double l1 = 0, l2 = 0, hellinger = 0, jensen_shannon = 0, kl = 0, abs_dp = 0;
  int64_t positions = 0;      // positions in all sums but abs_dp
  int64_t observed = 0;       // positions with an observed A/C/G/T (abs_dp)

  // base_log_probs, focus_log_probs [N, 4]; observed [N] int64 base index, -1 for none.
  void add(const at::Tensor& base_log_probs, const at::Tensor& focus_log_probs, const at::Tensor& observed);
  FidelityTotals& operator+=(const FidelityTotals& other);
  double mean(double total) const { return positions ? total / positions : 0.0; }
  double mean_abs_dp() const { return observed ? abs_dp / observed : 0.0; }
  // "name value" lines: mean_l1, mean_l2, mean_hellinger, mean_js, mean_kl, mean_abs_dp, positions.
  std::string report() const;
};

// The uncompressed model as a window runner: a KV cache of every ordinary token of sequences
// up to `length` bases, equal to one causal forward over the whole sequence (tested) while
// keeping each attention tile small.
WindowRunner uncompressed_runner(GermModel model, int64_t window, int64_t length);

// Compares `runner` (FOCUS or any memory kind) with the uncompressed model (full causal
// attention over each whole sequence) on sequences of equal length, batched as lanes. Only
// positions from the second window on are counted: in the first window both see the same bases.
FidelityTotals evaluate_fidelity(WindowRunner& runner, const std::vector<std::string>& sequences,
                                 int64_t lanes = 4);

// Helpers shared with FOCUS training.
at::Tensor nucleotide_ids(const std::vector<std::string>& sequences);      // [B, L] token ids
at::Tensor observed_bases(const std::vector<std::string>& sequences);      // [B, L] 0-3, -1 for N
// Window `w` of sequences as runner input: ids [B, context + window] and valid_from.
at::Tensor window_ids(const at::Tensor& ids, const FocusGeometry& g, int64_t window_index,
                      std::vector<int64_t>& valid_from);

}  // namespace germ::model
