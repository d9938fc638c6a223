#include "stats/outlier_collector.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace germ::stats {

at::Tensor token_kurtosis(const at::Tensor& activations) {
  at::Tensor x = activations.to(at::kDouble);
  at::Tensor centred = x - x.mean(-1, true);
  at::Tensor second = centred.pow(2).mean(-1);
  at::Tensor fourth = centred.pow(4).mean(-1);
  at::Tensor kurtosis = fourth / second.pow(2);
  // A constant token has 0/0; say so with NaN rather than pretend it has a value.
  return at::where(second > 0, kurtosis, at::full_like(kurtosis, std::nan("")));
}

at::Tensor token_inf_norm(const at::Tensor& activations) {
  return activations.to(at::kDouble).abs().amax(-1);
}

OutlierCollector::OutlierCollector(int64_t layers, int64_t heads, bool collect_null_mass)
    : ffn_(layers), output_(layers), null_mass_sum_(layers, std::vector<double>(heads, 0.0)),
      null_mass_queries_(layers, 0), collect_null_mass_(collect_null_mass) {}

void OutlierCollector::set_batch_mask(const at::Tensor& attention_mask) {
  at::Tensor mask = attention_mask.to(at::kBool);
  valid_rows_ = mask.reshape({-1}).nonzero().reshape({-1});
  query_mask_ = mask.to(at::kFloat).unsqueeze(1);
}

bool OutlierCollector::wants(model::ActivationSite site) const {
  return site != model::ActivationSite::kAttentionProbabilities || collect_null_mass_;
}

void OutlierCollector::accumulate(Accumulator& into, const at::Tensor& value) {
  at::Tensor rows = value.detach().reshape({-1, value.size(-1)});
  if (valid_rows_.defined()) rows = rows.index_select(0, valid_rows_);
  if (rows.size(0) == 0) return;
  at::Tensor kurtosis = token_kurtosis(rows);
  at::Tensor defined = ~kurtosis.isnan();
  into.kurtosis_sum += kurtosis.masked_select(defined).sum().item<double>();
  into.kurtosis_tokens += defined.sum().item<int64_t>();
  at::Tensor inf_norm = token_inf_norm(rows);
  into.inf_norm_sum += inf_norm.sum().item<double>();
  into.max_abs = std::max(into.max_abs, inf_norm.max().item<double>());
  into.tokens += rows.size(0);

  // Histogram bins computed in one vectorised pass: bin = 1 + floor((log10|x| - min) * per
  // decade), clamped so that tiny values land in bin 0 and huge ones in the last bin.
  at::Tensor magnitude = rows.abs().to(at::kDouble).reshape({-1});
  at::Tensor position = (magnitude.clamp_min(1e-300).log10() - ActivationHistogram::kMinExponent) *
                        ActivationHistogram::kBinsPerDecade;
  at::Tensor bins = (position.floor() + 1).clamp(0, ActivationHistogram::kBins - 1).to(at::kLong);
  at::Tensor counts = at::bincount(bins, {}, ActivationHistogram::kBins);
  auto view = counts.accessor<int64_t, 1>();
  for (int b = 0; b < ActivationHistogram::kBins; ++b) histogram_.counts[b] += view[b];
}

void OutlierCollector::observe(int64_t layer, model::ActivationSite site, const at::Tensor& value) {
  if (layer < 0 || layer >= static_cast<int64_t>(ffn_.size()))
    throw Error("stats", "observed layer " + std::to_string(layer) + " of a model with " +
                             std::to_string(ffn_.size()) + " layers");
  ++observations_;
  switch (site) {
    case model::ActivationSite::kFfnOutput:
      accumulate(ffn_[layer], value);
      break;
    case model::ActivationSite::kLayerOutput:
      accumulate(output_[layer], value);
      break;
    case model::ActivationSite::kAttentionProbabilities: {
      // [B, H, Lq, Lk]: what each query puts on "nothing" is 1 minus its row sum.
      at::Tensor null_mass = 1.0 - value.detach().to(at::kFloat).sum(-1);  // [B, H, Lq]
      if (query_mask_.defined()) null_mass = null_mass * query_mask_;
      at::Tensor per_head = null_mass.sum(at::IntArrayRef{0, 2}).to(at::kDouble);
      auto& sums = null_mass_sum_[layer];
      if (per_head.size(0) != static_cast<int64_t>(sums.size())) sums.assign(per_head.size(0), 0.0);
      for (int64_t h = 0; h < per_head.size(0); ++h) sums[h] += per_head[h].item<double>();
      null_mass_queries_[layer] +=
          query_mask_.defined() ? query_mask_.sum().item<int64_t>() : value.size(0) * value.size(2);
      break;
    }
  }
}

void OutlierCollector::finish(OutlierReport& report) const {
  auto summarise = [](const Accumulator& a) {
    TensorStats s;
    s.mean_kurtosis = a.kurtosis_tokens ? a.kurtosis_sum / a.kurtosis_tokens : 0.0;
    s.mean_inf_norm = a.tokens ? a.inf_norm_sum / a.tokens : 0.0;
    s.max_abs = a.max_abs;
    s.tokens = a.tokens;
    return s;
  };
  report.layers.clear();
  for (size_t i = 0; i < ffn_.size(); ++i) {
    LayerStats layer;
    layer.ffn_output = summarise(ffn_[i]);
    layer.layer_output = summarise(output_[i]);
    if (collect_null_mass_ && null_mass_queries_[i] > 0)
      for (double sum : null_mass_sum_[i]) layer.null_mass_per_head.push_back(sum / null_mass_queries_[i]);
    report.layers.push_back(std::move(layer));
  }
  report.histogram = histogram_;
  report.tokens = ffn_.empty() ? 0 : ffn_[0].tokens;
}

}  // namespace germ::stats
