#include "train/pretrain.hpp"

#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "engine/open_model.hpp"
#include "model/model_store.hpp"
#include "model/sample_dropout.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "tokenize/sentencepiece_bpe_tokenizer.hpp"
#include "train/batches.hpp"
#include "train/distributed.hpp"
#include "train/sampling_weights.hpp"
#include "train/schedule.hpp"
#include "train/time_limit.hpp"
#include "train/training_state.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "util/progress.hpp"

namespace germ::train {
namespace {

using model::ModelKind;

struct Setup {
  model::ModelBundle bundle;
  ModelKind kind;
  int64_t window_bases = 0;  // bases drawn per training window
  int64_t max_tokens = 0;    // mlm: tokens per sequence incl. [CLS]/[SEP]
  double lr = 0;             // peak learning rate: --lr, or the default for the model's width
};

std::shared_ptr<tokenize::Tokenizer> train_bpe(const GenomeCorpus& corpus, const PretrainOptions& o) {
  // Tokenizer training sees windows spread over the training segments only.
  constexpr int64_t kSentence = 1000;
  WindowSampler sampler(corpus.train, std::min<int64_t>(kSentence, corpus.train.front().length),
                        o.seed ^ 0x70CE, 0.1);
  std::vector<std::string> sentences;
  int64_t wanted = std::max<int64_t>(1, std::min(o.tokenizer_sample_bases, corpus.train_bases()) / kSentence);
  for (int64_t i = 0; i < wanted; ++i) sentences.push_back(sampler.next());
  return std::make_shared<tokenize::SentencePieceBpeTokenizer>(
      tokenize::SentencePieceBpeTokenizer::train(sentences, o.vocab));
}

double mean_bases_per_token(const tokenize::Tokenizer& tokenizer, const GenomeCorpus& corpus) {
  WindowSampler sampler(corpus.train, std::min<int64_t>(1000, corpus.train.front().length), 7);
  int64_t bases = 0, tokens = 0;
  for (int i = 0; i < 50; ++i) {
    std::string w = sampler.next();
    bases += w.size();
    tokens += tokenizer.encode(w).size();
  }
  return tokens == 0 ? 1.0 : static_cast<double>(bases) / tokens;
}

Setup set_up_model(const PretrainOptions& o, const GenomeCorpus& corpus, DataParallel& dp) {
  Setup s;
  s.kind = o.objective == "clm" ? ModelKind::kCausalLm : ModelKind::kEncoderMlm;
  const std::string& source = !o.resume.empty() ? o.resume : o.init_from;
  if (!source.empty()) {
    // A checkpoint carries its model, tokenizer and training state; --init-from only weights.
    s.bundle = engine::open_for_training(source, {kTrainingStatePrefix});
    if (s.bundle.model->kind() != s.kind)
      throw Error(source, std::string("is a ") + model::to_string(s.bundle.model->kind()) +
                                   " model; --objective " + o.objective + " needs " + model::to_string(s.kind));
    if (!o.attention.empty()) s.bundle.model->set_normaliser(model::parse_normaliser(o.attention));
  } else {
    model::ModelConfig config = o.config_path.empty()
                                    ? model::ModelConfig::preset(o.size, s.kind)
                                    : model::ModelConfig::from_json(util::read_whole_file(o.config_path));
    if (s.kind == ModelKind::kCausalLm) {
      config.mask = model::MaskKind::kCausal;
      s.bundle.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
    } else if (!o.tokenizer_from.empty()) {
      s.bundle.tokenizer = engine::open_for_training(o.tokenizer_from).tokenizer;
    } else if (!dp.active()) {
      s.bundle.tokenizer = train_bpe(corpus, o);
    } else {
      // SentencePiece training is not guaranteed to be reproducible across processes: rank 0's wins.
      std::string trained = dp.is_root() ? train_bpe(corpus, o)->serialize() : std::string();
      s.bundle.tokenizer = tokenize::tokenizer_from_json(dp.broadcast_text(trained));
    }
    config.vocab = s.bundle.tokenizer->vocab_size();
    if (!o.attention.empty()) config.normaliser = model::parse_normaliser(o.attention);
    s.bundle.model = model::GermModel(config, s.kind);
  }
  if (s.kind == ModelKind::kCausalLm) {
    s.window_bases = (o.seq_len > 0 ? o.seq_len : 512) + 1;
  } else {
    s.max_tokens = o.seq_len > 0 ? o.seq_len : 128;
    // Draw enough bases to fill the token budget; surplus tokens are cut.
    s.window_bases = static_cast<int64_t>(std::ceil((s.max_tokens - 2) * mean_bases_per_token(*s.bundle.tokenizer, corpus) * 1.15));
  }
  s.lr = o.lr > 0 ? o.lr : default_pretrain_lr(s.bundle.model->config().hidden, s.kind);
  return s;
}

template <typename Randomness>  // std::mt19937_64& for the whole batch, or one seed per window
Batch make_batch(const Setup& s, const std::vector<std::string>& windows, double mask_fraction,
                 Randomness&& randomness) {
  if (s.kind == ModelKind::kCausalLm) return make_clm_batch(windows, *s.bundle.tokenizer);
  return make_mlm_batch(windows, *s.bundle.tokenizer, s.max_tokens, mask_fraction, randomness);
}

// Summed over labelled tokens: the caller divides by the global count, so that ranks holding
// slices of a batch add up to the single-process mean. The forward pass runs in `precision`,
// the loss in fp32.
at::Tensor batch_loss_sum(model::GermModel& m, const Batch& batch, c10::Device device, Precision precision) {
  at::Tensor ids = batch.input_ids.to(device);
  at::Tensor mask = batch.attention_mask.defined() ? batch.attention_mask.to(device) : at::Tensor();
  at::Tensor logits;
  {
    AutocastScope autocast(precision, device);
    logits = m->forward(ids, mask);
  }
  logits = logits.to(at::kFloat);
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), batch.labels.to(device).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel).reduction(torch::kSum));
}

