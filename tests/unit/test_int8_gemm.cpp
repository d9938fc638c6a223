#include <gtest/gtest.h>
#include <dlfcn.h>

#include <ATen/Parallel.h>

#include <thread>
#include <vector>

#include "quant/int8_gemm.hpp"
#include "quant/quant_math.hpp"

using namespace germ::quant;

namespace {

// Uniform codes over the whole range, with both ends present.
at::Tensor random_activations(int64_t m, int64_t k) {
  at::Tensor a = at::randint(0, 256, {m, k}, at::kByte);
  a.view({-1})[0] = 255;
  if (a.numel() > 1) a.view({-1})[1] = 0;
  return a;
}

at::Tensor random_weight_codes(int64_t n, int64_t k) {
  at::Tensor w = at::randint(-127, 128, {n, k}, at::kChar);
  w.view({-1})[0] = 127;
  if (w.numel() > 1) w.view({-1})[1] = -127;
  return w;
}

QuantizedRows random_rows(int64_t m, int64_t k) {
  QuantizedRows rows;
  rows.codes = random_activations(m, k);
  rows.scales = at::rand({m}) * 0.1 + 0.001;
  rows.zero_points = at::randint(0, 256, {m}, at::kInt);
  return rows;
}

// The formula of int8_linear in fp64 from the integer inputs.
at::Tensor linear_formula(const QuantizedRows& rows, const at::Tensor& codes, const at::Tensor& w_scales,
                          const at::Tensor& bias) {
  at::Tensor a = rows.codes.to(at::kDouble) - rows.zero_points.to(at::kDouble).unsqueeze(1);
  at::Tensor p = at::matmul(a, codes.to(at::kDouble).t());
  at::Tensor y = p * rows.scales.to(at::kDouble).unsqueeze(1) * w_scales.to(at::kDouble).reshape({1, -1});
  if (bias.defined()) y = y + bias.to(at::kDouble);
  return y;
}

double max_relative_error(const at::Tensor& y, const at::Tensor& reference) {
  double scale = reference.abs().max().item<double>();
  return (y.to(at::kDouble) - reference.to(at::kDouble)).abs().max().item<double>() / scale;
}

// Bit patterns, so that -0.0 and 0.0 (or two NaNs) are told apart.
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         at::equal(a.contiguous().view(at::kInt), b.contiguous().view(at::kInt));
}

}  // namespace

TEST(Int8Gemm, MatchesTheReferenceExactly) {
  at::manual_seed(1);
  for (int64_t k : {256, 512, 100, 37, 1}) {
    for (int64_t n : {768, 256, 1, 3}) {
      at::Tensor codes = random_weight_codes(n, k);
      Int8Weight weight(codes, at::ones({1}));
      // Several M per weight also exercises the per-M primitive cache.
      for (int64_t m : {1, 7, 64, 300}) {
        at::Tensor a = random_activations(m, k);
        at::Tensor p = int8_matmul(a, weight);
        ASSERT_EQ(p.scalar_type(), at::kInt);
        ASSERT_EQ(p.sizes(), (std::vector<int64_t>{m, n}));
        EXPECT_TRUE(at::equal(p, int8_matmul_reference(a, codes))) << "M " << m << " K " << k << " N " << n;
      }
    }
  }
}

TEST(Int8Gemm, ExtremeCodesDoNotSaturate) {
  // 255 * 127 summed over K: any 16-bit intermediate (vpmaddubsw without VNNI) would saturate.
  const int64_t k = 4096;
  at::Tensor a = at::full({5, k}, 255, at::kByte);
  at::Tensor codes = at::cat({at::full({2, k}, 127, at::kChar), at::full({2, k}, -127, at::kChar)});
  Int8Weight weight(codes, at::ones({4}));
  at::Tensor p = int8_matmul(a, weight);
  EXPECT_TRUE(at::equal(p, int8_matmul_reference(a, codes)));
  EXPECT_EQ(p[0][0].item<int32_t>(), 255 * 127 * k);
  EXPECT_EQ(p[4][3].item<int32_t>(), -255 * 127 * k);
}

