#include "train/focus_training.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "engine/open_model.hpp"
#include "model/focus_store.hpp"
#include "train/schedule.hpp"
#include "train/training_state.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::train {
namespace {

std::vector<int64_t> compression_ratios(int64_t k, int64_t window) {
  std::vector<int64_t> ks;
  for (int64_t candidate : {k / 2, k, 2 * k})
    if (candidate >= 1 && window % candidate == 0) ks.push_back(candidate);
  return ks;
}

model::FocusGeometry geometry_for(const PretrainOptions& o, int64_t k) {
  model::FocusGeometry g;
  g.k = k, g.window = o.focus_window, g.memory = o.focus_memory;
  g.context = o.focus_context > 0 ? o.focus_context : k;
  g.kind = model::MemoryKind::kFocus;
  g.validate();
  return g;
}

void check_focus_options(const PretrainOptions& o) {
  if (o.init_from.empty())
    throw Error("--focus", "needs --init-from base_clm.safetensors (the causal LM to compress)");
  if (o.objective != "clm") throw Error("--focus", "trains the adapter of a causal LM: use --objective clm");
  if (o.output.empty()) throw Error("-o/--output", "an output model file is required");
  if (o.steps < 1 || o.batch_size < 1) throw Error("--steps/--batch-size", "must be positive");
  if (o.focus_windows_per_sequence < 2) throw Error("--focus-windows", "must be at least 2");
}

// The causal LM to compress, frozen; an adapter or training state it carries is dropped.
model::ModelBundle frozen_base(const PretrainOptions& o) {
  model::ModelBundle bundle = engine::open_for_training(o.init_from, {kTrainingStatePrefix, "focus."});
  bundle.extra_tensors.clear();
  bundle.extra_metadata.erase("germ.checkpoint");
  model::GermModel& base = bundle.model;
  if (base->kind() != model::ModelKind::kCausalLm)
    throw Error(o.init_from, "is not a causal-lm model; FOCUS compresses a causal LM");
  for (auto& p : base->parameters()) p.set_requires_grad(false);
  base->eval();
  return bundle;
}

// One step's loss: next-base cross-entropy plus KL(uncompressed || FOCUS) on the same
// positions, over every window but the first (no memory yet: identical to the uncompressed
// model), per position counted.
at::Tensor distillation_loss(model::WindowRunner& runner, model::WindowRunner& teacher, model::GermModel& base,
                             const std::vector<std::string>& sequences, const PretrainOptions& o) {
  const auto& g = runner.geometry();
  at::Tensor ids = model::nucleotide_ids(sequences), observed = model::observed_bases(sequences);
  std::vector<model::LaneMemory> memory(sequences.size()), teacher_memory(sequences.size());
  std::vector<model::LaneMemory*> memories, teacher_memories;
  for (size_t b = 0; b < sequences.size(); ++b)
    memories.push_back(&memory[b]), teacher_memories.push_back(&teacher_memory[b]);
  std::vector<int64_t> valid_from;
  at::Tensor loss = at::zeros({});
  int64_t counted = 0;
  for (int64_t w = 0; w < o.focus_windows_per_sequence; ++w) {
    at::Tensor hidden = runner.step(model::window_ids(ids, g, w, valid_from), valid_from, memories);
    at::Tensor reference;
    {
      torch::NoGradGuard no_grad;
      at::Tensor exact = teacher.step(model::window_ids(ids, teacher.geometry(), w, valid_from), valid_from,
                                      teacher_memories);
      reference = model::base_log_probs(base, exact);  // [B, W, 4]
    }
    if (w == 0) continue;
    const int64_t start = w * g.window;
    at::Tensor student = model::base_log_probs(base, hidden);  // [B, W, 4]
    at::Tensor targets = observed.slice(1, start, start + g.window);
    at::Tensor has = (targets >= 0).to(at::kFloat);
    at::Tensor nll = -student.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1);
    at::Tensor kl = (reference.exp() * (reference - student)).sum(-1);
    loss = loss + (nll * has).sum() + o.focus_kl_weight * kl.sum();
    counted += student.size(0) * student.size(1);
  }
  return loss / static_cast<double>(counted);
}

// The steps between two evaluations, as the log averages them.
struct Interval {
  double loss = 0;
  int64_t steps = 0, bases = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// Logs the interval (mean loss, held-out fidelity, speed) and starts the next one.
void log_interval(int64_t steps_done, double lr, const model::FidelityTotals& totals, Interval& interval,
                  TrainingLog& log, const PretrainOptions& o, FocusTrainingResult& result) {
  double mean = interval.loss / interval.steps;
  if (result.first_loss == 0) result.first_loss = mean;
  result.last_loss = mean;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - interval.start).count();
  log.write(steps_done, lr, mean, totals.mean(totals.kl), interval.bases / std::max(1e-9, seconds));
  if (!o.quiet)
    std::fprintf(stderr, "  step %lld: loss %.4f, held-out mean |dp| %.3g, KL %.3g nats\n",
                 static_cast<long long>(steps_done), mean, totals.mean_abs_dp(), totals.mean(totals.kl));
  interval = Interval{};
}

