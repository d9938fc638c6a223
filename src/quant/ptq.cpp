#include "quant/ptq.hpp"

#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "quant/omniquant.hpp"
#include "util/error.hpp"

namespace germ::quant {
namespace {

struct LayerLinears {
  std::string qkv, dense, ffn_in, ffn_out;
};

LayerLinears layer_names(int64_t i, const model::ModelConfig& c) {
  std::string p = "encoder.layer." + std::to_string(i) + ".";
  return {p + "attention.self.Wqkv", p + "attention.output.dense",
          p + (c.ffn == model::FfnKind::kGeglu ? "mlp.gated_layers" : "mlp.dense"), p + "mlp.wo"};
}

model::GermLinear find_linear(model::GermModel& net, const std::string& name) {
  for (const auto& l : quantizable_linears(net))
    if (l.name == name) return l.linear;
  throw Error("quantize", "the model has no quantizable linear layer '" + name + "'");
}

double quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  size_t k = static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

// Error of the quantized product against the fp32 product of the transformed rows.
double output_error(const at::Tensor& rows, const at::Tensor& weight_fp, const at::Tensor& weight_deq,
                    const ActivationQuantizer& q) {
  at::Tensor reference = at::matmul(rows, weight_fp.t());
  at::Tensor quantized = at::matmul(dequantize_rows(quantize_rows(rows, q)), weight_deq.t());
  return (quantized - reference).pow(2).mean().item<double>();
}

// Outlier Suppression's token-wise clipping: the coarse stage tries ranges given by
// quantiles of the per-token maxima/minima, the fine stage a grid between the best coarse
// candidate's neighbours; the loss is the layer's output error on the kept calibration rows.
ActivationQuantizer token_wise_clipping(const InputStatistics& s, const at::Tensor& weight_fp,
                                        const at::Tensor& weight_deq, int bits, std::string& chosen) {
  const std::vector<double> coarse{1.0, 0.99999, 0.9999, 0.999, 0.995, 0.99, 0.98, 0.95, 0.9, 0.8};
  auto range_at = [&](double a) {
    return std::pair<double, double>{quantile(s.token_min, 1.0 - a), quantile(s.token_max, a)};
  };
  ActivationQuantizer q;
  q.scheme = ActivationScheme::kStaticPerTensor;
  q.bits = bits;
  auto loss_of = [&](std::pair<double, double> r) {
    ActivationQuantizer t = q;
    set_static_range(t, r.first, r.second);
    return output_error(s.sample_rows, weight_fp, weight_deq, t);
  };
  std::vector<double> losses;
  for (double a : coarse) losses.push_back(loss_of(range_at(a)));
  size_t best = std::min_element(losses.begin(), losses.end()) - losses.begin();
  auto best_range = range_at(coarse[best]);
  double best_loss = losses[best];
  auto lo_n = range_at(coarse[best == 0 ? 0 : best - 1]), hi_n = range_at(coarse[std::min(best + 1, coarse.size() - 1)]);
  for (int step = 0; step <= 10; ++step) {
    double t = step / 10.0;
    std::pair<double, double> r{lo_n.first + t * (hi_n.first - lo_n.first), lo_n.second + t * (hi_n.second - lo_n.second)};
    double loss = loss_of(r);
    if (loss < best_loss) best_loss = loss, best_range = r;
  }
  set_static_range(q, best_range.first, best_range.second);
  std::ostringstream text;
  text << "[" << best_range.first << ", " << best_range.second << "] of [" << s.min << ", " << s.max << "]";
  chosen = text.str();
  return q;
}

// The LayerNorm whose output a linear reads (its gamma is what Outlier Suppression migrates).
torch::nn::LayerNorm preceding_norm(model::GermModel& net, int64_t layer, bool for_qkv) {
  const bool post = net->config().norm == model::NormPlacement::kPost;
  auto& l = net->layers[layer];
  if (for_qkv) {
    if (!post) return l->attention_norm;
    return layer == 0 ? net->embedding_norm : net->layers[layer - 1]->ffn_norm;
  }
  return post ? l->attention_norm : l->ffn_norm;
}

QuantizedModel quantize_minmax_or_os(model::GermModel& net, const std::vector<std::vector<int64_t>>& calibration,
                                     const PtqOptions& o) {
  QuantizedModel out{o, {}, {}};
  CalibrationOptions copt = o.calibration;
  const bool os = o.method == Method::kOutlierSuppression;
  const auto& c = net->config();
  if (os) {
    for (int64_t i = 0; i < c.layers; ++i) {
      LayerLinears n = layer_names(i, c);
      for (bool qkv : {true, false}) {
        torch::nn::LayerNorm norm = preceding_norm(net, i, qkv);
        if (!norm) continue;
        at::Tensor gamma = norm->weight.detach().to(at::kFloat);
        // A vanishing gamma would blow x / gamma up: keep its sign, bound its magnitude.
        at::Tensor floor = at::where(gamma >= 0, at::full_like(gamma, 1e-5), at::full_like(gamma, -1e-5));
        at::Tensor safe = at::where(gamma.abs() < 1e-5, floor, gamma);
        copt.inv_smooth[qkv ? n.qkv : n.ffn_in] = safe.reciprocal();
      }
    }
  }
  auto stats = calibrate(net, calibration, copt);
  for (const auto& l : quantizable_linears(net)) {
    const InputStatistics& s = stats.at(l.name);
    at::Tensor inv_smooth = copt.inv_smooth.count(l.name) ? copt.inv_smooth.at(l.name) : at::Tensor();
    ActivationQuantizer act;
    act.scheme = ActivationScheme::kStaticPerTensor;
    act.bits = o.bits.activation;
    LinearQuantization q = quantize_linear(l.name, l.linear->weight, o.bits.weight, o.per_channel_weights, act, {},
                                           inv_smooth);
    if (os) {
      at::Tensor w_fp = inv_smooth.defined() ? l.linear->weight.detach() * inv_smooth.reciprocal() : l.linear->weight.detach();
      std::string chosen;
      q.activation = token_wise_clipping(s, w_fp, dequantize_weight(q.weight), o.bits.activation, chosen);
      out.details["clip." + l.name] = chosen;
    } else {
      set_static_range(q.activation, s.min, s.max);
    }
    out.layers.push_back(std::move(q));
  }
  return out;
}

QuantizedModel quantize_smoothquant(model::GermModel& net, const std::vector<std::vector<int64_t>>& calibration,
                                    const PtqOptions& o) {
  QuantizedModel out{o, {}, {}};
  auto stats = calibrate(net, calibration, o.calibration);
  const auto& c = net->config();
  std::map<std::string, at::Tensor> factors;
  for (const auto& l : quantizable_linears(net))
    factors[l.name] = smoothing_factors(stats.at(l.name).channel_absmax, l.linear->weight.detach(), o.alpha);
  // Fold where the preceding operation is linear in the channel: the V rows of Wqkv feed
  // attention.output.dense (the null key of Softmax_1 has a zero value, so scaling V scales
  // the context), the value half of GeGLU feeds mlp.wo. LayerNorm-fed layers keep the
  // division in their quantizer: in post-LN the normalised output is also the residual.
  std::map<std::string, bool> folded;
  {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < c.layers; ++i) {
      LayerLinears n = layer_names(i, c);
      auto& layer = net->layers[i];
      at::Tensor s_dense = factors.at(n.dense);
      using torch::indexing::Slice;
      layer->wqkv->weight.index({Slice(2 * c.hidden, 3 * c.hidden)}).div_(s_dense.unsqueeze(1));
      if (layer->wqkv->bias.defined()) layer->wqkv->bias.index({Slice(2 * c.hidden, 3 * c.hidden)}).div_(s_dense);
      layer->attention_dense->weight.mul_(s_dense);
      folded[n.dense] = true;
      if (c.ffn == model::FfnKind::kGeglu) {
        at::Tensor s_out = factors.at(n.ffn_out);
        layer->ffn_in->weight.index({Slice(c.intermediate, 2 * c.intermediate)}).div_(s_out.unsqueeze(1));
        layer->ffn_out->weight.mul_(s_out);
        folded[n.ffn_out] = true;
      }
    }
  }
  double before = 0, after = 0;
  for (const auto& l : quantizable_linears(net)) {
    at::Tensor s = factors.at(l.name);
    ActivationQuantizer act;
    act.scheme = ActivationScheme::kDynamicPerTokenSymmetric;
    act.bits = o.bits.activation;
    // A folded layer's input already arrives divided by s and its weight is already W diag(s).
    at::Tensor weight = l.linear->weight.detach();
    LinearQuantization q = folded.count(l.name)
                               ? quantize_linear(l.name, weight, o.bits.weight, true, act)
                               : quantize_linear(l.name, weight, o.bits.weight, true, act, {}, s.reciprocal());
    const at::Tensor& absmax = stats.at(l.name).channel_absmax;
    before = std::max(before, absmax.max().item<double>());
    after = std::max(after, (absmax / s).max().item<double>());
    out.layers.push_back(std::move(q));
  }
  std::ostringstream range;
  range << before << " -> " << after;
  out.details["max_activation"] = range.str();
  return out;
}

}  // namespace

