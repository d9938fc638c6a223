#include "model/causal_attention.hpp"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "model/attention_kernels.hpp"

namespace germ::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Everything one block of query rows [begin, end) needs: its keys are 0 .. end-1.
struct Blocks {
  at::Tensor q, k, v;             // [B*H, L, D], contiguous
  std::vector<float> tile_slopes;  // one per (sequence, head)
  float scale = 1;
  bool softmax1 = true;
  int64_t block = 128;
  int threads = 1;

  int64_t length() const { return q.size(1); }

  // Probabilities of rows [begin, end) over keys [0, end): [B*H, end - begin, end].
  at::Tensor probabilities(int64_t begin, int64_t end) const {
    at::Tensor scores = at::bmm(q.slice(1, begin, end), k.slice(1, 0, end).transpose(1, 2)).contiguous();
    CausalTiles tiles;
    tiles.scores = scores.data_ptr<float>();
    tiles.tiles = scores.size(0), tiles.rows = end - begin, tiles.columns = end;
    tiles.first_query = begin;
    tiles.slopes = tile_slopes.data();
    tiles.scale = scale, tiles.softmax1 = softmax1, tiles.threads = threads;
    causal_softmax_tiles(tiles);
    return scores;
  }
};

Blocks make_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                   bool softmax1, int64_t block) {
  const int64_t batch = q.size(0), heads = q.size(1), length = q.size(2), dim = q.size(3);
  Blocks b;
  b.q = q.contiguous().view({batch * heads, length, dim});
  b.k = k.contiguous().view({batch * heads, length, dim});
  b.v = v.contiguous().view({batch * heads, length, dim});
  at::Tensor s = slopes.to(at::kFloat).contiguous();
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t h = 0; h < heads; ++h) b.tile_slopes.push_back(s.data_ptr<float>()[h]);
  b.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
  b.softmax1 = softmax1;
  b.block = block;
  b.threads = at::get_num_threads();
  return b;
}

at::Tensor blocked_forward(const Blocks& b) {
  std::vector<at::Tensor> outputs;
  for (int64_t begin = 0; begin < b.length(); begin += b.block) {
    const int64_t end = std::min(b.length(), begin + b.block);
    outputs.push_back(at::bmm(b.probabilities(begin, end), b.v.slice(1, 0, end)));
  }
  return at::cat(outputs, 1);
}

struct CausalAlibiAttention : public torch::autograd::Function<CausalAlibiAttention> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& slopes, bool softmax1, int64_t block) {
    Blocks b = make_blocks(q, k, v, slopes, softmax1, block);
    at::Tensor out = blocked_forward(b).view(q.sizes());
    ctx->save_for_backward({q, k, v, slopes, out});
    ctx->saved_data["softmax1"] = softmax1;
    ctx->saved_data["block"] = block;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &out = saved[4];
    Blocks b = make_blocks(q, saved[1], saved[2], saved[3], ctx->saved_data["softmax1"].toBool(),
                           ctx->saved_data["block"].toInt());
    const int64_t tiles = b.q.size(0), length = b.length(), dim = b.q.size(2);
    at::Tensor d_out = grads[0].contiguous().view({tiles, length, dim});
    at::Tensor outputs = out.contiguous().view({tiles, length, dim});
    at::Tensor d_k = at::zeros_like(b.k), d_v = at::zeros_like(b.v);
    std::vector<at::Tensor> d_q;
    for (int64_t begin = 0; begin < length; begin += b.block) {
      const int64_t end = std::min(length, begin + b.block);
      at::Tensor p = b.probabilities(begin, end);
      at::Tensor d_out_block = d_out.slice(1, begin, end);
      at::Tensor d_s = at::bmm(d_out_block, b.v.slice(1, 0, end).transpose(1, 2)).contiguous();  // dP
      at::Tensor delta = (d_out_block * outputs.slice(1, begin, end)).sum(-1).contiguous();  // dO_r . O_r
      softmax_backward_tiles(p.data_ptr<float>(), d_s.data_ptr<float>(), delta.data_ptr<float>(), tiles,
                             end - begin, end, b.threads);
      d_q.push_back(at::bmm(d_s, b.k.slice(1, 0, end)).mul_(b.scale));
      d_k.slice(1, 0, end).baddbmm_(d_s.transpose(1, 2), b.q.slice(1, begin, end), 1.0, b.scale);
      d_v.slice(1, 0, end).baddbmm_(p.transpose(1, 2), d_out_block);
    }
    at::Tensor d_query = at::cat(d_q, 1).view(q.sizes());
    return {d_query, d_k.view(q.sizes()), d_v.view(q.sizes()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool causal_alibi_attention_serves(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat;
}

at::Tensor causal_alibi_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& slopes, Normaliser normaliser, int64_t query_block) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "causal_alibi_attention: q, k, v must be [B, H, L, D] of one shape");
  TORCH_CHECK(slopes.numel() == q.size(1), "causal_alibi_attention: one slope per head");
  TORCH_CHECK(causal_alibi_attention_serves(q) && query_block > 0, "causal_alibi_attention: CPU float32 only");
  return CausalAlibiAttention::apply(q, k, v, slopes, normaliser == Normaliser::kSoftmax1, query_block);
}

}  // namespace germ::model
