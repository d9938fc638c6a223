#include "quant/int8_gemm.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace germ::quant {

struct Int8Weight::Backend {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mutex;
  // A primitive per M: oneDNN 2.6 picks its brgemm kernels only for a fixed M; with a runtime
  // M it falls back to its jit GEMM (measured ~20% slower at 4096x256x768). Scoring sees a
  // handful of distinct M values.
  struct Primitive {
    int64_t m;
    dnnl::matmul matmul;
    dnnl::memory::desc weights_desc;
    dnnl::memory::desc scratchpad_desc;
  };
  std::vector<Primitive> primitives;
  // The weights in each layout a primitive asked for (in practice one layout for all M).
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> layouts;
  static constexpr size_t kMaxPrimitives = 16;
};

namespace {

using dnnl::memory;

memory::desc user_weights_desc(int64_t k, int64_t n) {
  // codes [N, K] row-major are the [K, N] weights with strides (1, K).
  return memory::desc({k, n}, memory::data_type::s8, memory::dims{1, k});
}

}  // namespace

Int8Weight::Int8Weight(const at::Tensor& codes, const at::Tensor& scales) : backend_(std::make_unique<Backend>()) {
  TORCH_CHECK(codes.dim() == 2 && codes.scalar_type() == at::kChar, "Int8Weight expects int8 codes [N, K]");
  const int64_t n = codes.size(0);
  TORCH_CHECK(scales.numel() == 1 || scales.numel() == n, "Int8Weight: scales must be [N] or [1]");
  codes_ = codes.contiguous();
  scales_ = scales.to(at::kFloat).reshape({-1}).expand({n}).contiguous();
  column_sums_ = codes_.sum({1}, false, at::kInt).contiguous();
}

Int8Weight::~Int8Weight() = default;

at::Tensor int8_matmul(const at::Tensor& a, const Int8Weight& w) {
  TORCH_CHECK(a.dim() == 2 && a.scalar_type() == at::kByte, "int8_matmul expects uint8 [M, K]");
  TORCH_CHECK(a.size(1) == w.in_features(), "int8_matmul: K of the activations (", a.size(1),
              ") differs from the weights (", w.in_features(), ")");
  const int64_t m = a.size(0), k = a.size(1), n = w.out_features();
  at::Tensor out = at::empty({m, n}, at::kInt);
  if (m == 0 || n == 0) return out;
  if (k == 0) return out.zero_();
  at::Tensor src = a.contiguous();

  Int8Weight::Backend& b = *w.backend_;
  dnnl::matmul primitive;
  memory weights;
  memory::desc scratchpad_desc;
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    auto found = std::find_if(b.primitives.begin(), b.primitives.end(), [&](const auto& e) { return e.m == m; });
    if (found == b.primitives.end()) {
      memory::desc src_md({m, k}, memory::data_type::u8, memory::format_tag::ab);
      memory::desc weights_md({k, n}, memory::data_type::s8, memory::format_tag::any);
      memory::desc dst_md({m, n}, memory::data_type::s32, memory::format_tag::ab);
      // Debian's oneDNN is built without DNNL_ENABLE_CONCURRENT_EXEC, so its library-managed
      // scratchpad is shared between threads: TBB workers scoring in parallel corrupted each
      // other's products (a test caught it under load). Each call brings its own scratchpad.
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_md, dst_md), attr, b.engine);
      if (b.primitives.size() >= Int8Weight::Backend::kMaxPrimitives) b.primitives.clear();
      found = b.primitives.insert(b.primitives.end(), {m, dnnl::matmul(pd), pd.weights_desc(), pd.scratchpad_desc()});
    }
    primitive = found->matmul;
    scratchpad_desc = found->scratchpad_desc;
    const memory::desc& wanted = found->weights_desc;
    auto layout = std::find_if(b.layouts.begin(), b.layouts.end(), [&](const auto& e) { return e.first == wanted; });
    if (layout == b.layouts.end()) {
      memory user(user_weights_desc(k, n), b.engine, const_cast<int8_t*>(w.codes().data_ptr<int8_t>()));
      memory reordered = user;
      if (wanted != user.get_desc()) {
        reordered = memory(wanted, b.engine);
        dnnl::stream stream(b.engine);
        dnnl::reorder(user, reordered).execute(stream, user, reordered);
        stream.wait();
      }
      layout = b.layouts.insert(b.layouts.end(), {wanted, reordered});
    }
    weights = layout->second;
  }
  // oneDNN (OpenMP build on Debian) sizes its parallel regions by the calling thread's
  // omp_get_max_threads(); LibTorch sets that from at::set_num_threads lazily per thread,
  // so make sure it has on this one (a TBB worker may not have run a LibTorch op yet).
  at::internal::lazy_init_num_threads();
  auto multiply = [&](const at::Tensor& activations, at::Tensor& product) {
    memory src_mem({{m, k}, memory::data_type::u8, memory::format_tag::ab}, b.engine, activations.data_ptr());
    memory dst_mem({{m, n}, memory::data_type::s32, memory::format_tag::ab}, b.engine, product.data_ptr());
    at::Tensor scratch = at::empty({static_cast<int64_t>(scratchpad_desc.get_size())}, at::kByte);
    memory scratch_mem(scratchpad_desc, b.engine, scratch.data_ptr());
    dnnl::stream stream(b.engine);
    primitive.execute(stream, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst_mem},
                               {DNNL_ARG_SCRATCHPAD, scratch_mem}});
    stream.wait();
  };
  if (!int8_products_may_saturate()) {
    multiply(src, out);
    return out;
  }
  // Without VNNI, oneDNN multiplies u8 x s8 pairs with vpmaddubsw, whose int16 pair sums
  // saturate (255 * 127 * 2 > 32767: measured on an AMD EPYC Zen 3, products halved). Splitting
  // a = 2 * (a >> 1) + (a & 1) keeps every pair sum within int16 (127 * 127 * 2 = 32258), so the
  // result stays exact at the cost of a second GEMM.
  at::Tensor high = at::bitwise_right_shift(src, 1).contiguous();
  at::Tensor low = at::bitwise_and(src, 1).contiguous();
  at::Tensor low_product = at::empty({m, n}, at::kInt);
  multiply(high, out);
  multiply(low, low_product);
  return out.mul_(2).add_(low_product);
}

