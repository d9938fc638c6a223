#pragma once
// Integer linear layers for CPU inference: uint8 activations x int8 weights -> int32 through
// oneDNN (AVX-512 VNNI's vpdpbusd multiplies exactly u8 x s8), then one fused pass that
// dequantises and adds the bias. Activation codes come from quant::quantize_rows
// (quant_math.hpp): per-row scale and zero point, which covers static per-tensor and
// dynamic per-token (symmetric or not) quantization with one kernel.
#include <ATen/ATen.h>

#include <memory>

#include "quant/quant_math.hpp"

namespace germ::quant {

// Weights prepared once for repeated products (codes reordered for the kernel, column sums
// for the zero-point correction).
class Int8Weight {
 public:
  // codes int8 [N, K] in [-127, 127]; scales fp32 [N] or [1]: dequantised weight = codes * scale.
  Int8Weight(const at::Tensor& codes, const at::Tensor& scales);
  ~Int8Weight();
  Int8Weight(const Int8Weight&) = delete;
  Int8Weight& operator=(const Int8Weight&) = delete;

  int64_t out_features() const { return codes_.size(0); }
  int64_t in_features() const { return codes_.size(1); }
  const at::Tensor& codes() const { return codes_; }
  const at::Tensor& scales() const { return scales_; }          // fp32 [N] (expanded from [1])
  const at::Tensor& column_sums() const { return column_sums_; }  // int32 [N]: sum_k codes[n, k]

  struct Backend;  // oneDNN state (memory descriptors, primitive cache by M)
 private:
  at::Tensor codes_, scales_, column_sums_;
  std::unique_ptr<Backend> backend_;
  friend at::Tensor int8_matmul(const at::Tensor&, const Int8Weight&);
};

// Exact P[m, n] = sum_k a[m, k] * codes[n, k]: a uint8 [M, K] -> int32 [M, N] (oneDNN).
at::Tensor int8_matmul(const at::Tensor& a, const Int8Weight& w);
// The same product computed plainly (int64 accumulation), for tests.
at::Tensor int8_matmul_reference(const at::Tensor& a, const at::Tensor& codes);

// True where oneDNN's u8 x s8 kernels sum byte pairs in saturating int16 (no VNNI): int8_matmul
// then runs two GEMMs on the split activations to stay exact.
bool int8_products_may_saturate();

// y[m, n] = rows.scales[m] * w.scales[n] * (P[m, n] - rows.zero_points[m] * column_sums[n]) + bias[n]
// fp32 [M, N]; bias fp32 [N] or undefined.
at::Tensor int8_linear(const QuantizedRows& rows, const Int8Weight& w, const at::Tensor& bias);

// quantize_rows with the transform and rounding fused into one pass per row (same codes,
// bit for bit; a test checks it against quantize_rows).
QuantizedRows quantize_rows_fast(const at::Tensor& x, const ActivationQuantizer& q, const at::Tensor& shift = {},
                                 const at::Tensor& inv_smooth = {});

// Name and version of the integer GEMM backend ("oneDNN 2.6.3 (VNNI)"), for --version and benches.
std::string int8_backend_description();

}  // namespace germ::quant