struct LossTotal {
  double sum = 0;
  int64_t tokens = 0;
  double mean() const { return tokens ? sum / tokens : std::nan(""); }
};

// Loss over fixed validation windows (fixed masking seed for mlm).
LossTotal validation_loss(Setup& s, const std::vector<std::string>& windows, const PretrainOptions& o,
                          c10::Device device) {
  LossTotal total;
  if (windows.empty()) return total;
  torch::NoGradGuard no_grad;
  s.bundle.model->eval();
  std::mt19937_64 rng(12345);
  for (size_t i = 0; i < windows.size(); i += o.batch_size) {
    std::vector<std::string> chunk(windows.begin() + i, windows.begin() + std::min<size_t>(windows.size(), i + o.batch_size));
    Batch batch = make_batch(s, chunk, o.mask_fraction, rng);
    if (batch.tokens == 0) continue;
    total.sum += batch_loss_sum(s.bundle.model, batch, device, o.precision).item<double>();
    total.tokens += batch.tokens;
  }
  s.bundle.model->train();
  return total;
}

// Fixed validation windows: one set per --heldout file, or one from the contigs' held-out parts.
struct HeldoutSet {
  std::string name;
  std::vector<std::string> windows;
};

std::string heldout_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  for (const char* suffix : {".gz", ".bgz", ".fa", ".fasta", ".fna"}) {
    const std::string tail(suffix);
    if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0)
      name.resize(name.size() - tail.size());
  }
  return name;
}

std::vector<HeldoutSet> held_out_sets(const PretrainOptions& o, const GenomeCorpus& corpus, int64_t window) {
  if (o.heldout_files.empty()) return {{"holdout", validation_windows(corpus.holdout, window, o.eval_windows)}};
  std::vector<HeldoutSet> sets;
  for (const auto& path : o.heldout_files) {
    sets.push_back({heldout_name(path), validation_windows(load_whole_contigs(path), window, o.eval_windows)});
    if (sets.back().windows.empty())
      throw Error(path, "no held-out window of " + std::to_string(window) + " bases with at most 10% N");
  }
  return sets;
}

