#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>

#include <map>

#include "engine/lora.hpp"
#include "model/transformer.hpp"
#include "quant/nf4.hpp"
#include "train/lora_training.hpp"
#include "util/error.hpp"

using namespace germ;
using namespace germ::engine;
using namespace germ::train;

namespace {

// A tiny classifier (2 layers, hidden 64, GeGLU 2 x 128) built from a fixed seed, so two
// calls give bit-identical models.
model::GermModel tiny_classifier(uint64_t seed = 5) {
  model::ModelConfig c = model::ModelConfig::preset("tiny", model::ModelKind::kClassifier);
  c.vocab = 32;
  c.dropout = 0.0;
  c.num_labels = 3;
  at::manual_seed(seed);
  return model::GermModel(c, model::ModelKind::kClassifier);
}

at::Tensor sample_ids() {
  at::manual_seed(99);
  return at::randint(5, 32, {4, 12}, at::kLong);
}

LoraOptions options(std::vector<std::string> targets, int64_t rank = 4) {
  LoraOptions o;
  o.rank = rank;
  o.targets = std::move(targets);
  return o;
}

// B starts at zero (the attached model equals the base); tests that compare forms need it not to.
void randomise_b(LoraSet& set) {
  at::NoGradGuard no_grad;
  for (const auto& e : set.entries())
    if (e.hooks->adapter()) e.hooks->adapter()->B.normal_(0.0, 0.1);
}

double max_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

model::GermLinear linear_named(model::GermModel& m, const std::string& name) {
  return model::GermLinear(std::dynamic_pointer_cast<model::GermLinearImpl>(*m->named_modules().find(name)));
}

}  // namespace

TEST(Lora, AdapterNamesShapesAndParameterCount) {
  auto m = tiny_classifier();
  auto set = attach_lora(m, options({"Wqkv", "mlp.wo"}));
  auto tensors = lora_tensors(*set);
  ASSERT_EQ(tensors.count("lora.encoder.layer.0.attention.self.Wqkv.A"), 1u);
  EXPECT_EQ(tensors["lora.encoder.layer.0.attention.self.Wqkv.A"].sizes(), (at::IntArrayRef{4, 64}));
  EXPECT_EQ(tensors["lora.encoder.layer.1.attention.self.Wqkv.B"].sizes(), (at::IntArrayRef{192, 4}));
  EXPECT_EQ(tensors["lora.encoder.layer.1.mlp.wo.A"].sizes(), (at::IntArrayRef{4, 128}));
  EXPECT_EQ(tensors.size(), 8u);
  // r (in + out) per target: 2 layers x (4 (64 + 192) + 4 (128 + 64)).
  EXPECT_EQ(set->adapter_parameter_count(), 2 * (4 * (64 + 192) + 4 * (128 + 64)));
  EXPECT_EQ(set->quantised_bytes(), 0);
  // PEFT's lora_A init: kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)).
  EXPECT_LE(tensors["lora.encoder.layer.0.attention.self.Wqkv.A"].abs().max().item<double>(), 1.0 / 8.0);
  EXPECT_EQ(tensors["lora.encoder.layer.0.attention.self.Wqkv.B"].abs().max().item<double>(), 0.0);

  auto all = tiny_classifier();
  EXPECT_EQ(attach_lora(all, options({"all-linear"}))->entries().size(), 8u);  // 4 per layer
  auto one = tiny_classifier();
  auto single = attach_lora(one, options({"encoder.layer.1.mlp.wo"}));
  ASSERT_EQ(single->entries().size(), 1u);
  EXPECT_EQ(single->entries()[0].name, "encoder.layer.1.mlp.wo");
}