TEST(Int8Gemm, RepeatedAndConcurrentCallsAgree) {
  at::manual_seed(2);
  at::Tensor codes = random_weight_codes(96, 200);
  Int8Weight weight(codes, at::ones({1}));
  at::Tensor a = random_activations(33, 200);
  at::Tensor expected = int8_matmul_reference(a, codes);
  EXPECT_TRUE(at::equal(int8_matmul(a, weight), expected));
  EXPECT_TRUE(at::equal(int8_matmul(a, weight), expected));
  std::vector<at::Tensor> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] { results[t] = int8_matmul(a, weight); });
  for (auto& thread : threads) thread.join();
  for (const auto& r : results) EXPECT_TRUE(at::equal(r, expected));
}

TEST(Int8Gemm, OtherThreadsRunWithLibTorchsThreadCount) {
  // oneDNN's OpenMP regions take omp_get_max_threads() of the calling thread; a thread that
  // has not run a LibTorch op yet still has the all-cores default until int8_matmul fixes it.
  using MaxThreads = int (*)();
  auto omp_max_threads = reinterpret_cast<MaxThreads>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  if (!omp_max_threads) GTEST_SKIP() << "no OpenMP runtime loaded";
  at::Tensor codes = random_weight_codes(64, 128);
  Int8Weight weight(codes, at::ones({1}));
  at::Tensor a = random_activations(256, 128);
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  int seen = 0;
  std::thread([&] {
    int8_matmul(a, weight);
    seen = omp_max_threads();
  }).join();
  at::set_num_threads(saved);
  EXPECT_EQ(seen, 1);
}

TEST(Int8Gemm, WeightKeepsCodesScalesAndColumnSums) {
  at::Tensor codes = at::tensor(std::vector<int64_t>{1, -2, 3, 127, -127, 0}).to(at::kChar).reshape({2, 3});
  Int8Weight per_tensor(codes, at::full({1}, 0.5f));
  EXPECT_EQ(per_tensor.out_features(), 2);
  EXPECT_EQ(per_tensor.in_features(), 3);
  EXPECT_TRUE(at::equal(per_tensor.scales(), at::full({2}, 0.5f)));
  EXPECT_TRUE(at::equal(per_tensor.column_sums(), at::tensor(std::vector<int32_t>{2, 0})));
  Int8Weight per_channel(codes, at::tensor(std::vector<float>{0.25f, 2.0f}));
  EXPECT_TRUE(at::equal(per_channel.scales(), at::tensor(std::vector<float>{0.25f, 2.0f})));
  EXPECT_THROW(Int8Weight(codes, at::ones({3})), c10::Error);
  EXPECT_THROW(int8_matmul(at::zeros({2, 4}, at::kByte), per_tensor), c10::Error);
}

TEST(Int8Linear, MatchesTheFormulaInFp64) {
  at::manual_seed(3);
  for (int64_t k : {256, 100}) {
    for (bool per_channel : {false, true}) {
      for (bool with_bias : {false, true}) {
        const int64_t m = 70, n = 130;
        at::Tensor codes = random_weight_codes(n, k);
        at::Tensor w_scales = per_channel ? at::rand({n}) * 0.01 + 1e-4 : at::full({1}, 0.003f);
        at::Tensor bias = with_bias ? at::randn({n}) : at::Tensor();
        QuantizedRows rows = random_rows(m, k);
        Int8Weight weight(codes, w_scales);
        at::Tensor y = int8_linear(rows, weight, bias);
        ASSERT_EQ(y.scalar_type(), at::kFloat);
        ASSERT_EQ(y.sizes(), (std::vector<int64_t>{m, n}));
        EXPECT_LT(max_relative_error(y, linear_formula(rows, codes, w_scales, bias)), 1e-5)
            << "K " << k << " per channel " << per_channel << " bias " << with_bias;
      }
    }
  }
}