struct Evaluation {
  double loss = 0;              // over all sets' windows
  std::vector<double> per_set;  // nats per labelled token
};

Evaluation evaluate(Setup& s, const std::vector<HeldoutSet>& sets, const PretrainOptions& o, c10::Device device) {
  LossTotal all;
  Evaluation e;
  for (const auto& set : sets) {
    LossTotal t = validation_loss(s, set.windows, o, device);
    all.sum += t.sum;
    all.tokens += t.tokens;
    e.per_set.push_back(t.mean());
  }
  e.loss = all.mean();
  return e;
}

// Log columns and values per --heldout file: bits per base for clm, nats per masked token for mlm.
std::vector<std::string> per_file_columns(const PretrainOptions& o, const std::vector<HeldoutSet>& sets) {
  std::vector<std::string> columns;
  if (o.heldout_files.empty()) return columns;
  for (const auto& set : sets) columns.push_back(set.name + (o.objective == "clm" ? "_bits_per_base" : "_loss"));
  return columns;
}

std::vector<double> per_file_values(const PretrainOptions& o, const Evaluation& e) {
  std::vector<double> values;
  if (o.heldout_files.empty()) return values;
  for (double loss : e.per_set) values.push_back(o.objective == "clm" ? loss / std::log(2.0) : loss);
  return values;
}

void report_per_file(const PretrainOptions& o, const std::vector<HeldoutSet>& sets, const Evaluation& e, int64_t step) {
  if (o.quiet || o.heldout_files.empty()) return;
  std::vector<double> values = per_file_values(o, e);
  std::string line = "germ pretrain: step " + std::to_string(step) + ", held-out " +
                     (o.objective == "clm" ? "bits/base:" : "loss (nats/masked token):");
  char value[32];
  for (size_t i = 0; i < sets.size(); ++i) {
    std::snprintf(value, sizeof value, " %.4f", values[i]);
    line += (i ? ", " : " ") + sets[i].name + value;
  }
  std::fprintf(stderr, "%s%s\n", isatty(fileno(stderr)) ? "\r\033[K" : "", line.c_str());
}

// Whether any rank's time limit has run out (all ranks then stop at the same step).
bool time_is_up(const TimeLimit& limit, int64_t step, DataParallel& dp) {
  if (!limit.enabled()) return false;
  at::Tensor up = at::full({1}, limit.reached(step) ? 1.0 : 0.0, at::kDouble);
  dp.all_reduce_sum(up);
  return up.item<double>() > 0;
}

void check_pretrain_options(const PretrainOptions& o, const ProcessPlacement& placement) {
  if (o.objective != "mlm" && o.objective != "clm")
    throw Error("--objective", "unknown objective '" + o.objective + "' (use mlm or clm)");
  if (o.steps < 1 || o.batch_size < 1 || o.grad_accum < 1)
    throw Error("--steps/--batch-size/--grad-accum", "must be positive");
  if (o.output.empty()) throw Error("-o/--output", "an output model file is required");
  if (!o.heldout_files.empty() && !o.corpus.holdout_regions.empty())
    throw Error("--heldout", "give held-out files or --holdout regions, not both");
  if (o.batch_size % placement.world_size != 0)
    throw Error("--batch-size", std::to_string(o.batch_size) + " (the global batch) is not a multiple of the " +
                                    std::to_string(placement.world_size) + " processes");
}