bool int8_products_may_saturate() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2_vnni:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return false;
    default:
      return true;  // SSE4.1, AVX, AVX2, AVX-512 without VNNI (and the reference path, harmlessly)
  }
}

at::Tensor int8_matmul_reference(const at::Tensor& a, const at::Tensor& codes) {
  TORCH_CHECK(a.dim() == 2 && a.scalar_type() == at::kByte, "int8_matmul_reference expects uint8 [M, K]");
  TORCH_CHECK(codes.dim() == 2 && codes.scalar_type() == at::kChar && codes.size(1) == a.size(1),
              "int8_matmul_reference expects int8 codes [N, K]");
  at::Tensor x = a.contiguous(), w = codes.contiguous();
  const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  at::Tensor out = at::empty({m, n}, at::kInt);
  const uint8_t* xp = x.data_ptr<uint8_t>();
  const int8_t* wp = w.data_ptr<int8_t>();
  int32_t* op = out.data_ptr<int32_t>();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t sum = 0;
      for (int64_t l = 0; l < k; ++l) sum += int64_t{xp[i * k + l]} * int64_t{wp[j * k + l]};
      op[i * n + j] = static_cast<int32_t>(sum);
    }
  return out;
}

namespace {

// The epilogue is a simple loop that GCC vectorises well once it may use AVX-512 (or AVX2);
// the default build targets baseline x86-64, hence per-ISA clones.
#define GERM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// y = rs * ws[n] * (p[n] - zp * cs[n]) + bias[n], written over p: the int32 product and
// the fp32 output have the same size, and reusing the buffer saves page faults on a
// fresh [M, N] allocation. The subtraction is done in int32, where it is exact.
GERM_VECTOR_CLONES
void dequantize_row(int32_t* p, int64_t n, float rs, int32_t zp, const float* ws, const int32_t* cs,
                    const float* bias) {
  float* y = reinterpret_cast<float*>(p);
  if (bias) {
    for (int64_t j = 0; j < n; ++j) y[j] = rs * ws[j] * static_cast<float>(p[j] - zp * cs[j]) + bias[j];
  } else {
    for (int64_t j = 0; j < n; ++j) y[j] = rs * ws[j] * static_cast<float>(p[j] - zp * cs[j]);
  }
}

}  // namespace

