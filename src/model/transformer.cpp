#include "model/transformer.hpp"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include "model/attention.hpp"
#include "model/causal_attention.hpp"
#include "model/inference_kernels.hpp"
#include "model/module_path.hpp"
#include "model/sample_dropout.hpp"
#include "util/error.hpp"

namespace germ::model {
namespace {

namespace F = torch::nn::functional;

torch::nn::LayerNorm make_norm(const ModelConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden}).eps(c.layer_norm_eps));
}

at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  // [B, L, H*D] -> [B, H, L, D]
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}

}  // namespace

TransformerLayerImpl::TransformerLayerImpl(const ModelConfig& c) : config_(c) {
  wqkv = register_at(*this, "attention.self.Wqkv", GermLinear(c.hidden, 3 * c.hidden));
  attention_dense = register_at(*this, "attention.output.dense", GermLinear(c.hidden, c.hidden));
  attention_norm = register_at(*this, "attention.output.LayerNorm", make_norm(c));
  if (c.ffn == FfnKind::kGeglu)
    ffn_in = register_at(*this, "mlp.gated_layers", GermLinear(c.hidden, 2 * c.intermediate, false));
  else
    ffn_in = register_at(*this, "mlp.dense", GermLinear(c.hidden, c.intermediate));
  ffn_out = register_at(*this, "mlp.wo", GermLinear(c.intermediate, c.hidden));
  ffn_norm = register_at(*this, "mlp.layernorm", make_norm(c));
  dropout_ = register_module("dropout", torch::nn::Dropout(c.dropout));
}

HeadProjections TransformerLayerImpl::project(const at::Tensor& x, GermLinear& projection) {
  at::Tensor input = config_.norm == NormPlacement::kPre ? attention_norm(x) : x;
  auto qkv = projection(input).chunk(3, -1);
  return {split_heads(qkv[0], config_.heads), split_heads(qkv[1], config_.heads),
          split_heads(qkv[2], config_.heads)};
}

at::Tensor TransformerLayerImpl::feed_forward(const at::Tensor& x) {
  at::Tensor h = ffn_in(x);
  if (config_.ffn == FfnKind::kGeglu && !at::GradMode::is_enabled() && h.device().is_cpu() &&
      h.scalar_type() == at::kFloat && h.is_contiguous()) {
    // Inference on the CPU: one vectorised pass instead of gelu, a copy and a multiply.
    const int64_t width = h.size(-1) / 2;
    std::vector<int64_t> shape(h.sizes().begin(), h.sizes().end());
    shape.back() = width;
    at::Tensor gated = at::empty(shape, h.options());
    geglu_rows(h.data_ptr<float>(), h.numel() / h.size(-1), width, gated.data_ptr<float>());
    return ffn_out(gated);
  }
  if (config_.ffn == FfnKind::kGeglu) {
    auto parts = h.chunk(2, -1);
    h = F::gelu(parts[0]) * parts[1];
  } else {
    h = F::gelu(h);
  }
  return ffn_out(sample_dropout(h, dropout_->options.p(), is_training()));
}

at::Tensor TransformerLayerImpl::complete(const at::Tensor& x, const at::Tensor& context,
                                          ActivationObserver* observer, int64_t layer_index) {
  at::Tensor merged = context.transpose(1, 2).reshape({x.size(0), x.size(1), config_.hidden});
  at::Tensor attended = sample_dropout(attention_dense(merged), dropout_->options.p(), is_training());
  at::Tensor ffn_output, out;
  if (config_.norm == NormPlacement::kPost) {
    at::Tensor h = attention_norm(x + attended);
    ffn_output = feed_forward(h);
    out = ffn_norm(h + sample_dropout(ffn_output, dropout_->options.p(), is_training()));
  } else {
    at::Tensor h = x + attended;
    ffn_output = feed_forward(ffn_norm(h));
    out = h + sample_dropout(ffn_output, dropout_->options.p(), is_training());
  }
  if (observer) {
    observer->observe(layer_index, ActivationSite::kFfnOutput, ffn_output);
    observer->observe(layer_index, ActivationSite::kLayerOutput, out);
  }
  return out;
}