// The lines rank 0 prints before the first step (unless --quiet).
void report_start(const PretrainOptions& o, const Setup& s, const GenomeCorpus& corpus, const SamplingWeights& weights,
                  double load_seconds, const PretrainResult& result, c10::Device device, DataParallel& dp) {
  std::fprintf(stderr, "germ pretrain: %s %s model, %s attention, %lld parameters; %lld training bases, held out: %s\n",
               o.objective.c_str(), model::to_string(s.kind), model::to_string(s.bundle.model->config().normaliser),
               static_cast<long long>(result.parameters), static_cast<long long>(corpus.train_bases()),
               o.heldout_files.empty() ? (std::to_string(corpus.holdout_bases()) + " bases").c_str()
                                       : (std::to_string(o.heldout_files.size()) + " files").c_str());
  std::fprintf(stderr, "germ pretrain: %zu files read in %.1f s, %.1f MB of packed bases; windows drawn by %s: %s; "
                       "precision %s; peak lr %g%s\n",
               corpus.files.size(), load_seconds, corpus.memory_bytes() / 1e6,
               o.sampling_weights.empty() ? "sqrt(bases) per file" : o.sampling_weights.c_str(), weights.summary().c_str(),
               to_string(o.precision), s.lr, o.lr > 0 ? "" : " (default for the model's width)");
  if (o.precision == Precision::kBf16 && !device.is_cuda() && !cpu_has_native_bf16())
    std::fprintf(stderr, "germ pretrain: warning: this CPU has no native bf16 (AVX512-BF16/AMX); bf16 autocast is "
                         "emulated and slower than fp32 here\n");
  if (dp.active())
    std::fprintf(stderr, "germ pretrain: data parallel over %d processes (%s), %lld windows per process per micro-batch\n",
                 dp.world_size(), dp.backend().c_str(), static_cast<long long>(o.batch_size / dp.world_size()));
}

// Forward and backward over the micro-batches of one step. Every rank draws the whole global
// batch (windows and per-window seeds) in the same order and keeps its slice, so the union of
// the slices is the single-process batch. Returns the step's loss summed over the ranks (the
// gradients are summed too) and adds the tokens trained on to `tokens`.
double forward_backward(Setup& s, WindowSampler& sampler, TrainingState& state, DataParallel& dp, c10::Device device,
                        const PretrainOptions& o, const std::vector<at::Tensor>& parameters, int64_t& tokens) {
  const auto [shard_begin, shard_end] = shard_range(o.batch_size, dp.rank(), dp.world_size());
  std::vector<Batch> batches;
  std::vector<std::vector<uint64_t>> batch_seeds;
  at::Tensor global_tokens = at::zeros({o.grad_accum}, at::kDouble);
  for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
    std::vector<std::string> windows;
    std::vector<uint64_t> seeds;
    for (int64_t b = 0; b < o.batch_size; ++b) {
      std::string window = sampler.next();
      uint64_t seed = state.batch_rng();
      if (b < shard_begin || b >= shard_end) continue;
      windows.push_back(std::move(window));
      seeds.push_back(seed);
    }
    batches.push_back(make_batch(s, windows, o.mask_fraction, seeds));
    batch_seeds.push_back(std::move(seeds));
    global_tokens.accessor<double, 1>()[micro] = static_cast<double>(batches.back().tokens);
  }
  dp.all_reduce_sum(global_tokens);
  auto tokens_of = global_tokens.accessor<double, 1>();
  double local_loss = 0;
  for (int64_t micro = 0; micro < o.grad_accum; ++micro) {
    if (tokens_of[micro] == 0) continue;
    model::SampleNoiseScope noise(batch_seeds[micro]);
    at::Tensor loss = batch_loss_sum(s.bundle.model, batches[micro], device, o.precision) / (tokens_of[micro] * o.grad_accum);
    loss.backward();
    local_loss += loss.item<double>();
    tokens += static_cast<int64_t>(tokens_of[micro]);
  }
  at::Tensor step_loss_sum = at::full({1}, local_loss, at::kDouble);
  dp.all_reduce_sum(step_loss_sum);
  dp.all_reduce_gradients(parameters);
  return step_loss_sum.item<double>();
}

void optimizer_step(torch::optim::AdamW& optimizer, const std::vector<at::Tensor>& parameters, double lr, double clip) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  if (clip > 0) torch::nn::utils::clip_grad_norm_(parameters, clip);
  optimizer.step();
  optimizer.zero_grad();
}

// The steps between two evaluations, as the log averages them.
struct LogInterval {
  double loss = 0;
  int64_t steps = 0, tokens = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  int64_t evaluations = 0;  // so far, over the whole run

  void restart() {
    loss = 0, steps = tokens = 0;
    start = std::chrono::steady_clock::now();
  }
};

