#include "model/attention.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <torch/version.h>

#include "model/sample_dropout.hpp"

namespace germ::model {

at::Tensor softmax1(const at::Tensor& scores, int64_t dim) {
  // m >= 0 also bounds exp(-m) <= 1, the implicit zero key's term.
  at::Tensor m = std::get<0>(scores.max(dim, /*keepdim=*/true)).clamp_min(0);
  at::Tensor e = (scores - m).exp();
  return e / (e.sum(dim, /*keepdim=*/true) + (-m).exp());
}

at::Tensor normalise_scores(const at::Tensor& scores, Normaliser normaliser) {
  return normaliser == Normaliser::kSoftmax1 ? softmax1(scores, -1) : at::softmax(scores, -1);
}

at::Tensor alibi_slopes(int64_t heads, double max_bias) {
  auto power_of_two_slopes = [max_bias](int64_t n) {
    std::vector<float> s(n);
    double start = std::pow(2.0, -max_bias / n);
    for (int64_t i = 0; i < n; ++i) s[i] = static_cast<float>(std::pow(start, i + 1));
    return s;
  };
  int64_t closest = 1;
  while (closest * 2 <= heads) closest *= 2;
  std::vector<float> slopes = power_of_two_slopes(closest);
  if (closest < heads) {
    std::vector<float> extra = power_of_two_slopes(2 * closest);
    for (size_t i = 0; i < extra.size() && static_cast<int64_t>(slopes.size()) < heads; i += 2)
      slopes.push_back(extra[i]);
  }
  return at::tensor(slopes, at::kFloat);
}

at::Tensor alibi_bias(const at::Tensor& slopes, const at::Tensor& query_positions,
                      const at::Tensor& key_positions, bool causal) {
  at::Tensor distance = query_positions.to(at::kFloat).unsqueeze(1) -
                        key_positions.to(at::kFloat).unsqueeze(0);  // [Lq, Lk]
  at::Tensor bias = -slopes.view({-1, 1, 1}) * distance.abs().unsqueeze(0);
  if (causal) bias = bias.masked_fill((distance < 0).unsqueeze(0), -std::numeric_limits<float>::infinity());
  return bias;
}

at::Tensor alibi_bias(const at::Tensor& slopes, int64_t length, bool causal) {
  at::Tensor positions = at::arange(length, at::kLong);
  return alibi_bias(slopes, positions, positions, causal);
}

at::Tensor padding_bias(const at::Tensor& attention_mask, at::ScalarType dtype) {
  at::Tensor keep = attention_mask.to(at::kBool).unsqueeze(1).unsqueeze(1);
  return at::zeros(keep.sizes(), at::TensorOptions().dtype(dtype).device(attention_mask.device()))
      .masked_fill(keep.logical_not(), -std::numeric_limits<float>::infinity());
}

at::Tensor attend_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& bias, Normaliser normaliser) {
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (bias.defined()) scores = scores + bias;
  return at::matmul(normalise_scores(scores, normaliser), v);
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& bias, Normaliser normaliser, double dropout, bool training,
                  at::Tensor* probabilities) {
#if TORCH_VERSION_MAJOR >= 2
  // Fused path: Softmax_1 is softmax with one extra key of score 0 and value 0.
  if (!probabilities) {
    at::Tensor key = k, value = v, mask = bias;
    if (normaliser == Normaliser::kSoftmax1) {
      auto zero_row = [](const at::Tensor& t) {
        auto sizes = t.sizes().vec();
        sizes[sizes.size() - 2] = 1;
        return at::cat({t, at::zeros(sizes, t.options())}, -2);
      };
      key = zero_row(k);
      value = zero_row(v);
      auto bias_sizes = at::infer_size(bias.defined() ? bias.sizes() : at::IntArrayRef{1},
                                       {q.size(0), q.size(1), q.size(2), k.size(2)});
      at::Tensor full = bias.defined() ? bias.expand(bias_sizes) : at::zeros(bias_sizes, q.options());
      mask = at::cat({full, at::zeros({bias_sizes[0], bias_sizes[1], bias_sizes[2], 1}, full.options())}, -1);
    }
    return at::scaled_dot_product_attention(q, key, value, mask.defined() ? mask.to(q.dtype()) : mask,
                                            training ? dropout : 0.0);
  }
#endif
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)).mul_(scale);
  if (bias.defined()) scores.add_(bias);
  at::Tensor weights = normalise_scores(scores, normaliser);
  if (probabilities) *probabilities = weights;
  if (training && dropout > 0) weights = sample_dropout(weights, dropout, true);
  return at::matmul(weights, v);
}

}  // namespace germ::model