at::Tensor TransformerLayerImpl::forward(const at::Tensor& x, const at::Tensor& bias,
                                         ActivationObserver* observer, int64_t layer_index) {
  HeadProjections p = project(x);
  bool want_probs = observer && observer->wants(ActivationSite::kAttentionProbabilities);
  at::Tensor probabilities;
  at::Tensor context = attend(p.q, p.k, p.v, bias, config_.normaliser, config_.attention_dropout,
                              is_training(), want_probs ? &probabilities : nullptr);
  if (want_probs) observer->observe(layer_index, ActivationSite::kAttentionProbabilities, probabilities);
  return complete(x, context, observer, layer_index);
}

at::Tensor TransformerLayerImpl::forward_causal_alibi(const at::Tensor& x, const at::Tensor& slopes,
                                                      ActivationObserver* observer, int64_t layer_index) {
  HeadProjections p = project(x);
  if (!causal_alibi_attention_serves(p.q)) {  // autocast (bf16) made q, k and v another type
    at::Tensor bias = alibi_bias(slopes, x.size(1), /*causal=*/true).to(p.q.options()).unsqueeze(0);
    return complete(x, attend(p.q, p.k, p.v, bias, config_.normaliser, config_.attention_dropout, is_training()),
                    observer, layer_index);
  }
  return complete(x, causal_alibi_attention(p.q, p.k, p.v, slopes, config_.normaliser), observer, layer_index);
}

GermModelImpl::GermModelImpl(const ModelConfig& c, ModelKind kind) : config_(c), kind_(kind) {
  c.validate();
  if (kind == ModelKind::kClassifier && c.num_labels < 2)
    throw Error("config", "a classifier needs num_labels >= 2");
  if (kind == ModelKind::kCausalLm && c.mask != MaskKind::kCausal)
    throw Error("config", "a causal LM needs mask 'causal'");
  word_embeddings = register_at(*this, "embeddings.word_embeddings", torch::nn::Embedding(c.vocab, c.hidden));
  torch::nn::init::normal_(word_embeddings->weight, 0.0, 0.02);
  if (c.type_vocab > 0) {
    token_type_embeddings = register_at(*this, "embeddings.token_type_embeddings",
                                        torch::nn::Embedding(c.type_vocab, c.hidden));
    torch::nn::init::normal_(token_type_embeddings->weight, 0.0, 0.02);
  }
  if (c.norm == NormPlacement::kPost)
    embedding_norm = register_at(*this, "embeddings.LayerNorm", make_norm(c));
  for (int64_t i = 0; i < c.layers; ++i)
    layers.push_back(register_at(*this, "encoder.layer." + std::to_string(i), TransformerLayer(c)));
  if (c.norm == NormPlacement::kPre) output_norm = register_at(*this, "encoder.final_norm", make_norm(c));
  dropout_ = register_module("dropout", torch::nn::Dropout(c.dropout));

  if (kind == ModelKind::kEncoderMlm) {
    mlm_transform = register_at(*this, "cls.predictions.transform.dense", GermLinear(c.hidden, c.hidden));
    mlm_norm = register_at(*this, "cls.predictions.transform.LayerNorm", make_norm(c));
    // The decoder weight is tied to the word embeddings (as in BERT); only its bias is new.
    mlm_bias = container_at(*this, "cls.predictions").register_parameter("bias", torch::zeros({c.vocab}));
  } else if (kind == ModelKind::kClassifier) {
    pooler = register_at(*this, "pooler.dense", GermLinear(c.hidden, c.hidden));
    classifier = register_at(*this, "classifier", GermLinear(c.hidden, c.num_labels));
  } else {
    lm_head = register_at(*this, "lm_head", GermLinear(c.hidden, c.vocab));
  }
  slopes_ = alibi_slopes(c.heads, c.alibi_max_bias);
}