// The corpus, with held-out files replacing contig tails; `seconds`: how long reading took.
GenomeCorpus load_training_corpus(const PretrainOptions& o, double& seconds) {
  CorpusOptions corpus_options = o.corpus;
  if (!o.heldout_files.empty()) corpus_options.holdout_fraction = 0;
  const auto load_start = std::chrono::steady_clock::now();
  GenomeCorpus corpus = load_corpus(o.inputs, corpus_options);
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  return corpus;
}

// Bases of training windows per second (a base is a token for clm; an mlm BPE token is several).
void show_progress(util::Progress& progress, int64_t step, double loss, int64_t run_bases,
                   std::chrono::steady_clock::time_point run_start) {
  double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  char detail[96];
  std::snprintf(detail, sizeof detail, "loss %.4f, %s bases/s", loss,
                util::human_count(run_bases / std::max(run_seconds, 1e-9)).c_str());
  progress.update(step, detail);
}

// Rank 0 at an evaluation step: held-out loss, the log line, the per-file report, the result.
void evaluate_interval(Setup& s, const std::vector<HeldoutSet>& heldout, const PretrainOptions& o, c10::Device device,
                       int64_t step, double lr, LogInterval& interval, TrainingLog& log, PretrainResult& result) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - interval.start).count();
  double train_loss = interval.loss / interval.steps;
  const Evaluation evaluation = evaluate(s, heldout, o, device);
  log.write(step, lr, train_loss, evaluation.loss, interval.tokens / std::max(seconds, 1e-9),
            per_file_values(o, evaluation));
  report_per_file(o, heldout, evaluation, step);
  result.heldout_loss.clear();
  if (!o.heldout_files.empty())
    for (size_t i = 0; i < heldout.size(); ++i) result.heldout_loss.emplace_back(heldout[i].name, evaluation.per_set[i]);
  if (interval.evaluations++ == 0) result.first_train_loss = train_loss;
  result.last_train_loss = train_loss;
  result.validation_loss = evaluation.loss;
  interval.restart();
}

// The trained model with its provenance (rank 0); checkpoint state is not part of it.
void save_trained_model(Setup& s, const PretrainOptions& o, int64_t steps, const PretrainResult& result, bool root) {
  model::GermModel& m = s.bundle.model;
  m->eval();
  m->to(c10::Device(c10::kCPU));
  std::map<std::string, std::string> fields = {
      {"objective", o.objective}, {"steps", std::to_string(steps)},
      {"batch_size", std::to_string(o.batch_size)}, {"seq_len", std::to_string(o.seq_len)},
      {"seed", std::to_string(o.seed)}, {"validation_loss", std::to_string(result.validation_loss)},
      {"lr", std::to_string(s.lr)}};
  std::string inputs;
  for (const auto& in : o.inputs) inputs += (inputs.empty() ? "" : ",") + in;
  fields["data"] = inputs;
  fields["precision"] = to_string(o.precision);
  if (!o.sampling_weights.empty()) fields["sampling_weights"] = o.sampling_weights;
  std::string heldout_files;
  for (const auto& in : o.heldout_files) heldout_files += (heldout_files.empty() ? "" : ",") + in;
  if (!heldout_files.empty()) fields["heldout"] = heldout_files;
  if (!o.init_from.empty()) {
    fields["init_from"] = o.init_from;
    if (!o.attention.empty()) fields["continuation"] = "GERM-T: continued with " + o.attention + " attention";
  }
  s.bundle.provenance_json = model::make_provenance(o.command_line, fields);
  s.bundle.extra_tensors.clear();
  s.bundle.extra_metadata.clear();
  if (root) model::save_model(o.output, s.bundle);
}

}  // namespace

