#pragma once
// LoRA adapters through GermLinear's hooks, without changing model code (Hu et al. 2021):
//   y = x W^T + b + (alpha / r) * dropout(x) A^T B^T
// with W optionally stored as NF4 and dequantised on the fly: QLoRA and LoftQ, whose base
// weights train/lora_training.hpp chooses through a BaseWeightPolicy. Here because running a
// classifier saved in adapter form needs them as much as fine-tuning does (engine/open_model).
// Attaching freezes every base parameter except the classification head (pooler.dense and
// classifier stay trainable, as PEFT's modules_to_save does for sequence classification);
// the adapters and the head are what the optimizer trains.
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/linear.hpp"
#include "model/transformer.hpp"
#include "quant/nf4.hpp"

namespace germ::engine {

// Targets name linear layers by their module name or any dotted suffix of it: "Wqkv",
// "attention.output.dense", "mlp.wo", "mlp.gated_layers", "encoder.layer.3.mlp.wo", or
// "all-linear" for every linear layer of the transformer blocks (encoder.layer.*).
struct LoraOptions {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.05;
  std::vector<std::string> targets = {"Wqkv"};
  bool double_quant = true;  // QLoRA/LoftQ: NF4 block scales quantised to 8 bits

  double scaling() const { return alpha / static_cast<double>(rank); }
  // germ::Error naming the CLI option (--rank, --alpha, --lora-dropout, --targets) for a
  // non-positive rank or alpha, dropout outside [0, 1) or no targets.
  void validate() const;
};

// The factors of one adapter, delta W = (alpha / r) B A. A [r, in] starts kaiming-uniform
// (bound 1/sqrt(in), as PEFT), B [out, r] starts at zero, so an attached model computes
// exactly what the base model did.
class LoraAdapter : public torch::nn::Module {
 public:
  LoraAdapter(int64_t in_features, int64_t out_features, int64_t rank);
  at::Tensor A, B;
};

// The hook on one linear layer: an optional NF4 base weight (QLoRA, LoftQ) and an optional
// adapter (layers that QLoRA quantises without adapting have none).
class LoraHooks : public model::LinearHooks {
 public:
  LoraHooks(std::weak_ptr<model::GermLinearImpl> linear, std::shared_ptr<LoraAdapter> adapter,
            double scaling, double dropout, std::optional<quant::Nf4Tensor> base);

  at::Tensor replace_forward(const at::Tensor& input) override;
  at::Tensor adjust_output(const at::Tensor& input, const at::Tensor& output) override;

  // The weight the hooks stand for, (dequantised) base + scaling * B A, on the device and in
  // the dtype of the layer's weight parameter.
  at::Tensor merged_weight() const;
  // Moves the NF4 base (LoraSet::to does this for every layer).
  void move_base_to(c10::Device device);
  const std::optional<quant::Nf4Tensor>& quantised_base() const { return base_; }
  const std::shared_ptr<LoraAdapter>& adapter() const { return adapter_; }

 private:
  std::weak_ptr<model::GermLinearImpl> linear_;  // the owner: for bias, weight and train mode
  std::shared_ptr<LoraAdapter> adapter_;
  double scaling_, dropout_;
  std::optional<quant::Nf4Tensor> base_;
  at::ScalarType weight_dtype_;  // what a merge restores
};

// The adapters attached to one model. Its parameters are named "lora.<module name>.A" and
// ".B" (e.g. lora.encoder.layer.0.attention.self.Wqkv.A); give them to the optimizer with
// the head (see trainable_parameters). It is a module of its own, not a child of the model,
// so the model's own files and parameter names stay as they were; move it with ->to() too
// (which also moves the NF4 base weights of QLoRA/LoftQ).
class LoraSet : public torch::nn::Module {
 public:
  struct Entry {
    std::string name;  // the linear layer's module name
    model::GermLinear linear{nullptr};
    std::shared_ptr<LoraHooks> hooks;
  };

  explicit LoraSet(LoraOptions options) : options_(std::move(options)) {}
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;
  const LoraOptions& options() const { return options_; }
  const std::vector<Entry>& entries() const { return entries_; }
  bool merged() const { return merged_; }
  // r * (in + out) summed over the adapted layers.
  int64_t adapter_parameter_count() const;
  // Storage of the NF4 base weights, and what they took in fp32 before (0 for plain LoRA).
  int64_t quantised_bytes() const;
  int64_t replaced_fp32_bytes() const;

 private:
  friend class LoraBuilder;
  friend void merge_lora(model::GermModel& model, LoraSet& set);
  LoraOptions options_;
  std::vector<Entry> entries_;
  bool merged_ = false;
};

// The names targets are matched against: every GermLinear of the model except the trainable
// classification head, in module order.
std::vector<std::string> adaptable_linear_names(model::GermModel& model);

// Attach adapters to the targets (germ::Error listing the available names when a target
// matches nothing, or when a layer already has hooks) and freeze the base model.
std::shared_ptr<LoraSet> attach_lora(model::GermModel& model, const LoraOptions& options);

// How attach_adapters treats the base weights: plain LoRA keeps them in fp32 (no policy);
// QLoRA and LoftQ (train/lora_training.hpp) store transformer-block linears as NF4.
class BaseWeightPolicy {
 public:
  virtual ~BaseWeightPolicy() = default;
  // Whether a layer's weight becomes NF4; `adapted`: the layer is one of the targets.
  virtual bool quantises(const std::string& layer, bool adapted) const = 0;
  // Called for every target before the model is touched: a germ::Error refuses it.
  virtual void check_target(const std::string& layer, const model::GermLinearImpl& linear) const {}
  // The NF4 weight of a layer that quantises(); may initialise the layer's adapter as well
  // (null when the layer is not a target).
  virtual quant::Nf4Tensor quantise(const at::Tensor& weight, LoraAdapter* adapter) const = 0;
};

// attach_lora with the base weights `policy` chooses (null: fp32, as attach_lora). Layers the
// policy quantises get hooks even without an adapter, and their fp32 storage is released: the
// parameter becomes an empty tensor until merge_lora.
std::shared_ptr<LoraSet> attach_adapters(model::GermModel& model, const LoraOptions& options,
                                         const BaseWeightPolicy* policy);

// True for the linear layers of the transformer blocks (encoder.layer.*), what "all-linear" names.
bool in_transformer_blocks(const std::string& layer);

// Folds the adapters into the weights, W = base + (alpha/r) B A (base dequantised for
// QLoRA/LoftQ, restoring the fp32 weight), and removes the hooks. Parameters keep the
// requires_grad that attach gave them. Save a model file only after merging: quantised
// weights are empty tensors until then.
void merge_lora(model::GermModel& model, LoraSet& set);

// Adapter tensors by name ("lora.<module>.A"/".B"), e.g. for ModelBundle::extra_tensors.
std::map<std::string, at::Tensor> lora_tensors(const LoraSet& set);
// Copies saved adapters in; names outside "lora." are ignored (a bundle's other extras).
// germ::Error for a missing adapter tensor, an unknown "lora." name or a shape mismatch.
void load_lora_tensors(LoraSet& set, const std::map<std::string, at::Tensor>& tensors);

}  // namespace germ::engine
