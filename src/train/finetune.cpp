#include "train/finetune.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/classifier_file.hpp"
#include "engine/open_model.hpp"
#include "io/labelled_sequences.hpp"
#include "model/model_store.hpp"
#include "model/sample_dropout.hpp"
#include "model/token_batch.hpp"
#include "train/classifier.hpp"
#include "train/distributed.hpp"
#include "train/finetune_defaults.hpp"
#include "train/schedule.hpp"
#include "train/training_state.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::train {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string lora_metadata(const FinetuneOptions& o) {
  return nlohmann::json{{"method", o.method},
                        {"rank", o.lora.rank},
                        {"alpha", o.lora.alpha},
                        {"dropout", o.lora.dropout},
                        {"targets", o.lora.targets}}
      .dump();
}

std::shared_ptr<LoraSet> attach(model::GermModel& m, const FinetuneOptions& o) {
  if (o.method == "lora") return engine::attach_lora(m, o.lora);
  if (o.method == "qlora") return attach_qlora(m, o.lora);
  return attach_loftq(m, o.lora, o.loftq_iterations);
}

// Named tensors the optimizer trains, and a way to snapshot and restore them (best on dev).
std::vector<std::pair<std::string, at::Tensor>> trainable(model::GermModel& m, const std::shared_ptr<LoraSet>& set) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : m->named_parameters())
    if (item.value().requires_grad()) named.emplace_back(item.key(), item.value());
  if (set)
    for (const auto& item : set->named_parameters()) named.emplace_back(item.key(), item.value());
  return named;
}

class TrainingLogFile {
 public:
  explicit TrainingLogFile(const std::string& path) : path_(path), out_(path) {
    if (!out_) throw Error(path, "cannot write the training log");
    out_ << "step\tepoch\tlr\ttrain_loss\tdev_mcc\tdev_accuracy\tdev_macro_f1\telapsed_s\n";
  }
  void write(int64_t step, double epoch, double lr, double loss, const ClassificationMetrics& dev, double elapsed) {
    out_ << step << '\t' << epoch << '\t' << lr << '\t' << loss << '\t' << dev.mcc << '\t' << dev.accuracy << '\t'
         << dev.macro_f1 << '\t' << elapsed << '\n';
    out_.flush();
    if (!out_) throw Error(path_, "write failed");
  }
  // A run stopped by --fail-on-chance leaves no files behind.
  void discard() {
    out_.close();
    std::remove(path_.c_str());
  }

 private:
  std::string path_;
  std::ofstream out_;
};

// What one optimizer step needs; shared by training and the learning-rate range test.
struct StepContext {
  model::GermModel& model;
  const std::vector<at::Tensor>& parameters;
  DataParallel& dp;
  c10::Device device;
  double clip;
};

// Forward and backward over this rank's slice of the global batch `examples` (gradients and
// loss summed over the ranks), then an optimizer step at `lr`. A non-finite loss is returned
// without a step, for the caller to judge.
double train_step(const StepContext& c, torch::optim::AdamW& optimizer, const EncodedSet& train,
                  const std::vector<size_t>& examples, std::mt19937_64& noise_rng, double lr) {
  const int64_t global_batch = static_cast<int64_t>(examples.size());
  const auto [begin, end] = shard_range(global_batch, c.dp.rank(), c.dp.world_size());
  std::vector<std::vector<int64_t>> chunk;
  std::vector<int64_t> labels;
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < global_batch; ++i) {
    uint64_t seed = noise_rng();
    if (i < begin || i >= end) continue;
    chunk.push_back(train.tokens[examples[i]]);
    labels.push_back(train.labels[examples[i]]);
    seeds.push_back(seed);
  }
  double local_loss = 0;
  if (!chunk.empty()) {
    model::TokenBatch batch = model::pad_token_batch(chunk);
    model::SampleNoiseScope noise(seeds);
    at::Tensor logits = c.model->forward(batch.ids.to(c.device), batch.attention_mask.to(c.device));
    // Summed and divided by the global batch: the ranks' gradients add up to the batch mean.
    at::Tensor loss = torch::nn::functional::cross_entropy(
                          logits, at::tensor(labels, at::kLong).to(c.device),
                          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                      static_cast<double>(global_batch);
    local_loss = loss.item<double>();
    loss.backward();
  }
  at::Tensor loss_sum = at::full({1}, local_loss, at::kDouble);
  c.dp.all_reduce_sum(loss_sum);
  c.dp.all_reduce_gradients(c.parameters);
  const double loss_value = loss_sum.item<double>();
  if (std::isfinite(loss_value)) {
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    if (c.clip > 0) torch::nn::utils::clip_grad_norm_(c.parameters, c.clip);
    optimizer.step();
  }
  optimizer.zero_grad();
  return loss_value;
}

