#include "engine/lora.hpp"

#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/module_path.hpp"
#include "model/sample_dropout.hpp"
#include "util/error.hpp"

namespace germ::engine {
namespace {

namespace F = torch::nn::functional;

constexpr const char* kAllLinear = "all-linear";
constexpr const char* kBlockPrefix = "encoder.layer.";
constexpr const char* kAdapterPrefix = "lora.";

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// The classification head is trained in full: a new task's head starts from scratch.
bool is_head(const std::string& name) { return starts_with(name, "pooler.") || starts_with(name, "classifier."); }

bool in_blocks(const std::string& name) { return starts_with(name, kBlockPrefix); }

// "encoder.layer.11.mlp.wo" -> "encoder.layer.*.mlp.wo", to list names once, not per layer.
std::string generic_name(const std::string& name) {
  if (!in_blocks(name)) return name;
  size_t end = name.find('.', std::strlen(kBlockPrefix));
  return end == std::string::npos ? name : std::string(kBlockPrefix) + "*" + name.substr(end);
}

// A target matches a module name equal to it or ending in "." + target (whole components).
bool target_matches(const std::string& name, const std::string& target) {
  if (target == kAllLinear) return in_blocks(name);
  if (name.size() < target.size() || name.compare(name.size() - target.size(), target.size(), target) != 0)
    return false;
  return name.size() == target.size() || name[name.size() - target.size() - 1] == '.';
}

using model::NamedLinear;

std::vector<NamedLinear> adaptable_linears(model::GermModel& model) {
  std::vector<NamedLinear> out;
  for (auto& l : model::named_linears(*model))
    if (!is_head(l.name + ".")) out.push_back(std::move(l));
  return out;
}

std::vector<bool> select_targets(const std::vector<NamedLinear>& linears, const std::vector<std::string>& targets) {
  std::vector<bool> selected(linears.size(), false);
  for (const auto& target : targets) {
    bool any = false;
    for (size_t i = 0; i < linears.size(); ++i)
      if (target_matches(linears[i].name, target)) selected[i] = any = true;
    if (any) continue;
    std::vector<std::string> available;
    for (const auto& l : linears) {
      std::string name = generic_name(l.name);
      if (std::find(available.begin(), available.end(), name) == available.end()) available.push_back(name);
    }
    std::string list;
    for (const auto& name : available) list += name + ", ";
    throw Error("--targets", "'" + target + "' matches no linear layer; available: " + list + kAllLinear +
                                      " (or any dotted suffix, e.g. Wqkv, mlp.wo)");
  }
  return selected;
}

}  // namespace

void LoraOptions::validate() const {
  if (rank < 1) throw Error("--rank", "must be at least 1, got " + std::to_string(rank));
  if (!(alpha > 0)) throw Error("--alpha", "must be positive");
  if (!(dropout >= 0 && dropout < 1)) throw Error("--lora-dropout", "must be in [0, 1)");
  if (targets.empty()) throw Error("--targets", "needs at least one target");
}

LoraAdapter::LoraAdapter(int64_t in_features, int64_t out_features, int64_t rank) {
  A = register_parameter("A", torch::empty({rank, in_features}));
  // kaiming_uniform_ with a = sqrt(5) (nn.Linear's default, which PEFT keeps for lora_A).
  torch::nn::init::kaiming_uniform_(A, std::sqrt(5.0));
  B = register_parameter("B", torch::zeros({out_features, rank}));
}

LoraHooks::LoraHooks(std::weak_ptr<model::GermLinearImpl> linear, std::shared_ptr<LoraAdapter> adapter,
                     double scaling, double dropout, std::optional<quant::Nf4Tensor> base)
    : linear_(std::move(linear)), adapter_(std::move(adapter)), scaling_(scaling), dropout_(dropout),
      base_(std::move(base)) {
  auto owner = linear_.lock();
  TORCH_CHECK(owner, "LoRA hooks need their linear layer");
  weight_dtype_ = owner->weight.scalar_type();
}

at::Tensor LoraHooks::replace_forward(const at::Tensor& input) {
  if (!base_) return {};
  auto owner = linear_.lock();
  // A no-op when the set was moved with the model; otherwise correct, if slower.
  at::Tensor weight = quant::nf4_dequantize(*base_).to(input.device(), input.scalar_type());
  return F::linear(input, weight, owner->bias);
}

at::Tensor LoraHooks::adjust_output(const at::Tensor& input, const at::Tensor& output) {
  if (!adapter_) return output;
  // Dropout follows the layer's train/eval mode, so model->eval() is all a caller needs.
  bool training = linear_.lock()->is_training();
  at::Tensor x = dropout_ > 0 && training ? model::sample_dropout(input, dropout_, true) : input;
  return output + F::linear(F::linear(x, adapter_->A), adapter_->B) * scaling_;
}

at::Tensor LoraHooks::merged_weight() const {
  at::NoGradGuard no_grad;
  // The (possibly empty) parameter says where the model lives now.
  const at::Tensor& parameter = linear_.lock()->weight;
  auto on_device = [&](const at::Tensor& t) { return t.detach().to(parameter.device(), at::kFloat); };
  at::Tensor w = on_device(base_ ? quant::nf4_dequantize(*base_) : parameter);
  if (adapter_) w = w + on_device(adapter_->B).mm(on_device(adapter_->A)) * scaling_;
  return w.to(weight_dtype_);
}

void LoraHooks::move_base_to(c10::Device device) {
  if (base_) base_ = base_->to(device);
}

void LoraSet::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  for (auto& e : entries_) e.hooks->move_base_to(device);
}

