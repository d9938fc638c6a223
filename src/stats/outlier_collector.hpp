#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "model/transformer.hpp"
#include "stats/outlier_report.hpp"

namespace germ::stats {

// Per-token statistics of activations [N, F] over the F hidden features, in float64:
// kurtosis mean((x-mu)^4) / std^4 with the population std (not excess: Gaussian = 3), and the
// infinity norm max_f |x_f|. Tokens whose features are all equal have no kurtosis; they come
// back as NaN and the collector leaves them out of the mean.
at::Tensor token_kurtosis(const at::Tensor& activations);
at::Tensor token_inf_norm(const at::Tensor& activations);

// Observes a model's forward passes and accumulates the GERM paper's outlier statistics per
// layer: the FFN output (before the residual) and the layer output, plus the Softmax_1
// "attend to nothing" mass per head. Padding positions are excluded through set_batch_mask().
class OutlierCollector : public model::ActivationObserver {
 public:
  OutlierCollector(int64_t layers, int64_t heads, bool collect_null_mass);

  // [B, L] with 1 for tokens and 0 for padding; must be called before each forward pass.
  void set_batch_mask(const at::Tensor& attention_mask);

  bool wants(model::ActivationSite site) const override;
  void observe(int64_t layer, model::ActivationSite site, const at::Tensor& value) override;

  // Observed tensors so far (2 per layer per forward pass, plus attention when wanted).
  int64_t observations() const { return observations_; }
  // Fills `report`'s layers, histogram and token count from what was observed.
  void finish(OutlierReport& report) const;

 private:
  struct Accumulator {
    double kurtosis_sum = 0;
    int64_t kurtosis_tokens = 0;
    double inf_norm_sum = 0;
    double max_abs = 0;
    int64_t tokens = 0;
  };
  void accumulate(Accumulator& into, const at::Tensor& value);

  at::Tensor valid_rows_;  // indices into the flattened [B*L] positions that are tokens
  at::Tensor query_mask_;  // [B, 1, L] float, for the attention null mass
  std::vector<Accumulator> ffn_, output_;
  std::vector<std::vector<double>> null_mass_sum_;
  std::vector<int64_t> null_mass_queries_;
  ActivationHistogram histogram_;
  bool collect_null_mass_;
  int64_t observations_ = 0;
};

}  // namespace germ::stats