at::Tensor int8_linear(const QuantizedRows& rows, const Int8Weight& w, const at::Tensor& bias) {
  const int64_t n = w.out_features();
  at::Tensor p = int8_matmul(rows.codes, w);
  const int64_t m = p.size(0);
  TORCH_CHECK(rows.scales.numel() == m && rows.zero_points.numel() == m, "int8_linear: one scale and zero point per row");
  TORCH_CHECK(!bias.defined() || bias.numel() == n, "int8_linear: bias must be [N]");
  at::Tensor rs = rows.scales.to(at::kFloat).contiguous();
  at::Tensor zp = rows.zero_points.to(at::kInt).contiguous();
  at::Tensor b = bias.defined() ? bias.to(at::kFloat).contiguous() : at::Tensor();
  const float* rsp = rs.data_ptr<float>();
  const int32_t* zpp = zp.data_ptr<int32_t>();
  const float* ws = w.scales().data_ptr<float>();
  const int32_t* cs = w.column_sums().data_ptr<int32_t>();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  int32_t* pp = p.data_ptr<int32_t>();
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1));
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dequantize_row(pp + i * n, n, rsp[i], zpp[i], ws, cs, bp);
  });
  return p.view(at::kFloat);
}

namespace {

// Both loops run per row on a buffer that stays in L1. GCC does not vectorise the fp32 min /
// max reductions without -ffinite-math-only, so AVX-512 machines get an explicit version;
// the others run the plain loops (same results: every step is a single IEEE operation).
void transform_row_plain(const float* x, int64_t k, const float* shift, const float* inv_smooth, float* t,
                         float& lo, float& hi, float& absmax) {
  float mn = INFINITY, mx = -INFINITY, am = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    float v = x[j];
    if (shift) v = v - shift[j];
    if (inv_smooth) v = v * inv_smooth[j];
    t[j] = v;
    mn = std::min(mn, v);
    mx = std::max(mx, v);
    am = std::max(am, std::fabs(v));
  }
  lo = mn;
  hi = mx;
  absmax = am;
}

// codes = clamp(nearbyint(t * inv) + offset, low, high) + after, in the order quantize_rows
// applies them: symmetric codes are clamped before the +128, asymmetric ones after the zero point.
void round_row_plain(const float* t, int64_t k, float inv, float offset, float low, float high, float after,
                     uint8_t* codes) {
  for (int64_t j = 0; j < k; ++j) {
    float c = std::nearbyint(t[j] * inv) + offset;
    c = std::min(std::max(c, low), high) + after;
    codes[j] = static_cast<uint8_t>(static_cast<int32_t>(c));
  }
}

#if defined(__x86_64__)
// GCC 12 intrinsics initialise their "undefined" vectors from themselves (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) void transform_row_avx512(const float* x, int64_t k, const float* shift,
                                                              const float* inv_smooth, float* t, float& lo,
                                                              float& hi, float& absmax) {
  __m512 mn = _mm512_set1_ps(INFINITY), mx = _mm512_set1_ps(-INFINITY), am = _mm512_setzero_ps();
  for (int64_t j = 0; j < k; j += 16) {
    const __mmask16 mask = k - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - j)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(mask, x + j);
    if (shift) v = _mm512_sub_ps(v, _mm512_maskz_loadu_ps(mask, shift + j));
    if (inv_smooth) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, inv_smooth + j));
    _mm512_mask_storeu_ps(t + j, mask, v);
    mn = _mm512_mask_min_ps(mn, mask, mn, v);
    mx = _mm512_mask_max_ps(mx, mask, mx, v);
    am = _mm512_mask_max_ps(am, mask, am, _mm512_abs_ps(v));
  }
  lo = _mm512_reduce_min_ps(mn);
  hi = _mm512_reduce_max_ps(mx);
  absmax = _mm512_reduce_max_ps(am);
}

__attribute__((target("avx512f"))) void round_row_avx512(const float* t, int64_t k, float inv, float offset,
                                                          float low, float high, float after, uint8_t* codes) {
  const __m512 vinv = _mm512_set1_ps(inv), voffset = _mm512_set1_ps(offset), vlow = _mm512_set1_ps(low),
               vhigh = _mm512_set1_ps(high), vafter = _mm512_set1_ps(after);
  for (int64_t j = 0; j < k; j += 16) {
    const __mmask16 mask = k - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - j)) - 1);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, t + j), vinv);
    v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), voffset);
    v = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(v, vlow), vhigh), vafter);
    _mm512_mask_cvtepi32_storeu_epi8(codes + j, mask, _mm512_cvttps_epi32(v));
  }
}
#pragma GCC diagnostic pop

bool have_avx512() {
  static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f"));
  return yes;
}
#endif

