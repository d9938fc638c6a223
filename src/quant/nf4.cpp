#include "quant/nf4.hpp"

#include <cmath>
#include <string>

#include "util/error.hpp"

namespace germ::quant {
namespace {

constexpr std::array<float, 16> kLevels = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// Symmetric int8 codes use -127..127 so that zero is exact and the range is symmetric.
constexpr float kScaleCodeMax = 127.0f;

// The two levels of every byte value [256, 2], so a packed byte decodes in one lookup
// (QLoRA dequantises every weight on every forward).
at::Tensor level_pairs_on(c10::Device device) {
  std::array<float, 512> pairs{};
  for (size_t byte = 0; byte < 256; ++byte) {
    pairs[2 * byte] = kLevels[byte >> 4];
    pairs[2 * byte + 1] = kLevels[byte & 15];
  }
  return at::tensor(c10::ArrayRef<float>(pairs.data(), pairs.size())).view({256, 2}).to(device);
}

// Decision boundaries between adjacent levels: a normalised value goes to the level whose
// interval contains it, which is the nearest level.
at::Tensor midpoints_on(c10::Device device) {
  std::array<float, 15> mid{};
  for (size_t i = 0; i < mid.size(); ++i) mid[i] = 0.5f * (kLevels[i] + kLevels[i + 1]);
  return at::tensor(c10::ArrayRef<float>(mid.data(), mid.size())).to(device);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

at::Tensor pad_to(const at::Tensor& flat, int64_t length) {
  if (flat.numel() == length) return flat;
  return at::constant_pad_nd(flat, {0, length - flat.numel()}, 0.0);
}

// Second-level quantisation of the block scales (see Nf4Tensor).
void quantise_scales(const at::Tensor& scales, Nf4Tensor& q) {
  const int64_t blocks = scales.numel();
  q.scale_mean = scales.mean().item<float>();
  at::Tensor centred = pad_to(scales - q.scale_mean, ceil_div(blocks, kNf4ScaleBlock) * kNf4ScaleBlock)
                           .view({-1, kNf4ScaleBlock});
  at::Tensor group_absmax = centred.abs().amax(1);
  at::Tensor divisor = at::where(group_absmax > 0, group_absmax, at::ones_like(group_absmax));
  q.scale_codes = (centred / divisor.unsqueeze(1) * kScaleCodeMax)
                      .round()
                      .clamp(-kScaleCodeMax, kScaleCodeMax)
                      .to(at::kChar)
                      .reshape({-1})
                      .slice(0, 0, blocks)
                      .contiguous();
  q.scale_scales = group_absmax.contiguous();
}

}  // namespace

const std::array<float, 16>& nf4_levels() { return kLevels; }

std::array<double, 16> nf4_levels_from_quantiles(double offset) {
  // Quantile of N(0,1): sqrt(2) * erfinv(2p - 1); the standard library has no erfinv.
  auto quantiles = [&](int64_t count, int64_t keep) {
    at::Tensor p = at::linspace(offset, 0.5, count, at::kDouble).slice(0, 0, keep);
    return (at::erfinv(p * 2 - 1) * std::sqrt(2.0)).contiguous();
  };
  at::Tensor positive = quantiles(9, 8), negative = -quantiles(8, 7);
  at::Tensor all = at::cat({positive, negative, at::zeros({1}, at::kDouble)});
  all = std::get<0>(all.sort()) / positive.max();
  std::array<double, 16> levels{};
  for (int64_t i = 0; i < 16; ++i) levels[i] = all[i].item<double>();
  return levels;
}

Nf4Tensor nf4_quantize(const at::Tensor& w, bool double_quant, int64_t block) {
  if (block <= 0 || block % 2 != 0)
    throw Error("nf4", "block size must be even and positive, got " + std::to_string(block));
  if (!w.is_floating_point()) throw Error("nf4", "only floating-point tensors can be quantised");
  if (w.numel() == 0) throw Error("nf4", "cannot quantise an empty tensor");

  Nf4Tensor q;
  q.shape = w.sizes().vec();
  q.numel = w.numel();
  q.block = block;
  q.double_quant = double_quant;
  const int64_t blocks = ceil_div(q.numel, block);
  at::Tensor grid = pad_to(w.detach().to(at::kFloat).reshape({-1}), blocks * block).view({blocks, block});
  at::Tensor absmax = grid.abs().amax(1);
  if (double_quant)
    quantise_scales(absmax, q);
  else
    q.scale_scales = absmax.contiguous();

  // Codes against the scale dequantisation will see (after double quantisation), so the
  // second-level error is partly absorbed instead of added on top.
  at::Tensor scales = nf4_block_scales(q);
  at::Tensor divisor = at::where(scales != 0, scales, at::ones_like(scales));
  at::Tensor codes = at::bucketize(grid / divisor.unsqueeze(1), midpoints_on(grid.device()))
                         .to(at::kByte)
                         .view({-1, 2});
  q.codes = (codes.select(1, 0) * 16 + codes.select(1, 1)).contiguous();
  return q;
}

at::Tensor nf4_block_scales(const Nf4Tensor& q) {
  if (!q.double_quant) return q.scale_scales;
  const int64_t blocks = q.scale_codes.numel();
  at::Tensor group_scale = q.scale_scales.repeat_interleave(kNf4ScaleBlock).slice(0, 0, blocks);
  return q.scale_codes.to(at::kFloat) * group_scale / kScaleCodeMax + q.scale_mean;
}

at::Tensor nf4_dequantize(const Nf4Tensor& q) {
  at::Tensor values = level_pairs_on(q.codes.device()).index_select(0, q.codes.to(at::kLong)).view({-1, q.block});
  values = values * nf4_block_scales(q).unsqueeze(1);
  return values.reshape({-1}).slice(0, 0, q.numel).reshape(q.shape);
}

Nf4Tensor Nf4Tensor::to(c10::Device target) const {
  Nf4Tensor moved = *this;
  moved.codes = codes.to(target);
  moved.scale_scales = scale_scales.to(target);
  if (scale_codes.defined()) moved.scale_codes = scale_codes.to(target);
  return moved;
}

int64_t nf4_bytes(const Nf4Tensor& q) {
  int64_t bytes = q.codes.numel() + q.scale_scales.numel() * 4;
  if (q.double_quant) bytes += q.scale_codes.numel() + 4;  // int8 codes + the fp32 mean
  return bytes;
}

double nf4_bits_per_parameter(const Nf4Tensor& q) {
  return 8.0 * static_cast<double>(nf4_bytes(q)) / static_cast<double>(q.numel);
}

}  // namespace germ::quant
