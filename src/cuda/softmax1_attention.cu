// Fused Softmax_1 attention forward (see softmax1_attention.hpp). One thread per query row,
// 64 rows per block; keys and values stream through shared memory in tiles of 32, and each
// row keeps its running max, sum and output in registers (online_softmax.hpp), updated key by
// key, so memory traffic is one read of Q, K, V and one write of the output and no score
// matrix exists. fp32 accumulation for bf16 inputs. A first, simple kernel: no tensor cores.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>

#include "cuda/online_softmax.hpp"
#include "cuda/softmax1_attention.hpp"

namespace germ::cuda {
namespace {

constexpr int kRowsPerBlock = 64;
constexpr int kKeysPerTile = 32;

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ inline void store(float* p, float x) { *p = x; }
__device__ inline void store(__nv_bfloat16* p, float x) { *p = __float2bfloat16(x); }

template <int D, typename T>
__global__ void __launch_bounds__(kRowsPerBlock) attention_forward(AttentionShape shape, AttentionInputs in,
                                                                   float scale) {
  __shared__ float key_tile[kKeysPerTile][D];
  __shared__ float value_tile[kKeysPerTile][D];
  const int64_t bh = blockIdx.y, batch = bh / shape.heads, head = bh % shape.heads;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x;
  const bool active = row < shape.queries;
  const T* q = static_cast<const T*>(in.q) + (bh * shape.queries + (active ? row : 0)) * D;
  const T* k = static_cast<const T*>(in.k) + bh * shape.keys * D;
  const T* v = static_cast<const T*>(in.v) + bh * shape.keys * D;
  const uint8_t* keep = in.key_keep ? in.key_keep + batch * shape.keys : nullptr;
  const float slope = in.slopes ? in.slopes[head] : 0.0f;
  const float query_position = active && in.query_positions ? in.query_positions[row] : 0.0f;

  float query[D], output[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    query[d] = active ? to_float(q[d]) * scale : 0.0f;
    output[d] = 0.0f;
  }
  OnlineSoftmax state = OnlineSoftmax::start(in.softmax1);

  for (int64_t first = 0; first < shape.keys; first += kKeysPerTile) {
    for (int i = threadIdx.x; i < kKeysPerTile * D; i += blockDim.x) {
      const int64_t key = first + i / D;
      const bool inside = key < shape.keys;
      key_tile[i / D][i % D] = inside ? to_float(k[key * D + i % D]) : 0.0f;
      value_tile[i / D][i % D] = inside ? to_float(v[key * D + i % D]) : 0.0f;
    }
    __syncthreads();
    if (active) {
      // Key by key: the running max rarely rises after the first keys, so the rescale of the
      // output (D multiplies) is rare, and no per-tile score array is needed.
      const int64_t in_tile = shape.keys - first < kKeysPerTile ? shape.keys - first : kKeysPerTile;
#pragma unroll 1
      for (int j = 0; j < in_tile; ++j) {
        const int64_t key = first + j;
        if (keep && !keep[key]) continue;
        float dot = 0.0f;
#pragma unroll
        for (int d = 0; d < D; ++d) dot += query[d] * key_tile[j][d];
        const float key_position = in.key_positions ? in.key_positions[key] : 0.0f;
        const float score = dot + alibi_score_bias(slope, query_position, key_position, in.causal);
        const float factor = state.rescale_to(score);
        if (factor != 1.0f) {
#pragma unroll
          for (int d = 0; d < D; ++d) output[d] *= factor;
        }
        const float weight = state.weight(score);
        if (weight == 0.0f) continue;
        state.sum += weight;
#pragma unroll
        for (int d = 0; d < D; ++d) output[d] += weight * value_tile[j][d];
      }
    }
    __syncthreads();
  }
  if (!active) return;
  const float inverse = state.inverse();
  T* out = static_cast<T*>(in.out) + (bh * shape.queries + row) * D;
#pragma unroll
  for (int d = 0; d < D; ++d) store(out + d, output[d] * inverse);
}

template <int D>
int launch(const AttentionShape& shape, const AttentionInputs& inputs, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((shape.queries + kRowsPerBlock - 1) / kRowsPerBlock),
                  static_cast<unsigned>(shape.batch * shape.heads));
  const float scale = 1.0f / sqrtf(static_cast<float>(D));
  if (inputs.precision == Precision::kBFloat16)
    attention_forward<D, __nv_bfloat16><<<grid, kRowsPerBlock, 0, stream>>>(shape, inputs, scale);
  else
    attention_forward<D, float><<<grid, kRowsPerBlock, 0, stream>>>(shape, inputs, scale);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int softmax1_attention_forward(const AttentionShape& shape, const AttentionInputs& inputs, void* stream) {
  if (shape.batch <= 0 || shape.heads <= 0 || shape.queries <= 0 || shape.keys < 0)
    return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (shape.head_dim) {
    case 32: return launch<32>(shape, inputs, s);
    case 64: return launch<64>(shape, inputs, s);
    case 128: return launch<128>(shape, inputs, s);
    default: return static_cast<int>(cudaErrorInvalidValue);
  }
}

}  // namespace germ::cuda
