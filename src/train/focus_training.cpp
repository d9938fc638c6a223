#include "train/focus_training.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "engine/open_model.hpp"
#include "model/focus_store.hpp"
#include "train/sampling_weights.hpp"
#include "train/schedule.hpp"
#include "train/time_limit.hpp"
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

// The causal LM to compress, frozen. From --init-from an adapter or training state the file
// carries is dropped; from --resume they come back in `resumed` (the checkpoint's own tensors
// and metadata) for the adapter, the optimizer and the step.
model::ModelBundle frozen_base(const PretrainOptions& o, model::ModelBundle* resumed) {
  const std::string& source = o.resume.empty() ? o.init_from : o.resume;
  model::ModelBundle bundle = engine::open_for_training(source, {kTrainingStatePrefix, "focus."});
  if (resumed != nullptr) {
    resumed->extra_tensors = bundle.extra_tensors;
    resumed->extra_metadata = bundle.extra_metadata;
  }
  bundle.extra_tensors.clear();
  bundle.extra_metadata.erase("germ.checkpoint");
  bundle.extra_metadata.erase("germ.focus");
  model::GermModel& base = bundle.model;
  if (base->kind() != model::ModelKind::kCausalLm)
    throw Error(source, "is not a causal-lm model; FOCUS compresses a causal LM");
  for (auto& p : base->parameters()) p.set_requires_grad(false);
  base->eval();
  return bundle;
}

// A checkpoint is the adapter's model file plus the training state, as pretrain's checkpoints
// (so `germ score` can read one as it is).
void save_focus_checkpoint(const std::string& path, const model::ModelBundle& bundle, const model::FocusAdapter& adapter,
                           const model::FocusGeometry& geometry, torch::optim::AdamW& optimizer,
                           const TrainingState& state) {
  save_checkpoint(path, model::with_focus_adapter(bundle, adapter, geometry), optimizer, state);
}

// --resume: the adapter, optimizer moments, step and random streams of the checkpoint; its
// geometry must be the one this command trains.
TrainingState resume_focus(const PretrainOptions& o, model::ModelBundle& resumed, model::FocusAdapter& adapter,
                           const model::FocusGeometry& geometry, torch::optim::AdamW& optimizer) {
  auto stored = resumed.extra_metadata.find("germ.focus");
  if (stored == resumed.extra_metadata.end())
    throw Error(o.resume, "is not a FOCUS training checkpoint (no adapter); resume it without --focus");
  if (stored->second != geometry.to_json())
    throw Error(o.resume, "was trained with FOCUS geometry " + stored->second + ", not " + geometry.to_json() +
                              " (give the options of the run that wrote it)");
  adapter->load_tensors(resumed.extra_tensors, o.resume);
  TrainingState state = restore_training_state(o.resume, resumed, optimizer);
  if (state.step >= o.steps)
    throw Error(o.resume, "is at step " + std::to_string(state.step) + ", not before --steps " + std::to_string(o.steps));
  return state;
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

// One optimizer step of the adapter on a fresh batch at `runner`'s k; returns the loss.
double optimizer_step(model::WindowRunner& runner, model::WindowRunner& teacher, model::GermModel& base,
                      model::FocusAdapter& adapter, WindowSampler& sampler, torch::optim::AdamW& optimizer,
                      double lr, const PretrainOptions& o) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  std::vector<std::string> sequences;
  for (int64_t b = 0; b < o.batch_size; ++b) sequences.push_back(sampler.next());
  at::Tensor loss = distillation_loss(runner, teacher, base, sequences, o);
  optimizer.zero_grad();
  loss.backward();
  if (o.clip > 0) torch::nn::utils::clip_grad_norm_(adapter->parameters(), o.clip);
  optimizer.step();
  return loss.item<double>();
}

// The steps between two evaluations, as the log averages them.
struct Interval {
  double loss = 0;
  int64_t steps = 0, bases = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void add(double step_loss, int64_t step_bases) { loss += step_loss, ++steps, bases += step_bases; }
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
      {"focus_lr", std::to_string(o.lr > 0 ? o.lr : kDefaultFocusLr)},
      {"focus_heldout_mean_abs_dp", std::to_string(result.after.mean_abs_dp())},
      {"focus_heldout_mean_kl", std::to_string(result.after.mean(result.after.kl))}};
  bundle.provenance_json = model::make_provenance(o.command_line, fields);
  adapter->eval();
  model::save_focus_model(o.output, bundle, adapter, geometry);
}

// The training inputs; whole when --heldout files are given (as `germ pretrain`).
GenomeCorpus load_focus_corpus(const PretrainOptions& o) {
  CorpusOptions corpus_options = o.corpus;
  if (!o.heldout_files.empty()) corpus_options.holdout_fraction = 0;
  return load_corpus(o.inputs, corpus_options);
}

// Fixed held-out sequences for the fidelity report: from the --heldout files when given,
// otherwise from the held-out tails of the training inputs.
std::vector<std::string> held_out_sequences(const PretrainOptions& o, const GenomeCorpus& corpus, int64_t length) {
  if (o.heldout_files.empty()) return validation_windows(corpus.holdout, length, o.eval_windows);
  std::vector<Segment> segments;
  for (const auto& path : o.heldout_files) {
    std::vector<Segment> file = load_whole_contigs(path);
    segments.insert(segments.end(), std::make_move_iterator(file.begin()), std::make_move_iterator(file.end()));
  }
  std::vector<std::string> sequences = validation_windows(segments, length, o.eval_windows);
  if (sequences.empty())
    throw Error(o.heldout_files.front(), "no held-out sequence of " + std::to_string(length) + " bases with at most 10% N");
  return sequences;
}