TEST(Lora, UnknownTargetErrorListsTheAvailableNames) {
  auto m = tiny_classifier();
  try {
    attach_lora(m, options({"Wqkv", "query"}));
    FAIL() << "expected germ::Error";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("'query'"), std::string::npos) << message;
    EXPECT_NE(message.find("encoder.layer.*.attention.self.Wqkv"), std::string::npos) << message;
    EXPECT_NE(message.find("encoder.layer.*.mlp.gated_layers"), std::string::npos) << message;
    EXPECT_NE(message.find("all-linear"), std::string::npos) << message;
    EXPECT_EQ(message.find("classifier,"), std::string::npos) << message;  // the head is trained in full
  }
  EXPECT_EQ(adaptable_linear_names(m).size(), 8u);
  EXPECT_EQ(adaptable_linear_names(m)[0], "encoder.layer.0.attention.self.Wqkv");
  EXPECT_THROW(attach_lora(m, options({"qkv"})), Error);  // suffixes match whole components only
  EXPECT_THROW(attach_lora(m, options({"classifier"})), Error);
  EXPECT_THROW(attach_lora(m, options({})), Error);
  EXPECT_THROW(attach_lora(m, options({"Wqkv"}, 0)), Error);
  // A failed attach leaves the model as it was.
  for (const auto& p : m->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(m->layers[0]->wqkv->hooks(), nullptr);
}

TEST(Lora, TrainingChangesOnlyTheAdaptersAndTheHead) {
  auto m = tiny_classifier();
  std::map<std::string, at::Tensor> before;
  for (const auto& item : m->named_parameters()) before[item.key()] = item.value().detach().clone();
  auto set = attach_lora(m, options({"Wqkv", "attention.output.dense"}));
  for (const auto& item : m->named_parameters()) {
    bool head = item.key().rfind("pooler.", 0) == 0 || item.key().rfind("classifier.", 0) == 0;
    EXPECT_EQ(item.value().requires_grad(), head) << item.key();
  }
  auto adapters_before = lora_tensors(*set);
  for (auto& [name, t] : adapters_before) t = t.clone();

  m->train();  // LoRA dropout (0.05) active
  torch::optim::AdamW optimizer(trainable_parameters(m, *set), torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
  at::Tensor ids = sample_ids(), labels = at::tensor({0, 1, 2, 1}, at::kLong);
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    at::Tensor loss = torch::nn::functional::cross_entropy(m->forward(ids), labels);
    loss.backward();
    optimizer.step();
  }
  for (const auto& item : m->named_parameters()) {
    bool head = item.key().rfind("pooler.", 0) == 0 || item.key().rfind("classifier.", 0) == 0;
    if (head)
      EXPECT_FALSE(at::equal(item.value(), before[item.key()])) << item.key();
    else
      EXPECT_TRUE(at::equal(item.value(), before[item.key()])) << item.key() << " changed";
  }
  for (const auto& [name, t] : lora_tensors(*set)) EXPECT_FALSE(at::equal(t, adapters_before[name])) << name;
}

TEST(Lora, MergedModelGivesTheAdapterFormsLogits) {
  auto m = tiny_classifier();
  m->eval();
  at::Tensor ids = sample_ids();
  at::Tensor base = m->forward(ids).detach();
  auto set = attach_lora(m, options({"all-linear"}));
  EXPECT_LT(max_difference(m->forward(ids), base), 1e-6);  // B = 0: nothing changes yet
  randomise_b(*set);
  at::Tensor adapted = m->forward(ids).detach();
  EXPECT_GT(max_difference(adapted, base), 1e-3);
  merge_lora(m, *set);
  EXPECT_TRUE(set->merged());
  EXPECT_EQ(m->layers[1]->ffn_out->hooks(), nullptr);
  EXPECT_LT(max_difference(m->forward(ids), adapted), 1e-5);
  EXPECT_THROW(merge_lora(m, *set), Error);
  // The hooks are gone, so adapters can be attached afresh; a set merges only into its model.
  auto again = attach_lora(m, options({"Wqkv"}));
  auto other = tiny_classifier();
  EXPECT_THROW(merge_lora(other, *again), Error);
  EXPECT_THROW(attach_lora(m, options({"mlp.wo", "Wqkv"})), Error);  // Wqkv already has hooks
}

TEST(Lora, DropoutFollowsTheLayersTrainingMode) {
  auto m = tiny_classifier();
  LoraOptions o = options({"all-linear"});
  o.dropout = 0.5;
  auto set = attach_lora(m, o);
  randomise_b(*set);
  at::Tensor ids = sample_ids();
  m->train();
  EXPECT_GT(max_difference(m->forward(ids), m->forward(ids)), 1e-4);
  m->eval();
  EXPECT_TRUE(at::equal(m->forward(ids), m->forward(ids)));
}

