#pragma once
// A tiny causal LM with a perturbed FOCUS adapter (so FOCUS differs from the base path) and
// weights scaled up so that its predictions are far from uniform: scoring tests run it in
// milliseconds.
#include <ATen/ATen.h>

#include "model/focus.hpp"

namespace germ::test_support {

struct TinyFocusModel {
  model::GermModel model{nullptr};
  model::FocusAdapter adapter{nullptr};
  model::FocusGeometry geometry;

  explicit TinyFocusModel(model::Normaliser normaliser = model::Normaliser::kSoftmax1, uint64_t seed = 5,
                          double weight_scale = 3.0, double adapter_noise = 0.2) {
    at::manual_seed(seed);
    model::ModelConfig config = model::ModelConfig::preset("tiny", model::ModelKind::kCausalLm);
    config.layers = 2, config.hidden = 32, config.heads = 2, config.intermediate = 64, config.vocab = 10;
    config.normaliser = normaliser;
    model = model::GermModel(config, model::ModelKind::kCausalLm);
    at::NoGradGuard no_grad;
    for (auto& parameter : model->parameters()) parameter.mul_(weight_scale);
    model->eval();
    adapter = model::FocusAdapter(config);
    adapter->initialise_from(model);
    for (auto& parameter : adapter->parameters()) parameter.add_(at::randn_like(parameter) * adapter_noise);
    adapter->eval();
    geometry.k = 20, geometry.window = 100, geometry.memory = 6, geometry.context = 30;
  }
};

}  // namespace germ::test_support