void report_start(const PretrainOptions& o, const FocusTrainingResult& result, const std::vector<int64_t>& ks,
                  size_t holdout_sequences, int64_t length, int64_t resumed_step) {
  std::string k_list;
  for (auto k : ks) k_list += (k_list.empty() ? "" : ",") + std::to_string(k);
  std::fprintf(stderr, "germ pretrain --focus: %lld trainable parameters (base frozen), k in {%s}, window %lld, "
                       "memory %lld; %zu held-out sequences of %lld bases%s\n",
               static_cast<long long>(result.trainable_parameters), k_list.c_str(),
               static_cast<long long>(o.focus_window), static_cast<long long>(o.focus_memory), holdout_sequences,
               static_cast<long long>(length),
               resumed_step > 0 ? (", resumed at step " + std::to_string(resumed_step)).c_str() : "");
}

}  // namespace

FocusTrainingResult train_focus(const PretrainOptions& o) {
  check_focus_options(o);
  torch::manual_seed(o.seed);
  model::ModelBundle resumed;
  model::ModelBundle bundle = frozen_base(o, o.resume.empty() ? nullptr : &resumed);
  model::GermModel& base = bundle.model;

  const model::FocusGeometry default_geometry = geometry_for(o, o.focus_k);
  std::vector<int64_t> ks = compression_ratios(o.focus_k, o.focus_window);
  model::FocusAdapter adapter(base->config());
  adapter->initialise_from(base);
  adapter->train();
  std::map<int64_t, std::unique_ptr<model::WindowRunner>> runners;  // one per k
  for (int64_t k : ks) runners[k] = std::make_unique<model::WindowRunner>(base, adapter, geometry_for(o, k));

  const int64_t length = o.focus_window * o.focus_windows_per_sequence;
  GenomeCorpus corpus = load_focus_corpus(o);
  model::WindowRunner teacher = model::uncompressed_runner(base, o.focus_window, length);
  WindowSampler sampler(corpus.train, length, o.seed, 0.10, sampling_weights(corpus, o.sampling_weights).file_share);
  std::vector<std::string> holdout = held_out_sequences(o, corpus, length);

  const double peak_lr = o.lr > 0 ? o.lr : kDefaultFocusLr;
  torch::optim::AdamW optimizer(adapter->parameters(),
                                torch::optim::AdamWOptions(peak_lr).betas({0.9, 0.98}).eps(1e-6).weight_decay(0.0));
  LrSchedule schedule{peak_lr, o.warmup >= 0 ? o.warmup : std::max<int64_t>(1, o.steps * 6 / 100), o.steps, o.schedule};
  schedule.at(0);
  TrainingState state;
  state.batch_rng.seed(o.seed ^ 0xF0C5);  // draws each step's k
  if (!o.resume.empty()) {
    state = resume_focus(o, resumed, adapter, default_geometry, optimizer);
    sampler.restore(state.sampler);
  }
  TrainingLog log(o.log_path.empty() ? o.output + ".log.tsv" : o.log_path, !o.resume.empty());
  const std::string checkpoint_path = o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint;
  TimeLimit time_limit(o.time_limit_minutes, o.stop_after_step);

  FocusTrainingResult result;
  for (const auto& p : adapter->parameters()) result.trainable_parameters += p.numel();
  auto fidelity = [&] {
    adapter->eval();
    auto totals = model::evaluate_fidelity(*runners.at(o.focus_k), holdout);
    adapter->train();
    return totals;
  };
  if (!o.quiet) report_start(o, result, ks, holdout.size(), length, state.step);
  result.before = fidelity();
  util::Progress progress("pretrain --focus", o.steps, "steps");
  progress.resume_at(state.step);
  Interval interval;
  while (state.step < o.steps) {
    const double lr = schedule.at(state.step);
    model::WindowRunner& runner = *runners.at(ks[state.batch_rng() % ks.size()]);
    const double loss = optimizer_step(runner, teacher, base, adapter, sampler, optimizer, lr, o);
    ++state.step;
    interval.add(loss, o.batch_size * length);
    progress.update(state.step, "loss " + std::to_string(loss).substr(0, 6));
    const bool last = state.step == o.steps;
    if ((o.eval_every > 0 && state.step % o.eval_every == 0) || last) {
      model::FidelityTotals totals = fidelity();
      log_interval(state.step, lr, totals, interval, log, o, result);
      if (last) result.after = totals;
    }
    time_limit.step_done();
    const bool stop = !last && time_limit.reached(state.step);
    if (!last && (stop || (o.checkpoint_every > 0 && state.step % o.checkpoint_every == 0))) {
      state.sampler = sampler.state();
      save_focus_checkpoint(checkpoint_path, bundle, adapter, default_geometry, optimizer, state);
    }
    if (stop) {
      progress.finish();
      result.steps = state.step, result.stopped_by_time_limit = true, result.checkpoint = checkpoint_path;
      return result;
    }
  }
  progress.finish();
  result.steps = o.steps;
  save_adapter(o, bundle, adapter, default_geometry, result);
  return result;
}

}  // namespace germ::train