at::Tensor GermModelImpl::attention_bias(int64_t length, const at::Tensor& attention_mask,
                                         at::ScalarType dtype, c10::Device device) const {
  at::Tensor bias = alibi_bias(slopes_, length, config_.mask == MaskKind::kCausal)
                        .to(device, dtype)
                        .unsqueeze(0);  // [1, H, L, L]
  if (attention_mask.defined()) bias = bias + padding_bias(attention_mask, dtype);
  return bias;
}

bool GermModelImpl::uses_fused_attention(const at::Tensor& h, const at::Tensor& attention_mask,
                                         const ActivationObserver* observer) const {
  // The kernel knows causal ALiBi only: no padding, no attention dropout, no probabilities out.
  return fused_attention_ && config_.mask == MaskKind::kCausal && !attention_mask.defined() &&
         causal_alibi_attention_serves(h) && !(observer && observer->wants(ActivationSite::kAttentionProbabilities)) &&
         !(is_training() && config_.attention_dropout > 0);
}

at::Tensor GermModelImpl::embed(const at::Tensor& ids) {
  at::Tensor h = word_embeddings(ids);
  if (token_type_embeddings) h = h + token_type_embeddings->weight[0];
  if (embedding_norm) h = embedding_norm(h);
  return sample_dropout(h, dropout_->options.p(), is_training());
}

at::Tensor GermModelImpl::final_norm(const at::Tensor& hidden) {
  return output_norm ? output_norm(hidden) : hidden;
}

at::Tensor GermModelImpl::hidden_states(const at::Tensor& ids, const at::Tensor& attention_mask,
                                        ActivationObserver* observer) {
  TORCH_CHECK(ids.dim() == 2, "input ids must be [batch, length]");
  at::Tensor h = embed(ids);
  if (uses_fused_attention(h, attention_mask, observer)) {
    for (size_t i = 0; i < layers.size(); ++i) h = layers[i]->forward_causal_alibi(h, slopes_, observer, i);
    return final_norm(h);
  }
  at::Tensor bias = attention_bias(ids.size(1), attention_mask, h.scalar_type(), h.device());
  for (size_t i = 0; i < layers.size(); ++i) h = layers[i]->forward(h, bias, observer, i);
  return final_norm(h);
}

at::Tensor GermModelImpl::head(const at::Tensor& hidden, const at::Tensor& attention_mask) {
  switch (kind_) {
    case ModelKind::kEncoderMlm: {
      at::Tensor h = mlm_norm(F::gelu(mlm_transform(hidden)));
      return F::linear(h, word_embeddings->weight, mlm_bias);
    }
    case ModelKind::kClassifier: {
      using namespace torch::indexing;
      at::Tensor summary;
      if (config_.pooling == Pooling::kCls) {
        summary = hidden.index({Slice(), 0});
      } else if (attention_mask.defined()) {
        at::Tensor weight = attention_mask.to(hidden.scalar_type()).unsqueeze(-1);  // [B, L, 1]
        summary = (hidden * weight).sum(1) / weight.sum(1).clamp_min(1);
      } else {
        summary = hidden.mean(1);
      }
      at::Tensor pooled = at::tanh(pooler(summary));
      return classifier(sample_dropout(pooled, dropout_->options.p(), is_training()));
    }
    case ModelKind::kCausalLm:
      return lm_head(hidden);
  }
  return {};
}

at::Tensor GermModelImpl::forward(const at::Tensor& ids, const at::Tensor& attention_mask,
                                  ActivationObserver* observer) {
  return head(hidden_states(ids, attention_mask, observer), attention_mask);
}

int64_t GermModelImpl::parameter_count() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

void GermModelImpl::set_normaliser(Normaliser normaliser) {
  config_.normaliser = normaliser;
  for (auto& layer : layers) layer->set_normaliser(normaliser);
}

}  // namespace germ::model