void LoraSet::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  for (auto& e : entries_) e.hooks->move_base_to(device);
}

int64_t LoraSet::adapter_parameter_count() const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

int64_t LoraSet::quantised_bytes() const {
  int64_t total = 0;
  for (const auto& e : entries_)
    if (e.hooks->quantised_base()) total += quant::nf4_bytes(*e.hooks->quantised_base());
  return total;
}

int64_t LoraSet::replaced_fp32_bytes() const {
  int64_t total = 0;
  for (const auto& e : entries_)
    if (e.hooks->quantised_base()) total += e.hooks->quantised_base()->numel * 4;
  return total;
}

// Builds a LoraSet; a friend of LoraSet so that the set's entries stay read-only outside.
class LoraBuilder {
 public:
  static std::shared_ptr<LoraSet> attach(model::GermModel& model, const LoraOptions& options,
                                         const BaseWeightPolicy* policy) {
    options.validate();
    std::vector<NamedLinear> linears = adaptable_linears(model);
    std::vector<bool> adapted = select_targets(linears, options.targets);
    auto quantised = [&](size_t i) { return policy && policy->quantises(linears[i].name, adapted[i]); };
    auto touched = [&](size_t i) { return adapted[i] || quantised(i); };
    // Everything that can fail is checked before the model is touched.
    for (size_t i = 0; i < linears.size(); ++i) {
      const auto& linear = linears[i].linear;
      if (touched(i) && linear->hooks())
        throw Error("lora", linears[i].name + " already has hooks (adapters attached twice?)");
      if (adapted[i] && policy) policy->check_target(linears[i].name, *linear);
    }

    at::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) item.value().set_requires_grad(is_head(item.key()));
    auto set = std::make_shared<LoraSet>(options);
    for (size_t i = 0; i < linears.size(); ++i) {
      if (!touched(i)) continue;
      auto& [name, linear] = linears[i];
      at::Tensor& weight = linear->weight;
      std::shared_ptr<LoraAdapter> adapter;
      if (adapted[i]) {
        adapter = model::register_at(*set, kAdapterPrefix + name,
                                     std::make_shared<LoraAdapter>(linear->in_features, linear->out_features,
                                                                   options.rank));
        adapter->to(weight.device(), weight.scalar_type());
      }
      std::optional<quant::Nf4Tensor> nf4;
      if (quantised(i)) nf4 = policy->quantise(weight, adapter.get());
      auto hooks = std::make_shared<LoraHooks>(linear.ptr(), adapter, options.scaling(), options.dropout, nf4);
      // The fp32 copy goes: the NF4 codes are the weight from now on (merge_lora restores it).
      if (nf4) weight.set_data(at::empty({0}, weight.options()));
      linear->set_hooks(hooks);
      set->entries_.push_back({name, linear, hooks});
    }
    return set;
  }
};

std::vector<std::string> adaptable_linear_names(model::GermModel& model) {
  std::vector<std::string> names;
  for (const auto& l : adaptable_linears(model)) names.push_back(l.name);
  return names;
}

std::shared_ptr<LoraSet> attach_lora(model::GermModel& model, const LoraOptions& options) {
  return LoraBuilder::attach(model, options, nullptr);
}

std::shared_ptr<LoraSet> attach_adapters(model::GermModel& model, const LoraOptions& options,
                                         const BaseWeightPolicy* policy) {
  return LoraBuilder::attach(model, options, policy);
}

bool in_transformer_blocks(const std::string& layer) { return in_blocks(layer); }

void merge_lora(model::GermModel& model, LoraSet& set) {
  if (set.merged_) throw Error("lora", "the adapters are already merged");
  auto modules = model->named_modules();
  for (const auto& e : set.entries_) {
    auto* found = modules.find(e.name);
    if (!found || found->get() != e.linear.ptr().get())
      throw Error("lora", "the adapters belong to another model (" + e.name + ")");
  }
  at::NoGradGuard no_grad;
  for (auto& e : set.entries_) {
    e.linear->weight.set_data(e.hooks->merged_weight());
    e.linear->set_hooks(nullptr);
  }
  set.merged_ = true;
}

std::map<std::string, at::Tensor> lora_tensors(const LoraSet& set) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : set.named_parameters()) out.emplace(item.key(), item.value().detach());
  return out;
}

void load_lora_tensors(LoraSet& set, const std::map<std::string, at::Tensor>& tensors) {
  auto parameters = set.named_parameters();
  for (const auto& [name, tensor] : tensors)
    if (starts_with(name, kAdapterPrefix) && !parameters.find(name))
      throw Error("lora", "unknown adapter tensor " + name + " (saved with other targets?)");
  at::NoGradGuard no_grad;
  for (auto& item : parameters) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw Error("lora", "missing adapter tensor " + item.key());
    if (it->second.sizes() != item.value().sizes())
      throw Error("lora", item.key() + " has shape " + c10::str(it->second.sizes()) + ", expected " +
                              c10::str(item.value().sizes()) + " (saved with another rank?)");
    item.value().copy_(it->second);
  }
}

}  // namespace germ::engine
