#include "train/training_state.hpp"

#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/error.hpp"

namespace germ::train {

TrainingState TrainingState::fresh(uint64_t seed) {
  TrainingState state;
  state.batch_rng.seed(seed * 0x9E3779B97F4A7C15ull + 1);
  return state;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(model::GermModel& model, double lr, double weight_decay) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : model->named_parameters()) named.emplace_back(item.key(), item.value());
  return make_adamw(named, lr, weight_decay);
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<std::pair<std::string, at::Tensor>>& parameters,
                                                double lr, double weight_decay) {
  std::vector<at::Tensor> decayed, plain;
  for (const auto& [name, parameter] : parameters) {
    if (!parameter.requires_grad()) continue;  // frozen (LoRA's base weights)
    bool no_decay = parameter.dim() < 2 || name.find("embeddings") != std::string::npos;
    (no_decay ? plain : decayed).push_back(parameter);
  }
  auto options = [&](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(lr).betas({0.9, 0.98}).eps(1e-6).weight_decay(decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decayed.empty()) groups.emplace_back(decayed, options(weight_decay));
  if (!plain.empty()) groups.emplace_back(plain, options(0.0));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(lr)
                                                           .betas({0.9, 0.98})
                                                           .eps(1e-6)
                                                           .weight_decay(weight_decay));
}

namespace {

at::Tensor bytes_tensor(const std::string& bytes) {
  at::Tensor t = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_bytes(const at::Tensor& t) {
  at::Tensor c = t.contiguous().to(at::kByte);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

}  // namespace

void save_checkpoint(const std::string& path, const model::ModelBundle& bundle,
                     torch::optim::AdamW& optimizer, const TrainingState& state) {
  model::ModelBundle checkpoint = bundle;
  std::ostringstream optimizer_bytes;
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to(optimizer_bytes);
  checkpoint.extra_tensors[std::string(kTrainingStatePrefix) + "optimizer"] = bytes_tensor(optimizer_bytes.str());
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    checkpoint.extra_tensors[std::string(kTrainingStatePrefix) + "torch_rng"] = generator.get_state();
  }
  std::ostringstream batch_rng;
  batch_rng << state.batch_rng;
  checkpoint.extra_metadata["germ.checkpoint"] =
      nlohmann::json{{"step", state.step}, {"sampler", state.sampler}, {"batch_rng", batch_rng.str()}}.dump();
  model::save_model(path, checkpoint);
}

TrainingState restore_training_state(const std::string& path, model::ModelBundle& bundle,
                                     torch::optim::AdamW& optimizer) {
  auto meta = bundle.extra_metadata.find("germ.checkpoint");
  auto optimizer_tensor = bundle.extra_tensors.find(std::string(kTrainingStatePrefix) + "optimizer");
  auto rng_tensor = bundle.extra_tensors.find(std::string(kTrainingStatePrefix) + "torch_rng");
  if (meta == bundle.extra_metadata.end() || optimizer_tensor == bundle.extra_tensors.end() ||
      rng_tensor == bundle.extra_tensors.end())
    throw Error(path, "not a germ checkpoint (no training state); use --init-from for a model file");
  nlohmann::json j = nlohmann::json::parse(meta->second, nullptr, false);
  if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer() ||
      !j.contains("sampler") || !j["sampler"].is_string() || !j.contains("batch_rng") || !j["batch_rng"].is_string())
    throw ModelCorrupted(path, "checkpoint metadata is incomplete");
  TrainingState state;
  state.step = j["step"].get<int64_t>();
  state.sampler = j["sampler"].get<std::string>();
  std::istringstream rng_text(j["batch_rng"].get<std::string>());
  rng_text >> state.batch_rng;
  if (!rng_text) throw ModelCorrupted(path, "checkpoint batch RNG state is corrupt");
  try {
    std::istringstream optimizer_bytes(tensor_bytes(optimizer_tensor->second));
    torch::serialize::InputArchive archive;
    archive.load_from(optimizer_bytes);
    optimizer.load(archive);
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng_tensor->second);
  } catch (const c10::Error& e) {
    throw ModelCorrupted(path, "optimizer or RNG state cannot be restored");
  }
  return state;
}

TrainingLog::TrainingLog(const std::string& path, bool append, const std::vector<std::string>& extra_columns)
    : path_(path), out_(path, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw Error(path, "cannot open the training log for writing");
  if (!append || out_.tellp() == 0) {
    out_ << "step\tlr\ttrain_loss\tvalidation_loss\tvalidation_perplexity\ttokens_per_second";
    for (const auto& column : extra_columns) out_ << '\t' << column;
    out_ << '\n';
  }
}

void TrainingLog::write(int64_t step, double lr, double train_loss, double validation_loss,
                        double tokens_per_second, const std::vector<double>& extra) {
  out_ << step << '\t' << lr << '\t' << train_loss << '\t' << validation_loss << '\t'
       << std::exp(validation_loss) << '\t' << tokens_per_second;
  for (double value : extra) out_ << '\t' << value;
  out_ << '\n';
  out_.flush();
  if (!out_) throw Error(path_, "write failed");
}

}  // namespace germ::train