void transform_row(const float* x, int64_t k, const float* shift, const float* inv_smooth, float* t, float& lo,
                   float& hi, float& absmax) {
#if defined(__x86_64__)
  if (have_avx512()) return transform_row_avx512(x, k, shift, inv_smooth, t, lo, hi, absmax);
#endif
  transform_row_plain(x, k, shift, inv_smooth, t, lo, hi, absmax);
}

void round_row(const float* t, int64_t k, float inv, float offset, float low, float high, float after,
               uint8_t* codes) {
#if defined(__x86_64__)
  if (have_avx512()) return round_row_avx512(t, k, inv, offset, low, high, after, codes);
#endif
  round_row_plain(t, k, inv, offset, low, high, after, codes);
}

}  // namespace

QuantizedRows quantize_rows_fast(const at::Tensor& x, const ActivationQuantizer& q, const at::Tensor& shift,
                                 const at::Tensor& inv_smooth) {
  TORCH_CHECK(x.dim() == 2, "quantize_rows_fast expects [rows, features]");
  at::Tensor xf = x.to(at::kFloat).contiguous();
  const int64_t m = xf.size(0), k = xf.size(1);
  at::Tensor sh = shift.defined() ? shift.to(at::kFloat).reshape({-1}).contiguous() : at::Tensor();
  at::Tensor is = inv_smooth.defined() ? inv_smooth.to(at::kFloat).reshape({-1}).contiguous() : at::Tensor();
  TORCH_CHECK(!sh.defined() || sh.numel() == k, "quantize_rows_fast: shift must have one value per feature");
  TORCH_CHECK(!is.defined() || is.numel() == k, "quantize_rows_fast: inv_smooth must have one value per feature");

  QuantizedRows out;
  out.codes = at::empty({m, k}, at::kByte);
  out.scales = at::empty({m}, at::kFloat);
  out.zero_points = at::empty({m}, at::kInt);
  const float* xp = xf.data_ptr<float>();
  const float* shp = sh.defined() ? sh.data_ptr<float>() : nullptr;
  const float* isp = is.defined() ? is.data_ptr<float>() : nullptr;
  uint8_t* cp = out.codes.data_ptr<uint8_t>();
  float* sp = out.scales.data_ptr<float>();
  int32_t* zp = out.zero_points.data_ptr<int32_t>();

  // The same fp32 operations as quantize_rows (tensor ops with double scalars cast to fp32).
  const float levels = static_cast<float>(asymmetric_qmax(q.bits));
  const float qmax = static_cast<float>(symmetric_qmax(q.bits));
  const float clip = q.clip;
  const ActivationScheme scheme = q.scheme;
  const float static_inv = 1.0f / q.static_scale;
  const float static_zero = static_cast<float>(q.static_zero_point);

  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(k, 1));
  at::parallel_for(0, m, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> t(static_cast<size_t>(k));
    for (int64_t i = begin; i < end; ++i) {
      float lo, hi, absmax;
      transform_row(xp + i * k, k, shp, isp, t.data(), lo, hi, absmax);
      uint8_t* codes = cp + i * k;
      if (scheme == ActivationScheme::kStaticPerTensor) {
        round_row(t.data(), k, static_inv, static_zero, 0.0f, levels, 0.0f, codes);
        sp[i] = q.static_scale;
        zp[i] = q.static_zero_point;
      } else if (scheme == ActivationScheme::kDynamicPerTokenSymmetric) {
        const float a = absmax * clip;
        const float scale = a > 0 ? a / qmax : 1.0f;
        round_row(t.data(), k, 1.0f / scale, 0.0f, -qmax, qmax, 128.0f, codes);
        sp[i] = scale;
        zp[i] = 128;
      } else {
        const float l = std::min(lo, 0.0f) * clip;
        const float h = std::max(hi, 0.0f) * clip;
        const float range = h - l;
        const float scale = range > 0 ? range / levels : 1.0f;
        const float zero = std::min(std::max(std::nearbyint(-l / scale), 0.0f), levels);
        round_row(t.data(), k, 1.0f / scale, zero, 0.0f, levels, 0.0f, codes);
        sp[i] = scale;
        zp[i] = static_cast<int32_t>(zero);
      }
    }
  });
  return out;
}

std::string int8_backend_description() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_mic: isa = "avx512_mic"; break;
    case dnnl::cpu_isa::avx512_mic_4ops: isa = "avx512_mic_4ops"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core, no VNNI"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16, VNNI"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "generic"; break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" +
         isa + (int8_products_may_saturate() ? "; no VNNI: split activations, 2 GEMMs" : "") + ")";
}

}  // namespace germ::quant
