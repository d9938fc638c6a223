#include "train/finetune.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>

#include "io/labelled_sequences.hpp"
#include "model/model_store.hpp"
#include "model/sample_dropout.hpp"
#include "model/token_batch.hpp"
#include "quant/quantized_store.hpp"
#include "train/classifier.hpp"
#include "train/distributed.hpp"
#include "train/finetune_defaults.hpp"
#include "train/schedule.hpp"
#include "train/training_state.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::train {
namespace {

constexpr const char* kLoraMetadata = "germ.lora";

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int64_t> argmax_rows(const at::Tensor& probabilities) {
  at::Tensor best = probabilities.argmax(1).contiguous();
  return std::vector<int64_t>(best.data_ptr<int64_t>(), best.data_ptr<int64_t>() + best.numel());
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
  if (o.method == "lora") return attach_lora(m, o.lora);
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
};

ChosenLr choose_lr(const StepContext& c, const std::vector<std::pair<std::string, at::Tensor>>& named,
                   const EncodedSet& train, const FinetuneOptions& o) {
  ChosenLr chosen;
  chosen.rule = default_finetune_lr(o.method, c.model->config().hidden);
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
      merge_lora(m, *lora);
    } else {
      // Adapter form: the base weights as trained against (NF4-rounded for QLoRA/LoftQ) plus
      // the adapters, so germ eval re-attaches them and computes exactly the trained model.
      at::NoGradGuard no_grad;
      for (const auto& entry : lora->entries())
        if (entry.hooks->quantised_base()) entry.linear->weight.set_data(quant::nf4_dequantize(*entry.hooks->quantised_base()));
      for (auto& [name, tensor] : lora_tensors(*lora)) bundle.extra_tensors[name] = tensor;
      bundle.extra_metadata[kLoraMetadata] = lora_metadata(o);
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
  bundle.extra_metadata[kClassifierMetadata] = nlohmann::json{{"sequence_bases", lengths[lengths.size() / 2]}}.dump();
  bundle.provenance_json = model::make_provenance(o.command_line, fields);
  model::save_model(o.output, bundle);
}

}  // namespace