std::string to_string(Method method) {
  switch (method) {
    case Method::kMinMax: return "minmax";
    case Method::kSmoothQuant: return "smoothquant";
    case Method::kOutlierSuppression: return "outlier-suppression";
    case Method::kOmniQuant: return "omniquant";
  }
  return "?";
}

Method parse_method(const std::string& text) {
  for (auto m : {Method::kMinMax, Method::kSmoothQuant, Method::kOutlierSuppression, Method::kOmniQuant})
    if (text == to_string(m)) return m;
  throw Error("--method", "unknown method '" + text + "' (minmax, smoothquant, outlier-suppression, omniquant)");
}

at::Tensor smoothing_factors(const at::Tensor& activation_absmax, const at::Tensor& weight, double alpha) {
  at::Tensor w = weight.detach().to(at::kFloat).abs().amax({0}).clamp_min(1e-5);
  at::Tensor a = activation_absmax.to(at::kFloat).clamp_min(1e-5);
  return (a.pow(alpha) / w.pow(1.0 - alpha)).clamp(1e-5, 1e5);
}

LinearQuantization quantize_linear(const std::string& name, const at::Tensor& weight, int weight_bits,
                                   bool per_channel, const ActivationQuantizer& activation, const at::Tensor& shift,
                                   const at::Tensor& inv_smooth, const at::Tensor& clip) {
  at::Tensor w = weight.detach().to(at::kFloat);
  LinearQuantization q;
  q.name = name;
  q.weight_bits = weight_bits;
  q.per_channel = per_channel;
  q.activation = activation;
  q.shift = shift.defined() ? shift.detach().to(at::kFloat).contiguous() : at::Tensor();
  q.inv_smooth = inv_smooth.defined() ? inv_smooth.detach().to(at::kFloat).contiguous() : at::Tensor();
  if (q.shift.defined()) q.offset = at::matmul(w, q.shift).contiguous();
  at::Tensor transformed = q.inv_smooth.defined() ? w / q.inv_smooth : w;
  q.weight = quantize_weight(transformed, weight_bits, per_channel, clip);
  return q;
}

QuantizedModel quantize_model(model::ModelBundle& bundle, const std::vector<std::vector<int64_t>>& calibration,
                              const PtqOptions& options) {
  if (calibration.empty()) throw Error("--calib", "no calibration sequences");
  model::GermModel& net = bundle.model;
  net->eval();
  switch (options.method) {
    case Method::kMinMax:
    case Method::kOutlierSuppression: return quantize_minmax_or_os(net, calibration, options);
    case Method::kSmoothQuant: return quantize_smoothquant(net, calibration, options);
    case Method::kOmniQuant: return quantize_omniquant(net, calibration, options);
  }
  throw Error("--method", "unknown method");
}

void attach_quantization(model::GermModel& model, const QuantizedModel& quantized, Execution execution) {
  for (const auto& layer : quantized.layers) {
    model::GermLinear linear = find_linear(model, layer.name);
    at::Tensor transformed;
    if (execution == Execution::kTransformOnly) {
      transformed = linear->weight.detach().to(at::kFloat);
      if (layer.inv_smooth.defined()) transformed = transformed / layer.inv_smooth;
    }
    linear->set_hooks(std::make_shared<QuantizedLinearHooks>(linear.ptr(), layer, execution, transformed));
  }
}

}  // namespace germ::quant
