#include "train/finetune.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
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

 private:
  std::string path_;
  std::ofstream out_;
};

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

  const double lr = o.lr > 0 ? o.lr : (o.method == "full" ? 3e-5 : 1e-4);
  const int64_t steps_per_epoch = (result.train_examples + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = o.steps > 0 ? o.steps : o.epochs * steps_per_epoch;
  const int64_t eval_every = o.eval_every > 0 ? o.eval_every
                             : o.steps > 0    ? std::max<int64_t>(1, std::min(steps_per_epoch, (total_steps + 4) / 5))
                                              : steps_per_epoch;
  auto optimizer = make_adamw(named, lr, o.weight_decay);
  LrSchedule schedule{lr, std::min(o.warmup, total_steps / 2), total_steps, "linear"};
  std::optional<TrainingLogFile> log;
  if (root) log.emplace(o.log_path.empty() ? o.output + ".log.tsv" : o.log_path);

  if (!o.quiet && root)
    std::fprintf(stderr, "germ finetune: %s on %s, %lld classes, %lld train / %lld dev sequences; %lld of %lld parameters trained\n",
               o.method.c_str(), o.base.c_str(), static_cast<long long>(classes),
               static_cast<long long>(result.train_examples), static_cast<long long>(dev.tokens.size()),
               static_cast<long long>(result.trainable_parameters), static_cast<long long>(result.total_parameters));
  if (result.truncated > 0 && !o.quiet && root)
    std::fprintf(stderr, "germ finetune: %lld sequences longer than %lld tokens were truncated\n",
                 static_cast<long long>(result.truncated), static_cast<long long>(max_tokens));

  std::mt19937_64 shuffle_rng(o.seed);
  std::mt19937_64 noise_rng(o.seed ^ 0xD7E5A11ull);  // per-example dropout seeds (model/sample_dropout.hpp)
  std::vector<size_t> order(train.tokens.size());
  std::vector<at::Tensor> best_state;
  double best_mcc = -2;
  util::Progress progress("finetune", total_steps, "steps", root ? util::Progress::Mode::kAuto : util::Progress::Mode::kQuiet);
  const auto run_start = std::chrono::steady_clock::now();
  double interval_loss = 0;
  int64_t interval_steps = 0, step = 0;
  m->train();
  for (int64_t epoch = 0; step < total_steps; ++epoch) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    auto epoch_start = std::chrono::steady_clock::now();
    double eval_seconds = 0;
    for (size_t start = 0; start < order.size() && step < total_steps; start += o.batch_size) {
      // The global batch is order[start, start + batch); this rank trains on its slice of it.
      const int64_t global_batch = std::min<int64_t>(o.batch_size, order.size() - start);
      const auto [begin, end] = shard_range(global_batch, dp.rank(), dp.world_size());
      std::vector<std::vector<int64_t>> chunk;
      std::vector<int64_t> labels;
      std::vector<uint64_t> seeds;
      for (int64_t i = 0; i < global_batch; ++i) {
        uint64_t seed = noise_rng();
        if (i < begin || i >= end) continue;
        chunk.push_back(train.tokens[order[start + i]]);
        labels.push_back(train.labels[order[start + i]]);
        seeds.push_back(seed);
      }
      double local_loss = 0;
      if (!chunk.empty()) {
        model::TokenBatch batch = model::pad_token_batch(chunk);
        model::SampleNoiseScope noise(seeds);
        at::Tensor logits = m->forward(batch.ids.to(device), batch.attention_mask.to(device));
        // Summed and divided by the global batch: the ranks' gradients add up to the batch mean.
        at::Tensor loss = torch::nn::functional::cross_entropy(
                              logits, at::tensor(labels, at::kLong).to(device),
                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                          static_cast<double>(global_batch);
        local_loss = loss.item<double>();
        loss.backward();
      }
      at::Tensor loss_sum = at::full({1}, local_loss, at::kDouble);
      dp.all_reduce_sum(loss_sum);
      dp.all_reduce_gradients(parameters);
      const double loss_value = loss_sum.item<double>();
      if (!std::isfinite(loss_value))
        throw Error("training", "loss became " + std::to_string(loss_value) + " at step " + std::to_string(step) +
                                    "; lower --lr");
      double step_lr = schedule.at(step);
      for (auto& group : optimizer->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(step_lr);
      if (o.clip > 0) torch::nn::utils::clip_grad_norm_(parameters, o.clip);
      optimizer->step();
      optimizer->zero_grad();
      ++step;
      interval_loss += loss_value;
      ++interval_steps;
      char detail[64];
      std::snprintf(detail, sizeof detail, "epoch %lld, loss %.4f", static_cast<long long>(epoch + 1), loss_value);
      progress.update(step, detail);

      // Only rank 0 evaluates and keeps the best state: the weights are the same on every rank.
      if (root && (step % eval_every == 0 || step == total_steps)) {
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
        m->train();
        eval_seconds += seconds_since(eval_start);
      }
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
  std::map<std::string, std::string> fields{{"method", o.method},
                                            {"base", o.base},
                                            {"data", o.data},
                                            {"steps", std::to_string(step)},
                                            {"lr", std::to_string(lr)},
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
