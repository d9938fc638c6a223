#include <gtest/gtest.h>

#include <cmath>

#include "quant/nf4.hpp"
#include "util/error.hpp"

using namespace germ::quant;

namespace {

// The largest gap between adjacent NF4 levels (0.7229568 -> 1.0, i.e. 0.2770432).
double largest_gap() {
  const auto& levels = nf4_levels();
  double gap = 0;
  for (size_t i = 1; i < levels.size(); ++i) gap = std::max<double>(gap, levels[i] - levels[i - 1]);
  return gap;
}

// absmax of every `block` elements of w, flattened and zero-padded as nf4_quantize does.
at::Tensor block_absmax(const at::Tensor& w, int64_t block) {
  at::Tensor flat = w.reshape({-1});
  int64_t padded = (flat.numel() + block - 1) / block * block;
  return at::constant_pad_nd(flat, {0, padded - flat.numel()}).view({-1, block}).abs().amax(1);
}

}  // namespace

TEST(Nf4, LevelsAreThePublishedTableAndFollowFromNormalQuantiles) {
  const double published[16] = {-1.0,
                                -0.6961928009986877,
                                -0.5250730514526367,
                                -0.39491748809814453,
                                -0.28444138169288635,
                                -0.18477343022823334,
                                -0.09105003625154495,
                                0.0,
                                0.07958029955625534,
                                0.16093020141124725,
                                0.24611230194568634,
                                0.33791524171829224,
                                0.44070982933044434,
                                0.5626170039176941,
                                0.7229568362236023,
                                1.0};
  auto derived = nf4_levels_from_quantiles();
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(nf4_levels()[i], static_cast<float>(published[i])) << i;
    // The published table was computed in float32 with scipy; the double-precision
    // construction agrees to < 1e-7 (largest difference ~5e-8, at -0.0910500).
    EXPECT_NEAR(derived[i], published[i], 1e-6) << i;
  }
  EXPECT_EQ(nf4_levels()[7], 0.0f);  // zero is exact, so zero padding and zero blocks are too
}

TEST(Nf4, ValuesThatAreLevelsTimesScaleRoundTripExactly) {
  const auto& levels = nf4_levels();
  // Without double quantisation any scale is stored exactly; each block holds all 16 levels
  // (so its absmax is the scale) four times.
  const float scales[4] = {0.5f, 3.0f, 0.125f, 7.25f};
  std::vector<float> values;
  for (float scale : scales)
    for (int repeat = 0; repeat < 4; ++repeat)
      for (float level : levels) values.push_back(level * scale);
  at::Tensor w = at::tensor(values).view({4, 64});
  EXPECT_TRUE(at::equal(nf4_dequantize(nf4_quantize(w, false)), w));
  // With double quantisation the scales are exact when they are all equal: their mean is the
  // scale and every centred scale is zero.
  at::Tensor same = at::tensor(values).view({4, 64}).slice(0, 0, 1).repeat({300, 1}) * 4.0;
  EXPECT_TRUE(at::equal(nf4_dequantize(nf4_quantize(same, true)), same));
}