// A fresh shuffled order of the training examples for one pass.
std::vector<size_t> shuffled(size_t examples, std::mt19937_64& rng) {
  std::vector<size_t> order(examples);
  for (size_t i = 0; i < examples; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

std::vector<size_t> batch_at(const std::vector<size_t>& order, size_t start, int64_t batch_size) {
  return {order.begin() + start, order.begin() + std::min(order.size(), start + static_cast<size_t>(batch_size))};
}

// `--lr auto`: the range test of RangeTestPlan on the training split, from the untrained state,
// which is restored afterwards (the test's optimizer and random streams are its own).
RangeTestChoice run_range_test(const StepContext& c, const std::vector<std::pair<std::string, at::Tensor>>& named,
                               const EncodedSet& train, const FinetuneOptions& o, const RangeTestPlan& plan) {
  std::vector<at::Tensor> initial;
  for (const auto& [name, tensor] : named) initial.push_back(tensor.detach().clone());
  auto optimizer = make_adamw(named, plan.first, o.weight_decay);
  std::mt19937_64 shuffle_rng(o.seed ^ 0x4A17E5Full), noise_rng(o.seed ^ 0x5EEDull);
  std::vector<double> lrs, losses;
  std::vector<size_t> order;
  size_t start = 0;
  for (int64_t step = 0; step < plan.steps; ++step) {
    if (start >= order.size()) order = shuffled(train.tokens.size(), shuffle_rng), start = 0;
    const double lr = plan.lr_at(step);
    const double loss = train_step(c, *optimizer, train, batch_at(order, start, o.batch_size), noise_rng, lr);
    start += static_cast<size_t>(o.batch_size);
    lrs.push_back(lr), losses.push_back(loss);
    // Far past the minimum nothing more is learned about it: save the remaining steps.
    if (!std::isfinite(loss) || loss > 8 * losses.front()) break;
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < named.size(); ++i) named[i].second.copy_(initial[i]);
  return choose_range_test_lr(lrs, losses);
}

// The peak rate of the run: --lr, the range test's choice (--lr auto), or the width rule.
struct ChosenLr {
  double lr = 0;
  double rule = 0;     // default_finetune_lr for this model
  std::string source;  // for the provenance
  bool from_range_test = false;  // --lr auto: the chance warning then suggests other options
};

ChosenLr choose_lr(const StepContext& c, const std::vector<std::pair<std::string, at::Tensor>>& named,
                   const EncodedSet& train, const FinetuneOptions& o) {
  ChosenLr chosen;
  chosen.rule = default_finetune_lr(o.method, c.model->config().hidden);
  chosen.from_range_test = o.lr_auto;
  if (!o.lr_auto) {
    chosen.lr = o.lr > 0 ? o.lr : chosen.rule;
    chosen.source = o.lr > 0 ? "--lr" : "width rule (hidden " + std::to_string(c.model->config().hidden) + ")";
    return chosen;
  }
  const RangeTestPlan plan;
  RangeTestChoice test = run_range_test(c, named, train, o, plan);
  chosen.lr = test.lr > 0 ? test.lr : chosen.rule;
  char text[400];
  std::snprintf(text, sizeof text, "range test, %lld of at most %lld steps at rates %.0e to %.0e: %s%s",
                static_cast<long long>(test.steps_used), static_cast<long long>(plan.steps), plan.first, plan.last,
                test.lr > 0 ? "" : "no choice, the width rule's rate taken, because ", test.reason.c_str());
  chosen.source = text;
  return chosen;
}

// A run at chance: without --fail-on-chance, one warning line on stderr (the first verdict at
// chance; `warned` remembers it); with it, the final verdict (decided on rank 0, given to every
// rank) is an error and the training log is removed, so nothing is written.
void report_chance(const ChanceCheck::Verdict& verdict, bool fail_on_chance, DataParallel& dp,
                   std::optional<TrainingLogFile>& log, bool& warned) {
  if (fail_on_chance) {
    if (!verdict.final) return;
    const std::string message = dp.broadcast_text(verdict.message);
    if (message.empty()) return;
    if (log) log->discard();
    throw Error("--fail-on-chance", message);
  }
  if (verdict.message.empty() || warned) return;
  warned = true;
  std::fprintf(stderr, "germ finetune: warning: %s\n", verdict.message.c_str());
}

// Writes the classifier (best dev state already restored) with its provenance.
void save_classifier(model::ModelBundle& bundle, const std::shared_ptr<LoraSet>& lora, const FinetuneOptions& o,
                     const ChosenLr& lr, const io::LabelledSet& train_rows, const FinetuneResult& result) {
  model::GermModel& m = bundle.model;
  m->eval();
  m->to(c10::Device(c10::kCPU));
  if (lora) {
    lora->to(c10::Device(c10::kCPU));
    if (o.merge) {
      engine::merge_lora(m, *lora);
    } else {
      // Adapter form: the base weights as trained against (NF4-rounded for QLoRA/LoftQ) plus
      // the adapters, so germ eval re-attaches them and computes exactly the trained model.
      at::NoGradGuard no_grad;
      for (const auto& entry : lora->entries())
        if (entry.hooks->quantised_base()) entry.linear->weight.set_data(quant::nf4_dequantize(*entry.hooks->quantised_base()));
      for (auto& [name, tensor] : engine::lora_tensors(*lora)) bundle.extra_tensors[name] = tensor;
      bundle.extra_metadata[engine::kLoraMetadata] = lora_metadata(o);
    }
  }
  char lr_text[32];
  std::snprintf(lr_text, sizeof lr_text, "%.6g", lr.lr);
  std::map<std::string, std::string> fields{{"method", o.method},
                                            {"base", o.base},
                                            {"data", o.data},
                                            {"steps", std::to_string(result.steps)},
                                            {"lr", lr_text},
                                            {"lr_source", lr.source},
                                            {"batch_size", std::to_string(o.batch_size)},
                                            {"seed", std::to_string(o.seed)},
                                            {"best_step", std::to_string(result.best_step)},
                                            {"best_dev_mcc", std::to_string(result.best_dev.mcc)}};
  if (lora) fields["lora"] = lora_metadata(o);
  // The length the classifier was trained on: germ score's default sliding window.
  std::vector<int64_t> lengths;
  for (const auto& row : train_rows.rows) lengths.push_back(static_cast<int64_t>(row.bases.size()));
  std::nth_element(lengths.begin(), lengths.begin() + lengths.size() / 2, lengths.end());
  bundle.extra_metadata[engine::kClassifierMetadata] = nlohmann::json{{"sequence_bases", lengths[lengths.size() / 2]}}.dump();
  bundle.provenance_json = model::make_provenance(o.command_line, fields);
  model::save_model(o.output, bundle);
}

void check_options(const FinetuneOptions& o) {
  const std::vector<std::string> methods{"full", "lora", "qlora", "loftq"};
  if (std::find(methods.begin(), methods.end(), o.method) == methods.end())
    throw Error("--method", "unknown method '" + o.method + "' (use full, lora, qlora or loftq)");
  if (o.output.empty()) throw Error("-o/--output", "an output model file is required");
  if (o.batch_size < 1 || o.epochs < 1 || o.steps < 0) throw Error("--batch-size/--epochs/--steps", "must be positive");
  if (o.method != "full") o.lora.validate();
}

// The classifier and the data of a run, on its device, with the adapters of its method attached.
struct FinetuneSetup {
  io::LabelledSet train_rows;
  int64_t classes = 2;
  int64_t max_tokens = 0;
  model::ModelBundle bundle;
  EncodedSet train, dev;
  std::shared_ptr<LoraSet> lora;
  std::vector<std::pair<std::string, at::Tensor>> named;  // what the optimizer trains
  std::vector<at::Tensor> parameters;                     // the same, unnamed
};

FinetuneSetup set_up(const FinetuneOptions& o, c10::Device device, DataParallel& dp, FinetuneResult& result) {
  FinetuneSetup s;
  s.train_rows = io::read_labelled_split(o.data, "train");
  io::LabelledSet dev_rows = io::read_labelled_split(o.data, "dev");
  s.classes = std::max<int64_t>({s.train_rows.num_labels, dev_rows.num_labels, 2});
  // A pretraining checkpoint is a valid base: its training state is ignored.
  model::ModelBundle base = engine::open_for_training(o.base, {kTrainingStatePrefix});
  s.bundle = make_classifier(base, label_names_for(o.data, s.classes), o.base, o.pooling);
  model::GermModel& m = s.bundle.model;
  s.max_tokens = o.max_length > 0 ? o.max_length : m->config().max_length;
  s.train = encode_labelled_set(s.train_rows, *s.bundle.tokenizer, s.max_tokens);
  s.dev = encode_labelled_set(dev_rows, *s.bundle.tokenizer, s.max_tokens);

  // Counted before QLoRA/LoftQ release the fp32 weights they quantise.
  result.total_parameters = m->parameter_count();
  m->to(device);
  if (o.method != "full") {
    s.lora = attach(m, o);
    s.lora->to(device);
  }
  s.named = trainable(m, s.lora);
  for (auto& [name, tensor] : s.named) s.parameters.push_back(tensor);
  dp.broadcast(s.parameters);
  result.train_examples = static_cast<int64_t>(s.train.tokens.size());
  result.truncated = s.train.truncated + s.dev.truncated;
  for (const auto& [name, tensor] : s.named) result.trainable_parameters += tensor.numel();
  return s;
}

void report_setup(const FinetuneOptions& o, const FinetuneSetup& s, const FinetuneResult& result) {
  std::fprintf(stderr, "germ finetune: %s on %s, %lld classes, %lld train / %lld dev sequences; %lld of %lld parameters trained\n",
               o.method.c_str(), o.base.c_str(), static_cast<long long>(s.classes),
               static_cast<long long>(result.train_examples), static_cast<long long>(s.dev.tokens.size()),
               static_cast<long long>(result.trainable_parameters), static_cast<long long>(result.total_parameters));
  if (result.truncated > 0)
    std::fprintf(stderr, "germ finetune: %lld sequences longer than %lld tokens were truncated\n",
                 static_cast<long long>(result.truncated), static_cast<long long>(s.max_tokens));
}

// When a run steps, evaluates and warms up.
struct StepPlan {
  int64_t steps_per_epoch = 0, total_steps = 0, eval_every = 0, warmup = 0;
};

StepPlan plan_steps(const FinetuneOptions& o, int64_t train_examples) {
  StepPlan p;
  p.steps_per_epoch = (train_examples + o.batch_size - 1) / o.batch_size;
  p.total_steps = o.steps > 0 ? o.steps : o.epochs * p.steps_per_epoch;
  p.eval_every = o.eval_every > 0 ? o.eval_every
                 : o.steps > 0    ? std::max<int64_t>(1, std::min(p.steps_per_epoch, (p.total_steps + 4) / 5))
                                  : p.steps_per_epoch;
  p.warmup = std::min(o.warmup >= 0 ? o.warmup : default_warmup(p.total_steps), p.total_steps / 2);
  return p;
}

// The optimizer loop of one run: steps over shuffled epochs, and the dev evaluations, which
// only rank 0 runs (the weights are the same on every rank): the training log, the best state
// so far, the chance check.
class FinetuneLoop {
 public:
  FinetuneLoop(const FinetuneOptions& o, FinetuneSetup& s, DataParallel& dp, c10::Device device, FinetuneResult& result)
      : o_(o), s_(s), dp_(dp), device_(device), result_(result), root_(dp.is_root()),
        context_{s.bundle.model, s.parameters, dp, device, o.clip} {
    s_.bundle.model->train();
    lr_ = choose_lr(context_, s_.named, s_.train, o_);
    plan_ = plan_steps(o_, result_.train_examples);
    if (!o_.quiet && root_)
      std::fprintf(stderr, "germ finetune: lr %.3g (%s), warm-up %lld of %lld steps\n", lr_.lr, lr_.source.c_str(),
                   static_cast<long long>(plan_.warmup), static_cast<long long>(plan_.total_steps));
    optimizer_ = make_adamw(s_.named, lr_.lr, o_.weight_decay);
    schedule_ = LrSchedule{lr_.lr, plan_.warmup, plan_.total_steps, "linear"};
    if (root_) log_.emplace(o_.log_path.empty() ? o_.output + ".log.tsv" : o_.log_path);
    chance_.emplace(class_prior_loss(s_.train.labels, s_.classes),
                    std::min(plan_.total_steps, std::max(plan_.steps_per_epoch, plan_.warmup)), plan_.steps_per_epoch / 4);
  }

  void run() {
    util::Progress progress("finetune", plan_.total_steps, "steps",
                            root_ ? util::Progress::Mode::kAuto : util::Progress::Mode::kQuiet);
    run_start_ = std::chrono::steady_clock::now();
    for (int64_t epoch = 0; step_ < plan_.total_steps; ++epoch) run_epoch(epoch, progress);
    progress.finish();
    result_.steps = step_;
  }

  // The state of the best dev evaluation back into the model (rank 0).
  void restore_best() {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < s_.named.size(); ++i) s_.named[i].second.copy_(best_state_[i]);
  }

  const ChosenLr& lr() const { return lr_; }

 private:
  void run_epoch(int64_t epoch, util::Progress& progress) {
    const std::vector<size_t> order = shuffled(s_.train.tokens.size(), shuffle_rng_);
    auto epoch_start = std::chrono::steady_clock::now();
    double eval_seconds = 0;
    for (size_t start = 0; start < order.size() && step_ < plan_.total_steps; start += o_.batch_size) {
      const double step_lr = schedule_.at(step_);
      const double loss_value =
          train_step(context_, *optimizer_, s_.train, batch_at(order, start, o_.batch_size), noise_rng_, step_lr);
      if (!std::isfinite(loss_value))
        throw Error("training", "loss became " + std::to_string(loss_value) + " at step " + std::to_string(step_) +
                                    "; lower --lr");
      ++step_;
      interval_loss_ += loss_value;
      ++interval_steps_;
      chance_->add_loss(loss_value);
      char detail[64];
      std::snprintf(detail, sizeof detail, "epoch %lld, loss %.4f", static_cast<long long>(epoch + 1), loss_value);
      progress.update(step_, detail);
      if (step_ % plan_.eval_every == 0 || step_ == plan_.total_steps) eval_seconds += evaluate(step_lr);
    }
    result_.epoch_seconds.push_back(seconds_since(epoch_start) - eval_seconds);
  }

  // Returns the seconds rank 0 spent evaluating (not training time).
  double evaluate(double step_lr) {
    ChanceCheck::Verdict chance_verdict;
    chance_verdict.final = step_ == plan_.total_steps;
    double seconds = 0;
    if (root_) {
      auto eval_start = std::chrono::steady_clock::now();
      model::GermModel& m = s_.bundle.model;
      at::Tensor probabilities = model::class_probabilities(m, s_.dev.tokens, 2 * o_.batch_size, device_);
      ClassificationMetrics metrics =
          classification_metrics(s_.dev.labels, model::predicted_classes(probabilities), s_.classes);
      log_->write(step_, static_cast<double>(step_) / plan_.steps_per_epoch, step_lr, interval_loss_ / interval_steps_,
                  metrics, seconds_since(run_start_));
      interval_loss_ = 0, interval_steps_ = 0;
      if (metrics.mcc > best_mcc_) {  // ties keep the earlier, less trained state
        best_mcc_ = metrics.mcc;
        result_.best_step = step_;
        result_.best_dev = metrics;
        best_state_.clear();
        for (auto& [name, tensor] : s_.named) best_state_.push_back(tensor.detach().clone());
      }
      chance_verdict = chance_->at_evaluation(step_, plan_.total_steps, metrics.mcc, best_mcc_, lr_.lr, lr_.rule,
                                              lr_.from_range_test);
      m->train();
      seconds = seconds_since(eval_start);
    }
    report_chance(chance_verdict, o_.fail_on_chance, dp_, log_, warned_);
    return seconds;
  }

  const FinetuneOptions& o_;
  FinetuneSetup& s_;
  DataParallel& dp_;
  c10::Device device_;
  FinetuneResult& result_;
  const bool root_;
  const StepContext context_;
  ChosenLr lr_;
  StepPlan plan_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  LrSchedule schedule_;
  std::optional<TrainingLogFile> log_;
  std::optional<ChanceCheck> chance_;
  std::mt19937_64 shuffle_rng_{o_.seed};
  std::mt19937_64 noise_rng_{o_.seed ^ 0xD7E5A11ull};  // per-example dropout seeds (model/sample_dropout.hpp)
  std::vector<at::Tensor> best_state_;
  double best_mcc_ = -2;
  std::chrono::steady_clock::time_point run_start_;
  double interval_loss_ = 0;
  int64_t interval_steps_ = 0, step_ = 0;
  bool warned_ = false;  // of a run at chance
};

}  // namespace

FinetuneResult finetune(const FinetuneOptions& o) {
  check_options(o);
  const ProcessPlacement placement = placement_from_environment();
  const c10::Device device = placement.launched && o.device.is_cuda() ? c10::Device(c10::kCUDA, placement.local_rank) : o.device;
  DataParallel dp(placement, o.dist_timeout, device);
  const bool root = dp.is_root();
  torch::manual_seed(o.seed);

  FinetuneResult result;
  result.rank = dp.rank();
  FinetuneSetup s = set_up(o, device, dp, result);
  if (!o.quiet && root) report_setup(o, s, result);
  FinetuneLoop loop(o, s, dp, device, result);
  loop.run();
  if (!root) {
    dp.barrier();  // returns once rank 0 has written the classifier
    return result;
  }
  loop.restore_best();
  save_classifier(s.bundle, s.lora, o, loop.lr(), s.train_rows, result);
  dp.barrier();
  return result;
}

}  // namespace germ::train
