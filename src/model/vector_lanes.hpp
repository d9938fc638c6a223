#pragma once
// Eight-float vector helpers shared by the CPU kernels (inference_kernels.cpp,
// attention_kernels.cpp). Internal to src/model: include only from .cpp files that define
// kernels, and call them only from functions marked GERM_VECTOR_CLONES.
#include <algorithm>
#include <cstdint>
#include <cstring>

// The helpers below are always inlined into the clones, so their vector ABI never shows.
#pragma GCC diagnostic ignored "-Wpsabi"

// One AVX2+FMA clone and one baseline clone of each kernel, picked when the library loads, so
// the build needs no -march flag.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GERM_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GERM_VECTOR_CLONES
#endif
#define GERM_INLINE inline __attribute__((always_inline))

namespace germ::model::lanes {

// GCC/Clang vector extensions: eight floats, one AVX register where the clone has AVX2 and two
// SSE registers in the baseline clone.
typedef float Floats __attribute__((vector_size(32)));
typedef int32_t Ints __attribute__((vector_size(32)));
constexpr int64_t kWidth = 8;

GERM_INLINE Floats splat(float x) { return Floats{} + x; }
GERM_INLINE Floats load(const float* p) {
  Floats v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
GERM_INLINE void store(float* p, Floats v) { std::memcpy(p, &v, sizeof v); }
GERM_INLINE Floats max_of(Floats a, Floats b) { return a > b ? a : b; }
GERM_INLINE float largest(Floats v) {
  float m = v[0];
  for (int i = 1; i < kWidth; ++i) m = std::max(m, v[i]);
  return m;
}
GERM_INLINE float total(Floats v) {
  float s = 0;
  for (int i = 0; i < kWidth; ++i) s += v[i];
  return s;
}

// Cephes' expf: exp(x) = 2^n * p(r), |relative error| < 2e-7 on [-87, 88]; inputs above are
// clamped, inputs below give 0 (exp(-87) = 1.6e-38 is below anything a row sums to).
GERM_INLINE Floats exp_lanes(Floats x) {
  const Floats underflow = x < -87.0f ? splat(0.0f) : splat(1.0f);
  x = max_of(x, splat(-87.0f));
  x = x < 88.0f ? x : splat(88.0f);
  const Floats magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  Floats n = (x * 1.44269504088896341f + magic) - magic;
  Floats r = x - n * 0.693359375f + n * 2.12194440e-4f;
  Floats p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  Ints exponent = (__builtin_convertvector(n, Ints) + 127) << 23;
  return p * reinterpret_cast<Floats>(exponent) * underflow;
}

// row[j] = exp(row[j] - m) for j < count; returns their sum. The last partial vector is padded
// with logits exp maps to 0.
GERM_INLINE float exponentiate_and_sum(float* row, int64_t count, float m) {
  Floats sum = splat(0.0f);
  int64_t j = 0;
  for (; j + kWidth <= count; j += kWidth) {
    Floats e = exp_lanes(load(row + j) - m);
    store(row + j, e);
    sum += e;
  }
  if (j < count) {
    float tail[kWidth];
    std::fill(tail, tail + kWidth, -1e30f);
    std::copy(row + j, row + count, tail);
    Floats e = exp_lanes(load(tail) - m);
    store(tail, e);
    std::copy(tail, tail + (count - j), row + j);
    sum += e;
  }
  return total(sum);
}

// row[j] *= factor for j < count.
GERM_INLINE void scale_row(float* row, int64_t count, float factor) {
  const Floats f = splat(factor);
  int64_t j = 0;
  for (; j + kWidth <= count; j += kWidth) store(row + j, load(row + j) * f);
  for (; j < count; ++j) row[j] *= factor;
}

}  // namespace germ::model::lanes