TEST(Lora, SavedAdaptersLoadIntoAFreshAttachment) {
  auto a = tiny_classifier();
  auto set_a = attach_lora(a, options({"Wqkv", "mlp.wo"}));
  randomise_b(*set_a);
  auto saved = lora_tensors(*set_a);
  saved["__train.step"] = at::zeros({1});  // other extras of a bundle are ignored

  auto b = tiny_classifier();
  auto set_b = attach_lora(b, options({"Wqkv", "mlp.wo"}));
  load_lora_tensors(*set_b, saved);
  a->eval(), b->eval();
  at::Tensor ids = sample_ids();
  EXPECT_TRUE(at::equal(a->forward(ids), b->forward(ids)));

  auto missing = saved;
  missing.erase("lora.encoder.layer.1.mlp.wo.B");
  EXPECT_THROW(load_lora_tensors(*set_b, missing), Error);
  auto unknown = saved;
  unknown["lora.encoder.layer.0.mlp.gated_layers.A"] = at::zeros({4, 64});
  EXPECT_THROW(load_lora_tensors(*set_b, unknown), Error);
  auto other_rank = tiny_classifier();
  EXPECT_THROW(load_lora_tensors(*attach_lora(other_rank, options({"Wqkv", "mlp.wo"}, 8)), saved), Error);
}

TEST(Lora, QloraForwardEqualsTheDequantisedWeightForward) {
  auto m = tiny_classifier();
  auto reference = tiny_classifier();
  auto set = attach_qlora(m, options({"Wqkv"}));
  // QLoRA quantises every block linear (8), and only the targets (2) get adapters.
  ASSERT_EQ(set->entries().size(), 8u);
  EXPECT_EQ(set->adapter_parameter_count(), 2 * 4 * (64 + 192));
  int64_t quantised_weights = 0;
  for (const auto& e : set->entries()) {
    ASSERT_TRUE(e.hooks->quantised_base());
    EXPECT_EQ(e.linear->weight.numel(), 0) << e.name << ": the fp32 weight should be released";
    EXPECT_FALSE(e.linear->weight.requires_grad());
    quantised_weights += e.hooks->quantised_base()->numel;
  }
  EXPECT_EQ(set->replaced_fp32_bytes(), quantised_weights * 4);
  // 4.127 bits vs 32 per weight, plus the per-tensor fp32 mean and partial blocks of 256.
  EXPECT_LT(static_cast<double>(set->quantised_bytes()) / set->replaced_fp32_bytes(), 4.2 / 32);

  {
    // Gradients reach the first layer's adapter through the second layer's NF4 linears.
    m->train();
    torch::optim::AdamW optimizer(trainable_parameters(m, *set), torch::optim::AdamWOptions(1e-2));
    at::Tensor loss = torch::nn::functional::cross_entropy(m->forward(sample_ids()), at::tensor({0, 1, 2, 1}, at::kLong));
    loss.backward();
    optimizer.step();
    EXPECT_GT(lora_tensors(*set)["lora.encoder.layer.0.attention.self.Wqkv.B"].abs().max().item<double>(), 0.0);
  }
  randomise_b(*set);
  {
    // The reference carries deq(Q) + (alpha / r) B A as plain fp32 weights, and the trained head.
    at::NoGradGuard no_grad;
    auto reference_parameters = reference->named_parameters();
    for (const auto& item : m->named_parameters())
      if (item.value().requires_grad()) reference_parameters[item.key()].copy_(item.value());
    for (const auto& e : set->entries()) {
      at::Tensor w = quant::nf4_dequantize(*e.hooks->quantised_base());
      if (const auto& adapter = e.hooks->adapter()) w += set->options().scaling() * adapter->B.mm(adapter->A);
      linear_named(reference, e.name)->weight.copy_(w);
    }
  }
  m->eval(), reference->eval();
  at::Tensor ids = sample_ids();
  at::Tensor logits = m->forward(ids).detach();
  EXPECT_LT(max_difference(logits, reference->forward(ids)), 1e-5);

  // Merging restores full weights: deq(Q) + (alpha / r) B A.
  merge_lora(m, *set);
  for (const auto& e : set->entries())
    EXPECT_LT(max_difference(e.linear->weight, linear_named(reference, e.name)->weight), 1e-6) << e.name;
  EXPECT_EQ(m->layers[0]->wqkv->weight.sizes(), (at::IntArrayRef{192, 64}));
  EXPECT_LT(max_difference(m->forward(ids), logits), 1e-5);
}