TEST(Int8Quantize, FastRowsEqualTheReferenceBitForBit) {
  at::manual_seed(4);
  const int64_t k = 203;
  at::Tensor x = at::randn({9, k}) * 3.0;
  x[1].zero_();
  x[2][5] = 1e6;   // huge outliers
  x[2][17] = -3e5;
  x[3] = at::rand({k});  // all positive: asymmetric lo is 0
  x[4] = -at::rand({k});
  x[5] = at::full({k}, 0.25f);
  at::Tensor shift = at::randn({k}) * 0.5;
  at::Tensor inv_smooth = at::rand({k}) + 0.5;
  const ActivationScheme schemes[] = {ActivationScheme::kStaticPerTensor, ActivationScheme::kDynamicPerTokenSymmetric,
                                      ActivationScheme::kDynamicPerTokenAsymmetric};
  for (ActivationScheme scheme : schemes) {
    for (int bits : {4, 6, 8}) {
      for (float clip : {1.0f, 0.8f}) {
        for (int transform = 0; transform < 4; ++transform) {
          ActivationQuantizer q;
          q.scheme = scheme;
          q.bits = bits;
          q.clip = clip;
          set_static_range(q, -4.0 * clip, 5.5);
          at::Tensor s = transform & 1 ? shift : at::Tensor();
          at::Tensor is = transform & 2 ? inv_smooth : at::Tensor();
          QuantizedRows expected = quantize_rows(x, q, s, is);
          QuantizedRows fast = quantize_rows_fast(x, q, s, is);
          const std::string what = to_string(scheme) + " " + std::to_string(bits) + " bits, clip " +
                                   std::to_string(clip) + ", transform " + std::to_string(transform);
          ASSERT_EQ(fast.codes.scalar_type(), at::kByte) << what;
          EXPECT_TRUE(at::equal(fast.codes, expected.codes)) << what;
          EXPECT_TRUE(same_bits(fast.scales, expected.scales)) << what;
          EXPECT_TRUE(at::equal(fast.zero_points, expected.zero_points)) << what;
        }
      }
    }
  }
}

TEST(Int8Linear, EqualsFakeQuantizationOfTheSameCodes) {
  at::manual_seed(5);
  const int64_t m = 64, k = 256, n = 96;
  at::Tensor x = at::randn({m, k});
  x.select(1, 7).mul_(20.0);  // an outlier channel, as in real activations
  at::Tensor w = at::randn({n, k}) * 0.05;
  at::Tensor bias = at::randn({n}) * 0.1;
  const ActivationScheme schemes[] = {ActivationScheme::kStaticPerTensor, ActivationScheme::kDynamicPerTokenSymmetric,
                                      ActivationScheme::kDynamicPerTokenAsymmetric};
  for (ActivationScheme scheme : schemes) {
    for (BitWidths widths : {BitWidths{8, 8}, BitWidths{4, 8}, BitWidths{4, 4}}) {
      for (bool per_channel : {true, false}) {
        ActivationQuantizer q;
        q.scheme = scheme;
        q.bits = widths.activation;
        set_static_range(q, x.min().item<double>(), x.max().item<double>());
        QuantizedWeight qw = quantize_weight(w, widths.weight, per_channel);
        Int8Weight weight(qw.codes, qw.scales);
        at::Tensor y = int8_linear(quantize_rows_fast(x, q), weight, bias);
        at::Tensor fake = at::linear(dequantize_rows(quantize_rows(x, q)), dequantize_weight(qw), bias);
        EXPECT_LT(max_relative_error(y, fake), 1e-4)
            << to_string(scheme) << " " << widths.text() << " per channel " << per_channel;
      }
    }
  }
}

TEST(Int8Backend, DescriptionNamesOneDnnAndItsIsa) {
  std::string text = int8_backend_description();
  EXPECT_EQ(text.rfind("oneDNN 2.", 0), 0u) << text;
  EXPECT_NE(text.find('('), std::string::npos) << text;
}