TEST(Nf4, RandomNormalWeightsStayWithinTheDerivedBound) {
  at::manual_seed(11);
  at::Tensor w = at::randn({300, 257});  // 1205 blocks: 5 groups of 256 scales, the last partial
  const double g = largest_gap();
  for (bool double_quant : {false, true}) {
    Nf4Tensor q = nf4_quantize(w, double_quant);
    at::Tensor error = (nf4_dequantize(q) - w).abs();
    at::Tensor s = block_absmax(w, kNf4Block);
    // Bound per element x of a block with absmax s, stored scale s' (s' = s without double
    // quantisation) and delta = |s - s'|:
    //   |x| <= |s'|: x / s' lies in [-1, 1], so the nearest level is within g/2 and the error
    //                is at most |s'| g/2;
    //   |x| >  |s'|: the nearest level is the end level and the error is |x| - |s'| <= delta.
    // Hence error <= |s'| g/2 + delta <= s g/2 + delta (1 + g/2), with g the largest gap. For
    // symmetric int8 double quantisation delta <= (absmax of the group's centred scales) / 254.
    at::Tensor delta = at::zeros_like(s);
    if (double_quant) {
      at::Tensor group_absmax = q.scale_scales.repeat_interleave(kNf4ScaleBlock).slice(0, 0, s.numel());
      delta = group_absmax / 254.0;
      EXPECT_TRUE(((nf4_block_scales(q) - s).abs() <= delta * (1 + 1e-5) + 1e-7).all().item<bool>());
    }
    at::Tensor bound = s * (g / 2) + delta * (1 + g / 2);
    at::Tensor padded = at::constant_pad_nd(error.reshape({-1}), {0, s.numel() * kNf4Block - w.numel()});
    at::Tensor excess = padded.view({-1, kNf4Block}) - bound.unsqueeze(1) * (1 + 1e-6);
    EXPECT_LE(excess.max().item<double>(), 0.0) << "double_quant " << double_quant;
    // Measured mean absolute error for N(0,1): 0.0723 (plain) and 0.0723 (double quantised),
    // largest 0.493 and 0.495: the mean is ~0.03 of a typical block absmax (~2.5).
    double mean_error = error.mean().item<double>();
    EXPECT_LT(mean_error, 0.08) << "double_quant " << double_quant;
    EXPECT_GT(mean_error, 0.06) << "double_quant " << double_quant;
  }
}

TEST(Nf4, BitsPerParameter) {
  at::Tensor w = at::randn({1024, 1024});
  // 4 bits + 8 bits per 64 weights + 32 bits per 256 * 64 weights + one fp32 mean.
  EXPECT_NEAR(nf4_bits_per_parameter(nf4_quantize(w, true)), 4.0 + 8.0 / 64 + 32.0 / (64 * 256), 1e-4);
  EXPECT_NEAR(nf4_bits_per_parameter(nf4_quantize(w, true)), 4.127, 1e-3);
  // 4 bits + an fp32 scale per 64 weights.
  EXPECT_DOUBLE_EQ(nf4_bits_per_parameter(nf4_quantize(w, false)), 4.5);
  EXPECT_EQ(nf4_bytes(nf4_quantize(w, false)), 1024 * 1024 / 2 + 1024 * 1024 / 64 * 4);
}

TEST(Nf4, OddSizesArePaddedAndKeepTheirShape) {
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1}, {3, 5}, {65}, {2, 3, 7}, {129, 3}}) {
    at::Tensor w = at::randn(shape);
    for (int64_t block : {int64_t{64}, int64_t{32}}) {
      Nf4Tensor q = nf4_quantize(w, true, block);
      int64_t blocks = (w.numel() + block - 1) / block;
      EXPECT_EQ(q.codes.numel(), blocks * block / 2);
      EXPECT_EQ(q.scale_codes.numel(), blocks);
      at::Tensor back = nf4_dequantize(q);
      EXPECT_EQ(back.sizes(), w.sizes());
      // Each element is within a quarter of its block's absmax (g/2 < 0.14, plus scale error).
      EXPECT_LE((back - w).abs().max().item<double>(), 0.25 * w.abs().max().item<double>());
    }
  }
  at::Tensor one = at::full({1}, -2.5f);
  EXPECT_EQ(nf4_dequantize(nf4_quantize(one, false)).item<float>(), -2.5f);
  EXPECT_THROW(nf4_quantize(at::randn({8}), true, 7), germ::Error);
  EXPECT_THROW(nf4_quantize(at::empty({0}), true), germ::Error);
  EXPECT_THROW(nf4_quantize(at::ones({8}, at::kLong), true), germ::Error);
}

TEST(Nf4, ZeroBlocksStayExactlyZero) {
  at::Tensor w = at::randn({4, 64});
  w[1].zero_();
  for (bool double_quant : {false, true}) {
    at::Tensor back = nf4_dequantize(nf4_quantize(w, double_quant));
    EXPECT_TRUE(at::equal(back[1], at::zeros({64}))) << double_quant;
    EXPECT_TRUE(at::equal(nf4_dequantize(nf4_quantize(at::zeros({3, 50}), double_quant)), at::zeros({3, 50})));
  }
}
