#include "cuda/attention_glue.hpp"

#include "util/error.hpp"

#ifdef GERM_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "cuda/softmax1_attention.hpp"
#endif

namespace germ::cuda {

#ifdef GERM_WITH_CUDA_KERNELS

bool cuda_kernels_built() { return true; }

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                           const at::Tensor& query_positions, const at::Tensor& key_positions,
                           const at::Tensor& key_keep, bool causal, bool softmax1) {
  TORCH_CHECK(q.is_cuda() && k.device() == q.device() && v.device() == q.device(), "fused_attention: CUDA tensors");
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.sizes() == k.sizes(), "fused_attention: [B, H, L, D] tensors");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type() &&
                  (q.scalar_type() == at::kFloat || q.scalar_type() == at::kBFloat16),
              "fused_attention: float32 or bfloat16");
  AttentionShape shape{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3)};
  TORCH_CHECK(k.size(0) == shape.batch && k.size(1) == shape.heads && k.size(3) == shape.head_dim,
              "fused_attention: q and k disagree");
  at::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  at::Tensor out = at::empty_like(qc);
  at::Tensor s = slopes.to(q.device(), at::kFloat).contiguous();
  at::Tensor qp = query_positions.to(q.device(), at::kFloat).contiguous();
  at::Tensor kp = key_positions.to(q.device(), at::kFloat).contiguous();
  at::Tensor keep = key_keep.defined() ? key_keep.to(q.device(), at::kByte).contiguous() : at::Tensor();
  TORCH_CHECK(s.numel() == shape.heads && qp.numel() == shape.queries && kp.numel() == shape.keys,
              "fused_attention: slopes or positions of the wrong length");
  TORCH_CHECK(!keep.defined() || keep.numel() == shape.batch * shape.keys, "fused_attention: key_keep [B, Lk]");
  AttentionInputs inputs;
  inputs.q = qc.data_ptr();
  inputs.k = kc.data_ptr();
  inputs.v = vc.data_ptr();
  inputs.out = out.data_ptr();
  inputs.slopes = s.data_ptr<float>();
  inputs.query_positions = qp.data_ptr<float>();
  inputs.key_positions = kp.data_ptr<float>();
  inputs.key_keep = keep.defined() ? keep.data_ptr<uint8_t>() : nullptr;
  inputs.causal = causal;
  inputs.softmax1 = softmax1;
  inputs.precision = q.scalar_type() == at::kBFloat16 ? Precision::kBFloat16 : Precision::kFloat32;
  const int status = softmax1_attention_forward(shape, inputs, c10::cuda::getCurrentCUDAStream(q.get_device()).stream());
  if (status != 0)
    throw Error("CUDA attention", "kernel launch failed (error " + std::to_string(status) +
                                      "; head size must be 32, 64 or 128)");
  return out;
}

#else

bool cuda_kernels_built() { return false; }

at::Tensor fused_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                           const at::Tensor&, const at::Tensor&, const at::Tensor&, bool, bool) {
  throw Error("--device", "this germ was built without its CUDA kernels (rebuild with -DGERM_CUDA=ON)");
}

#endif

}  // namespace germ::cuda
