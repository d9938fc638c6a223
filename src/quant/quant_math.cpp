#include "quant/quant_math.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "util/error.hpp"

namespace germ::quant {

std::string BitWidths::text() const {
  return "w" + std::to_string(weight) + "a" + std::to_string(activation);
}

BitWidths parse_bit_widths(const std::string& text) {
  static const std::regex pattern("[wW]([0-9]+)[aA]([0-9]+)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern))
    throw Error("--bits", "'" + text + "' is not of the form wNaM (w8a8, w6a6, w4a4, w4a8)");
  BitWidths b{std::stoi(m[1]), std::stoi(m[2])};
  if (b.weight < 2 || b.weight > 8 || b.activation < 2 || b.activation > 8)
    throw Error("--bits", "'" + text + "': bit widths must be between 2 and 8");
  return b;
}

int64_t symmetric_qmax(int bits) { return (int64_t{1} << (bits - 1)) - 1; }
int64_t asymmetric_qmax(int bits) { return (int64_t{1} << bits) - 1; }

QuantizedWeight quantize_weight(const at::Tensor& weight, int bits, bool per_channel, const at::Tensor& clip) {
  TORCH_CHECK(weight.dim() == 2, "quantize_weight expects [out, in]");
  at::Tensor w = weight.detach().to(at::kFloat);
  at::Tensor absmax = per_channel ? w.abs().amax({1}) : w.abs().max().reshape({1});
  if (clip.defined()) absmax = absmax * clip.detach().to(at::kFloat);
  const double qmax = static_cast<double>(symmetric_qmax(bits));
  at::Tensor scales = at::where(absmax > 0, absmax / qmax, at::ones_like(absmax));
  at::Tensor inv = scales.reciprocal();
  at::Tensor codes = at::clamp(at::round(w * (per_channel ? inv.unsqueeze(1) : inv)), -qmax, qmax);
  return {codes.to(at::kChar).contiguous(), scales.contiguous()};
}

at::Tensor dequantize_weight(const QuantizedWeight& q) {
  at::Tensor scales = q.scales.numel() == 1 ? q.scales : q.scales.unsqueeze(1);
  return q.codes.to(at::kFloat) * scales;
}

std::string to_string(ActivationScheme scheme) {
  switch (scheme) {
    case ActivationScheme::kStaticPerTensor: return "static-per-tensor";
    case ActivationScheme::kDynamicPerTokenSymmetric: return "dynamic-per-token-symmetric";
    case ActivationScheme::kDynamicPerTokenAsymmetric: return "dynamic-per-token-asymmetric";
  }
  return "?";
}

ActivationScheme parse_activation_scheme(const std::string& text) {
  for (auto s : {ActivationScheme::kStaticPerTensor, ActivationScheme::kDynamicPerTokenSymmetric,
                 ActivationScheme::kDynamicPerTokenAsymmetric})
    if (text == to_string(s)) return s;
  throw Error("activation scheme", "unknown scheme '" + text + "'");
}

void set_static_range(ActivationQuantizer& q, double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const double levels = static_cast<double>(asymmetric_qmax(q.bits));
  double scale = (hi - lo) / levels;
  if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0;
  q.static_scale = static_cast<float>(scale);
  q.static_zero_point =
      static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.0, levels));
}

at::Tensor channel_transform(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& inv_smooth) {
  at::Tensor t = x.to(at::kFloat);
  if (shift.defined()) t = t - shift;
  if (inv_smooth.defined()) t = t * inv_smooth;
  return t;
}

QuantizedRows quantize_rows(const at::Tensor& x, const ActivationQuantizer& q, const at::Tensor& shift,
                            const at::Tensor& inv_smooth) {
  TORCH_CHECK(x.dim() == 2, "quantize_rows expects [rows, features]");
  at::Tensor t = channel_transform(x, shift, inv_smooth);
  const int64_t rows = t.size(0);
  QuantizedRows out;
  if (q.scheme == ActivationScheme::kStaticPerTensor) {
    const double levels = static_cast<double>(asymmetric_qmax(q.bits));
    const float inv = 1.0f / q.static_scale;
    at::Tensor codes = at::clamp(at::round(t * inv) + q.static_zero_point, 0.0, levels);
    out.codes = codes.to(at::kByte);
    out.scales = at::full({rows}, q.static_scale, at::kFloat);
    out.zero_points = at::full({rows}, q.static_zero_point, at::kInt);
  } else if (q.scheme == ActivationScheme::kDynamicPerTokenSymmetric) {
    const double qmax = static_cast<double>(symmetric_qmax(q.bits));
    at::Tensor absmax = t.abs().amax({1}) * q.clip;
    at::Tensor scales = at::where(absmax > 0, absmax / qmax, at::ones_like(absmax));
    at::Tensor codes = at::clamp(at::round(t * scales.reciprocal().unsqueeze(1)), -qmax, qmax) + 128.0;
    out.codes = codes.to(at::kByte);
    out.scales = scales;
    out.zero_points = at::full({rows}, 128, at::kInt);
  } else {
    const double levels = static_cast<double>(asymmetric_qmax(q.bits));
    at::Tensor lo = at::clamp_max(t.amin({1}), 0.0) * q.clip;
    at::Tensor hi = at::clamp_min(t.amax({1}), 0.0) * q.clip;
    at::Tensor range = hi - lo;
    at::Tensor scales = at::where(range > 0, range / levels, at::ones_like(range));
    at::Tensor zero = at::clamp(at::round(-lo / scales), 0.0, levels);
    at::Tensor codes = at::clamp(at::round(t * scales.reciprocal().unsqueeze(1)) + zero.unsqueeze(1), 0.0, levels);
    out.codes = codes.to(at::kByte);
    out.scales = scales;
    out.zero_points = zero.to(at::kInt);
  }
  out.codes = out.codes.contiguous();
  return out;
}

at::Tensor dequantize_rows(const QuantizedRows& rows) {
  return (rows.codes.to(at::kFloat) - rows.zero_points.to(at::kFloat).unsqueeze(1)) * rows.scales.unsqueeze(1);
}

at::Tensor fake_quantize_activation(const at::Tensor& x, const ActivationQuantizer& q, const at::Tensor& shift,
                                    const at::Tensor& inv_smooth) {
  const int64_t features = x.size(-1);
  at::Tensor flat = x.reshape({-1, features});
  return dequantize_rows(quantize_rows(flat, q, shift, inv_smooth)).reshape(x.sizes());
}

}  // namespace germ::quant