TEST(LoftQ, ErrorIsBelowQloraAndFallsWithIterations) {
  at::manual_seed(21);
  // A weight with a few strong directions on top of noise, as trained weights tend to have.
  at::Tensor w = at::randn({256, 128}) * 0.02 + at::randn({256, 4}).mm(at::randn({4, 128})) * 0.01;
  const int64_t rank = 8;
  const double scaling = 16.0 / rank;
  double qlora = (w - quant::nf4_dequantize(quant::nf4_quantize(w))).norm().item<double>();
  std::vector<double> errors;
  for (int iterations : {1, 2, 5}) {
    LoftqInit init = loftq_initialise(w, rank, scaling, iterations);
    EXPECT_EQ(init.A.sizes(), (at::IntArrayRef{rank, 128}));
    EXPECT_EQ(init.B.sizes(), (at::IntArrayRef{256, rank}));
    at::Tensor approx = quant::nf4_dequantize(init.q) + scaling * init.B.mm(init.A);
    errors.push_back((w - approx).norm().item<double>());
  }
  // Measured ||W - Q - s B A||_F: QLoRA (B A = 0) 0.455; LoftQ T=1 0.414, T=2 0.392, T=5 0.369.
  EXPECT_LT(errors[0], qlora);
  EXPECT_LE(errors[1], errors[0] * (1 + 1e-3));
  EXPECT_LE(errors[2], errors[1] * (1 + 1e-3));
  EXPECT_LT(errors[2], errors[0]);
  EXPECT_THROW(loftq_initialise(w, 0, scaling, 1), Error);
  EXPECT_THROW(loftq_initialise(w, 129, scaling, 1), Error);
  EXPECT_THROW(loftq_initialise(w, rank, scaling, 0), Error);
}

TEST(LoftQ, AttachedModelIsCloserToTheOriginalThanQlora) {
  auto original = tiny_classifier(), qlora = tiny_classifier(), loftq = tiny_classifier();
  LoraOptions o = options({"all-linear"}, 8);
  attach_qlora(qlora, o);
  auto set = attach_loftq(loftq, o, 5);
  ASSERT_EQ(set->entries().size(), 8u);
  for (const auto& e : set->entries()) EXPECT_EQ(e.linear->weight.numel(), 0) << e.name;
  original->eval(), qlora->eval(), loftq->eval();
  at::Tensor ids = sample_ids();
  // Hidden states rather than logits: a fresh head's logits are too small to compare.
  at::Tensor reference = original->hidden_states(ids);
  double qlora_error = (qlora->hidden_states(ids) - reference).norm().item<double>();
  double loftq_error = (loftq->hidden_states(ids) - reference).norm().item<double>();
  // Measured relative to |reference|: QLoRA 0.0034, LoftQ 0.0023 (tiny); base size (12 x 768,
  // random init): 0.163 and 0.158.
  EXPECT_LT(loftq_error, 0.85 * qlora_error);

  // Merged, the weights are Q + (alpha / r) B A, the LoftQ approximation of the originals.
  merge_lora(loftq, *set);
  for (const auto& e : set->entries()) {
    at::Tensor w = linear_named(original, e.name)->weight;
    at::Tensor q_only = quant::nf4_dequantize(*e.hooks->quantised_base());
    EXPECT_LT((e.linear->weight - w).norm().item<double>(), (q_only - w).norm().item<double>()) << e.name;
  }
  EXPECT_THROW(attach_loftq(original, o, 0), Error);
}
