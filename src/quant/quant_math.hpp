#pragma once
// The rounding rules every quantization path shares (docs/quantize.md). Fake quantization
// (quantise-dequantise in fp32) and the integer kernels both go through the codes defined
// here, so the two paths differ only in the order of float operations after the product.
//
// Rounding is round-half-to-even (std::nearbyint, torch.round), applied to x * (1 / scale)
// with the reciprocal taken in fp32, as torch.fake_quantize_per_tensor_affine does.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace germ::quant {

// "w8a8", "w6a6", "w4a4", "w4a8": weight and activation bit widths (2..8 each).
struct BitWidths {
  int weight = 8;
  int activation = 8;
  std::string text() const;
};
BitWidths parse_bit_widths(const std::string& text);  // germ::Error("--bits", ...) otherwise

// Largest symmetric code: 2^(bits-1) - 1 (127 for 8 bits, 7 for 4). Codes are in
// [-qmax, qmax]: the narrow range, so negation is exact and int4 packs in a nibble.
int64_t symmetric_qmax(int bits);
// Largest unsigned code: 2^bits - 1.
int64_t asymmetric_qmax(int bits);

// Symmetric weight quantization of W [out, in]: per output channel (scales [out]) or per
// tensor (scales [1]). `clip` (optional, [out] or [1], values in (0, 1]) scales the absmax
// before the scale is taken (OmniQuant's learnable weight clipping, symmetric form).
struct QuantizedWeight {
  at::Tensor codes;   // int8 [out, in], values in [-qmax, qmax]
  at::Tensor scales;  // fp32 [out] or [1]
};
QuantizedWeight quantize_weight(const at::Tensor& weight, int bits, bool per_channel,
                                const at::Tensor& clip = {});
at::Tensor dequantize_weight(const QuantizedWeight& q);  // fp32 [out, in]

// Activation quantization parameters.
//   static per tensor (asymmetric): one (scale, zero point) from calibration;
//   dynamic per token, symmetric: scale_t = clip * max|x_t| / qmax, zero point 0;
//   dynamic per token, asymmetric: lo = clip * min(min x_t, 0), hi = clip * max(max x_t, 0),
//     scale_t = (hi - lo) / (2^b - 1), zero point round(-lo / scale_t).
// A row whose range is 0 gets scale 1 (all codes equal the zero point).
enum class ActivationScheme { kStaticPerTensor, kDynamicPerTokenSymmetric, kDynamicPerTokenAsymmetric };
std::string to_string(ActivationScheme scheme);
ActivationScheme parse_activation_scheme(const std::string& text);

struct ActivationQuantizer {
  ActivationScheme scheme = ActivationScheme::kDynamicPerTokenSymmetric;
  int bits = 8;
  float static_scale = 1.0f;  // static only
  int32_t static_zero_point = 0;
  float clip = 1.0f;          // dynamic only
};

// Static (scale, zero point) covering [lo, hi] (the range is widened to include 0 first).
void set_static_range(ActivationQuantizer& q, double lo, double hi);

// The codes of rows x [M, K] (fp32), after the per-channel transform x' = (x - shift) * inv_smooth
// (either tensor may be undefined: no shift, no smoothing). Codes are stored as uint8 with a
// per-row zero point: symmetric codes c in [-qmax, qmax] become c + 128 with zero point 128,
// so one u8 x s8 kernel serves every scheme. Value of code q in row m: scales[m] * (q - zero_points[m]).
// x' = (x - shift) * inv_smooth in fp32 (either may be undefined: skipped), the transform every
// quantized linear applies to its input before rounding.
at::Tensor channel_transform(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& inv_smooth);

struct QuantizedRows {
  at::Tensor codes;        // uint8 [M, K]
  at::Tensor scales;       // fp32 [M]
  at::Tensor zero_points;  // int32 [M]
};
QuantizedRows quantize_rows(const at::Tensor& x, const ActivationQuantizer& q, const at::Tensor& shift = {},
                            const at::Tensor& inv_smooth = {});
at::Tensor dequantize_rows(const QuantizedRows& rows);  // fp32 [M, K]

// Fake quantization of activations of any shape [..., K]: dequantize_rows(quantize_rows(x)).
at::Tensor fake_quantize_activation(const at::Tensor& x, const ActivationQuantizer& q,
                                    const at::Tensor& shift = {}, const at::Tensor& inv_smooth = {});

}  // namespace germ::quant