FinetuneResult finetune(const FinetuneOptions& o) {
  const std::vector<std::string> methods{"full", "lora", "qlora", "loftq"};
  if (std::find(methods.begin(), methods.end(), o.method) == methods.end())
    throw Error("--method", "unknown method '" + o.method + "' (use full, lora, qlora or loftq)");
  if (o.output.empty()) throw Error("-o/--output", "an output model file is required");
  if (o.batch_size < 1 || o.epochs < 1 || o.steps < 0) throw Error("--batch-size/--epochs/--steps", "must be positive");
  if (o.method != "full") o.lora.validate();
  const ProcessPlacement placement = placement_from_environment();
  const c10::Device device = placement.launched && o.device.is_cuda() ? c10::Device(c10::kCUDA, placement.local_rank) : o.device;
  DataParallel dp(placement, o.dist_timeout, device);
  const bool root = dp.is_root();
  torch::manual_seed(o.seed);

  io::LabelledSet train_rows = io::read_labelled_split(o.data, "train");
  io::LabelledSet dev_rows = io::read_labelled_split(o.data, "dev");
  const int64_t classes = std::max<int64_t>({train_rows.num_labels, dev_rows.num_labels, 2});
  // A pretraining checkpoint is a valid base: its training state is ignored.
  model::ModelBundle base = model::load_model(o.base, {kTrainingStatePrefix});
  model::ModelBundle bundle = make_classifier(base, label_names_for(o.data, classes), o.base);
  model::GermModel& m = bundle.model;
  const int64_t max_tokens = o.max_length > 0 ? o.max_length : m->config().max_length;
  EncodedSet train = encode_labelled_set(train_rows, *bundle.tokenizer, max_tokens);
  EncodedSet dev = encode_labelled_set(dev_rows, *bundle.tokenizer, max_tokens);

  // Counted before QLoRA/LoftQ release the fp32 weights they quantise.
  const int64_t total_parameters = m->parameter_count();
  m->to(device);
  std::shared_ptr<LoraSet> lora;
  if (o.method != "full") {
    lora = attach(m, o);
    lora->to(device);
  }
  auto named = trainable(m, lora);
  std::vector<at::Tensor> parameters;
  for (auto& [name, tensor] : named) parameters.push_back(tensor);
  dp.broadcast(parameters);
  FinetuneResult result;
  result.rank = dp.rank();
  result.train_examples = static_cast<int64_t>(train.tokens.size());
  result.truncated = train.truncated + dev.truncated;
  result.total_parameters = total_parameters;
  for (const auto& [name, tensor] : named) result.trainable_parameters += tensor.numel();

  if (!o.quiet && root)
    std::fprintf(stderr, "germ finetune: %s on %s, %lld classes, %lld train / %lld dev sequences; %lld of %lld parameters trained\n",
               o.method.c_str(), o.base.c_str(), static_cast<long long>(classes),
               static_cast<long long>(result.train_examples), static_cast<long long>(dev.tokens.size()),
               static_cast<long long>(result.trainable_parameters), static_cast<long long>(result.total_parameters));
  if (result.truncated > 0 && !o.quiet && root)
    std::fprintf(stderr, "germ finetune: %lld sequences longer than %lld tokens were truncated\n",
                 static_cast<long long>(result.truncated), static_cast<long long>(max_tokens));

  m->train();
  const StepContext context{m, parameters, dp, device, o.clip};
  const ChosenLr lr = choose_lr(context, named, train, o);
  const int64_t steps_per_epoch = (result.train_examples + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = o.steps > 0 ? o.steps : o.epochs * steps_per_epoch;
  const int64_t eval_every = o.eval_every > 0 ? o.eval_every
                             : o.steps > 0    ? std::max<int64_t>(1, std::min(steps_per_epoch, (total_steps + 4) / 5))
                                              : steps_per_epoch;
  const int64_t warmup = std::min(o.warmup >= 0 ? o.warmup : default_warmup(total_steps), total_steps / 2);
  if (!o.quiet && root)
    std::fprintf(stderr, "germ finetune: lr %.3g (%s), warm-up %lld of %lld steps\n", lr.lr, lr.source.c_str(),
                 static_cast<long long>(warmup), static_cast<long long>(total_steps));
  auto optimizer = make_adamw(named, lr.lr, o.weight_decay);
  LrSchedule schedule{lr.lr, warmup, total_steps, "linear"};
  std::optional<TrainingLogFile> log;
  if (root) log.emplace(o.log_path.empty() ? o.output + ".log.tsv" : o.log_path);
  ChanceCheck chance(class_prior_loss(train.labels, classes),
                     std::min(total_steps, std::max(steps_per_epoch, warmup)), steps_per_epoch / 4);

  std::mt19937_64 shuffle_rng(o.seed);
  std::mt19937_64 noise_rng(o.seed ^ 0xD7E5A11ull);  // per-example dropout seeds (model/sample_dropout.hpp)
  std::vector<at::Tensor> best_state;
  double best_mcc = -2;
  util::Progress progress("finetune", total_steps, "steps", root ? util::Progress::Mode::kAuto : util::Progress::Mode::kQuiet);
  const auto run_start = std::chrono::steady_clock::now();
  double interval_loss = 0;
  int64_t interval_steps = 0, step = 0;
  bool warned = false;  // of a run at chance
  for (int64_t epoch = 0; step < total_steps; ++epoch) {
    const std::vector<size_t> order = shuffled(train.tokens.size(), shuffle_rng);
    auto epoch_start = std::chrono::steady_clock::now();
    double eval_seconds = 0;
    for (size_t start = 0; start < order.size() && step < total_steps; start += o.batch_size) {
      const double step_lr = schedule.at(step);
      const double loss_value =
          train_step(context, *optimizer, train, batch_at(order, start, o.batch_size), noise_rng, step_lr);
      if (!std::isfinite(loss_value))
        throw Error("training", "loss became " + std::to_string(loss_value) + " at step " + std::to_string(step) +
                                    "; lower --lr");
      ++step;
      interval_loss += loss_value;
      ++interval_steps;
      chance.add_loss(loss_value);
      char detail[64];
      std::snprintf(detail, sizeof detail, "epoch %lld, loss %.4f", static_cast<long long>(epoch + 1), loss_value);
      progress.update(step, detail);
      if (step % eval_every != 0 && step != total_steps) continue;

      // Only rank 0 evaluates and keeps the best state: the weights are the same on every rank.
      ChanceCheck::Verdict chance_verdict;
      chance_verdict.final = step == total_steps;
      if (root) {
        auto eval_start = std::chrono::steady_clock::now();
        at::Tensor probabilities = model::class_probabilities(m, dev.tokens, 2 * o.batch_size, device);
        ClassificationMetrics metrics = classification_metrics(dev.labels, argmax_rows(probabilities), classes);
        log->write(step, static_cast<double>(step) / steps_per_epoch, step_lr, interval_loss / interval_steps, metrics,
                   seconds_since(run_start));
        interval_loss = 0, interval_steps = 0;
        if (metrics.mcc > best_mcc) {  // ties keep the earlier, less trained state
          best_mcc = metrics.mcc;
          result.best_step = step;
          result.best_dev = metrics;
          best_state.clear();
          for (auto& [name, tensor] : named) best_state.push_back(tensor.detach().clone());
        }
        chance_verdict = chance.at_evaluation(step, total_steps, metrics.mcc, best_mcc, lr.lr, lr.rule);
        m->train();
        eval_seconds += seconds_since(eval_start);
      }
      report_chance(chance_verdict, o.fail_on_chance, dp, log, warned);
    }
    result.epoch_seconds.push_back(seconds_since(epoch_start) - eval_seconds);
  }
  progress.finish();
  result.steps = step;
  if (!root) {
    dp.barrier();  // returns once rank 0 has written the classifier
    return result;
  }
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < named.size(); ++i) named[i].second.copy_(best_state[i]);
  }
  save_classifier(bundle, lora, o, lr, train_rows, result);
  dp.barrier();
  return result;
}

