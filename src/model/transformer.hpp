#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "model/config.hpp"
#include "model/linear.hpp"

namespace germ::model {

// Where activations can be observed (outlier statistics, calibration for quantization).
enum class ActivationSite { kFfnOutput, kLayerOutput, kAttentionProbabilities };

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  // Attention probabilities are requested only when this returns true (they cost memory).
  virtual bool wants(ActivationSite site) const { return site != ActivationSite::kAttentionProbabilities; }
  virtual void observe(int64_t layer, ActivationSite site, const at::Tensor& value) = 0;
};

struct HeadProjections {
  at::Tensor q, k, v;  // [B, H, L, D]
};

// One block, named as in DNABERT-2 (attention.self.Wqkv, attention.output.dense,
// attention.output.LayerNorm, mlp.gated_layers, mlp.wo, mlp.layernorm). Post-LN applies the
// two LayerNorms to the residual sums; pre-LN applies the same modules to the branch inputs.
class TransformerLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerLayerImpl(const ModelConfig& config);

  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias,
                     ActivationObserver* observer = nullptr, int64_t layer_index = 0);
  // forward() with causal ALiBi computed block by block in the fused kernel
  // (model/causal_attention.hpp) instead of from an explicit [B, H, L, L] bias;
  // GermModel::hidden_states picks it where it serves.
  at::Tensor forward_causal_alibi(const at::Tensor& x, const at::Tensor& slopes,
                                  ActivationObserver* observer = nullptr, int64_t layer_index = 0);

  // The two halves of forward(), for callers that manage keys and values themselves
  // (the FOCUS scorer keeps focus-token K/V across windows).
  HeadProjections project(const at::Tensor& x) { return project(x, wqkv); }
  // The same with another Q/K/V projection (FOCUS tokens have their own).
  HeadProjections project(const at::Tensor& x, GermLinear& projection);
  at::Tensor complete(const at::Tensor& x, const at::Tensor& context,
                      ActivationObserver* observer = nullptr, int64_t layer_index = 0);
  at::Tensor feed_forward(const at::Tensor& x);
  void set_normaliser(Normaliser normaliser) { config_.normaliser = normaliser; }
  Normaliser normaliser() const { return config_.normaliser; }

  GermLinear wqkv{nullptr}, attention_dense{nullptr}, ffn_in{nullptr}, ffn_out{nullptr};
  torch::nn::LayerNorm attention_norm{nullptr}, ffn_norm{nullptr};

 private:
  ModelConfig config_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(TransformerLayer);

// Encoder or decoder stack with the head its kind needs:
//   encoder-mlm: cls.predictions (dense -> GELU -> LayerNorm -> decoder tied to embeddings)
//   classifier:  pooler.dense -> tanh on [CLS] (or the mean over the tokens: config.pooling)
//                -> dropout -> classifier
//   causal-lm:   lm_head over the final hidden states
class GermModelImpl : public torch::nn::Module {
 public:
  GermModelImpl(const ModelConfig& config, ModelKind kind);

  // ids [B, L] int64; attention_mask [B, L] (1 token, 0 padding) or undefined.
  at::Tensor hidden_states(const at::Tensor& ids, const at::Tensor& attention_mask = {},
                           ActivationObserver* observer = nullptr);
  // Token logits [B, L, vocab] (mlm, clm) or class logits [B, num_labels] (classifier).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& attention_mask = {},
                     ActivationObserver* observer = nullptr);
  // attention_mask: as hidden_states' (a classifier with mean pooling averages over its tokens).
  at::Tensor head(const at::Tensor& hidden, const at::Tensor& attention_mask = {});
  at::Tensor embed(const at::Tensor& ids);
  at::Tensor final_norm(const at::Tensor& hidden);

  // The attention bias for a batch: ALiBi (+ causal) + key padding, [B or 1, H, L, L].
  at::Tensor attention_bias(int64_t length, const at::Tensor& attention_mask, at::ScalarType dtype,
                            c10::Device device) const;

  const ModelConfig& config() const { return config_; }
  ModelKind kind() const { return kind_; }
  int64_t parameter_count() const;
  const at::Tensor& slopes() const { return slopes_; }

  // Replaces the attention normaliser (GERM-T continues a softmax model with Softmax_1).
  void set_normaliser(Normaliser normaliser);
  // Causal models on the CPU attend through the fused kernel unless this is off (tests and
  // benches compare the two paths).
  void set_fused_attention(bool on) { fused_attention_ = on; }

  torch::nn::Embedding word_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm embedding_norm{nullptr}, output_norm{nullptr};
  std::vector<TransformerLayer> layers;
  GermLinear mlm_transform{nullptr}, pooler{nullptr}, classifier{nullptr}, lm_head{nullptr};
  torch::nn::LayerNorm mlm_norm{nullptr};
  at::Tensor mlm_bias;

 private:
  ModelConfig config_;
  ModelKind kind_;
  torch::nn::Dropout dropout_{nullptr};
  at::Tensor slopes_;
  bool fused_attention_ = true;

  bool uses_fused_attention(const at::Tensor& h, const at::Tensor& attention_mask,
                            const ActivationObserver* observer) const;
};
TORCH_MODULE(GermModel);

}  // namespace germ::model