void save_adapter(const PretrainOptions& o, model::ModelBundle& bundle, model::FocusAdapter& adapter,
                  const model::FocusGeometry& geometry, const FocusTrainingResult& result) {
  std::map<std::string, std::string> fields{
      {"focus_init_from", o.init_from},
      {"focus_steps", std::to_string(o.steps)},
      {"focus_heldout_mean_abs_dp", std::to_string(result.after.mean_abs_dp())},
      {"focus_heldout_mean_kl", std::to_string(result.after.mean(result.after.kl))}};
  bundle.provenance_json = model::make_provenance(o.command_line, fields);
  adapter->eval();
  model::save_focus_model(o.output, bundle, adapter, geometry);
}

}  // namespace

FocusTrainingResult train_focus(const PretrainOptions& o) {
  check_focus_options(o);
  torch::manual_seed(o.seed);
  model::ModelBundle bundle = frozen_base(o);
  model::GermModel& base = bundle.model;

  const model::FocusGeometry default_geometry = geometry_for(o, o.focus_k);
  std::vector<int64_t> ks = compression_ratios(o.focus_k, o.focus_window);
  model::FocusAdapter adapter(base->config());
  adapter->initialise_from(base);
  adapter->train();
  std::map<int64_t, std::unique_ptr<model::WindowRunner>> runners;
  for (int64_t k : ks) runners[k] = std::make_unique<model::WindowRunner>(base, adapter, geometry_for(o, k));

  GenomeCorpus corpus = load_corpus(o.inputs, o.corpus);
  const int64_t length = o.focus_window * o.focus_windows_per_sequence;
  model::WindowRunner teacher = model::uncompressed_runner(base, o.focus_window, length);
  WindowSampler sampler(corpus.train, length, o.seed);
  std::vector<std::string> holdout = validation_windows(corpus.holdout, length, o.eval_windows);

  torch::optim::AdamW optimizer(adapter->parameters(),
                                torch::optim::AdamWOptions(o.lr).betas({0.9, 0.98}).eps(1e-6).weight_decay(0.0));
  LrSchedule schedule{o.lr, o.warmup >= 0 ? o.warmup : std::max<int64_t>(1, o.steps * 6 / 100), o.steps, o.schedule};
  schedule.at(0);
  TrainingLog log(o.log_path.empty() ? o.output + ".log.tsv" : o.log_path, false);

  FocusTrainingResult result;
  for (const auto& p : adapter->parameters()) result.trainable_parameters += p.numel();
  auto fidelity = [&] {
    adapter->eval();
    auto totals = model::evaluate_fidelity(*runners.at(o.focus_k), holdout);
    adapter->train();
    return totals;
  };
  if (!o.quiet)
    std::fprintf(stderr, "germ pretrain --focus: %lld trainable parameters (base frozen), k in {%s}, window %lld, "
                         "memory %lld; %zu held-out sequences of %lld bases\n",
                 static_cast<long long>(result.trainable_parameters),
                 [&] { std::string s; for (auto k : ks) s += (s.empty() ? "" : ",") + std::to_string(k); return s; }().c_str(),
                 static_cast<long long>(o.focus_window), static_cast<long long>(o.focus_memory), holdout.size(),
                 static_cast<long long>(length));
  result.before = fidelity();

  std::mt19937_64 rng(o.seed ^ 0xF0C5);
  util::Progress progress("pretrain --focus", o.steps, "steps");
  Interval interval;
  for (int64_t step = 0; step < o.steps; ++step) {
    double lr = schedule.at(step);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    model::WindowRunner& runner = *runners.at(ks[rng() % ks.size()]);
    std::vector<std::string> sequences;
    for (int64_t b = 0; b < o.batch_size; ++b) sequences.push_back(sampler.next());
    at::Tensor loss = distillation_loss(runner, teacher, base, sequences, o);
    optimizer.zero_grad();
    loss.backward();
    if (o.clip > 0) torch::nn::utils::clip_grad_norm_(adapter->parameters(), o.clip);
    optimizer.step();

    interval.loss += loss.item<double>();
    ++interval.steps;
    interval.bases += o.batch_size * length;
    progress.update(step + 1, "loss " + std::to_string(loss.item<double>()).substr(0, 6));
    const bool last = step + 1 == o.steps;
    if ((o.eval_every > 0 && (step + 1) % o.eval_every == 0) || last) {
      model::FidelityTotals totals = fidelity();
      log_interval(step + 1, lr, totals, interval, log, o, result);
      if (last) result.after = totals;
    }
  }
  progress.finish();
  result.steps = o.steps;
  save_adapter(o, bundle, adapter, default_geometry, result);
  return result;
}

}  // namespace germ::train