model::ModelBundle load_classifier(const std::string& path, quant::Execution execution, bool merge_adapters) {
  model::ModelBundle bundle = model::load_model(path, {"lora.", quant::kQuantTensorPrefix});
  if (bundle.model->kind() != model::ModelKind::kClassifier)
    throw Error(path, std::string("is a ") + model::to_string(bundle.model->kind()) +
                          " model, not a classifier (train one with germ finetune)");
  auto meta = bundle.extra_metadata.find(kLoraMetadata);
  if (meta == bundle.extra_metadata.end()) {
    quant::attach_stored_quantization(bundle, path, execution);
    if (!bundle.extra_tensors.empty()) throw ModelCorrupted(path, "adapter tensors without germ.lora metadata");
    bundle.model->eval();
    return bundle;
  }
  if (quant::is_quantized(bundle)) throw ModelCorrupted(path, "a quantized model cannot carry LoRA adapters");
  LoraOptions options;
  try {
    auto j = nlohmann::json::parse(meta->second);
    options.rank = j.at("rank").get<int64_t>();
    options.alpha = j.at("alpha").get<double>();
    options.dropout = j.at("dropout").get<double>();
    options.targets = j.at("targets").get<std::vector<std::string>>();
    options.validate();
  } catch (const std::exception& e) {
    throw ModelCorrupted(path, std::string("germ.lora metadata: ") + e.what());
  }
  try {
    auto set = attach_lora(bundle.model, options);
    load_lora_tensors(*set, bundle.extra_tensors);
    // The hooks hold the adapters, so they outlive `set`.
    bundle.extra_tensors.clear();
    if (merge_adapters) {
      merge_lora(bundle.model, *set);
      bundle.extra_metadata.erase(kLoraMetadata);
    }
  } catch (const ModelCorrupted&) {
    throw;
  } catch (const Error& e) {
    throw ModelCorrupted(path, e.what());
  }
  bundle.model->eval();
  return bundle;
}

int64_t classifier_sequence_bases(const model::ModelBundle& classifier, int64_t fallback) {
  auto entry = classifier.extra_metadata.find(kClassifierMetadata);
  if (entry == classifier.extra_metadata.end()) return fallback;
  auto j = nlohmann::json::parse(entry->second, nullptr, false);
  if (j.is_discarded() || !j.contains("sequence_bases") || !j["sequence_bases"].is_number_integer()) return fallback;
  int64_t bases = j["sequence_bases"].get<int64_t>();
  return bases > 0 ? bases : fallback;
}

int64_t class_index(const model::ModelBundle& classifier, const std::string& name_or_index) {
  const auto& labels = classifier.labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == name_or_index) return static_cast<int64_t>(i);
  if (!name_or_index.empty() && std::all_of(name_or_index.begin(), name_or_index.end(), ::isdigit)) {
    int64_t index = std::stoll(name_or_index);
    if (index < static_cast<int64_t>(labels.size())) return index;
  }
  std::string known;
  for (size_t i = 0; i < labels.size(); ++i) known += (i ? ", " : "") + std::to_string(i) + " = " + labels[i];
  throw Error("--class", "'" + name_or_index + "' is not a class of the model (" + known + ")");
}

}  // namespace germ::train