PretrainResult pretrain(const PretrainOptions& o) {
  const ProcessPlacement placement = placement_from_environment();
  check_pretrain_options(o, placement);
  const c10::Device device = placement.launched && o.device.is_cuda() ? c10::Device(c10::kCUDA, placement.local_rank) : o.device;
  DataParallel dp(placement, o.dist_timeout, device);
  const bool root = dp.is_root();
  torch::manual_seed(o.seed);
  TimeLimit time_limit(o.time_limit_minutes, o.stop_after_step);
  double load_seconds = 0;
  GenomeCorpus corpus = load_training_corpus(o, load_seconds);
  const SamplingWeights weights = sampling_weights(corpus, o.sampling_weights);
  Setup s = set_up_model(o, corpus, dp);
  model::GermModel& m = s.bundle.model;
  m->to(device);
  m->train();
  const std::vector<at::Tensor> parameters = m->parameters();
  dp.broadcast(parameters);

  TrainingState state = TrainingState::fresh(o.seed);
  WindowSampler sampler(corpus.train, s.window_bases, o.seed, 0.10, weights.file_share);
  const std::vector<HeldoutSet> heldout = held_out_sets(o, corpus, s.window_bases);
  std::unique_ptr<torch::optim::AdamW> optimizer = make_adamw(m, s.lr, o.weight_decay);
  const std::string checkpoint_path = o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint;
  if (!o.resume.empty()) {
    state = restore_training_state(o.resume, s.bundle, *optimizer);
    sampler.restore(state.sampler);
  }
  LrSchedule schedule{s.lr, o.warmup >= 0 ? o.warmup : std::max<int64_t>(1, o.steps * 6 / 100), o.steps, o.schedule};
  schedule.at(0);  // validates the schedule name before any work

  std::optional<TrainingLog> log;
  if (root)
    log.emplace(o.log_path.empty() ? o.output + ".log.tsv" : o.log_path, !o.resume.empty(), per_file_columns(o, heldout));
  PretrainResult result;
  result.rank = dp.rank();
  result.parameters = m->parameter_count();
  if (!o.quiet && root) report_start(o, s, corpus, weights, load_seconds, result, device, dp);

  util::Progress progress("pretrain", o.steps, "steps", root ? util::Progress::Mode::kAuto : util::Progress::Mode::kQuiet);
  progress.resume_at(state.step);
  LogInterval interval;
  const auto run_start = std::chrono::steady_clock::now();
  int64_t run_bases = 0;
  while (state.step < o.steps) {
    const double step_loss = forward_backward(s, sampler, state, dp, device, o, parameters, interval.tokens);
    if (!std::isfinite(step_loss))
      throw Error("training", "loss became " + std::to_string(step_loss) + " at step " +
                                  std::to_string(state.step) + "; lower --lr");
    const double lr = schedule.at(state.step);
    optimizer_step(*optimizer, parameters, lr, o.clip);
    ++state.step;
    interval.loss += step_loss;
    ++interval.steps;
    // Only rank 0 validates and logs: the weights are the same on every rank.
    if (root && (state.step % o.eval_every == 0 || state.step == o.steps))
      evaluate_interval(s, heldout, o, device, state.step, lr, interval, *log, result);
    run_bases += s.window_bases * o.batch_size * o.grad_accum;
    show_progress(progress, state.step, step_loss, run_bases, run_start);
    if (root && o.checkpoint_every > 0 && state.step % o.checkpoint_every == 0 && state.step < o.steps) {
      state.sampler = sampler.state();
      save_checkpoint(checkpoint_path, s.bundle, *optimizer, state);
    }
    time_limit.step_done();
    if (state.step < o.steps && time_is_up(time_limit, state.step, dp)) {
      state.sampler = sampler.state();
      if (root) save_checkpoint(checkpoint_path, s.bundle, *optimizer, state);
      dp.barrier();
      progress.finish();
      result.steps = state.step;
      result.stopped_by_time_limit = true;
      result.checkpoint = checkpoint_path;
      result.validation_bits = result.validation_loss / std::log(2.0);
      return result;
    }
  }
  progress.finish();
  save_trained_model(s, o, state.step, result, root);
  // The other ranks finish only once the model exists, so any rank's exit status reports the job.
  dp.barrier();
  result.steps = state.step;
  result.validation_bits = result.validation_loss / std::log(2.0);
  return result;
}

}  // namespace germ::train
