#include "quant/calibration.hpp"

#include <torch/csrc/autograd/grad_mode.h>

#include <limits>
#include <memory>

#include "model/token_batch.hpp"
#include "quant/quantized_linear.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/progress.hpp"

namespace germ::quant {
namespace {

// Records the (transformed) input of one linear layer and passes the original on.
class RecordingHooks : public model::LinearHooks {
 public:
  RecordingHooks(InputStatistics& stats, const at::Tensor& valid_rows, at::Tensor shift, at::Tensor inv_smooth,
                 int64_t keep_every)
      : stats_(stats), valid_rows_(valid_rows), shift_(std::move(shift)), inv_smooth_(std::move(inv_smooth)),
        keep_every_(keep_every) {}

  at::Tensor transform_input(const at::Tensor& input) override {
    at::Tensor x = input.reshape({-1, input.size(-1)});
    if (valid_rows_.defined() && valid_rows_.size(0) == x.size(0)) x = x.index_select(0, valid_rows_);
    x = channel_transform(x, shift_, inv_smooth_);
    if (x.size(0) == 0) return input;
    at::Tensor absmax = x.abs().amax({0});
    stats_.channel_absmax = stats_.channel_absmax.defined() ? at::maximum(stats_.channel_absmax, absmax) : absmax;
    double lo = x.min().item<double>(), hi = x.max().item<double>();
    if (stats_.tokens == 0) stats_.min = lo, stats_.max = hi;
    stats_.min = std::min(stats_.min, lo);
    stats_.max = std::max(stats_.max, hi);
    at::Tensor tmax = x.amax({1}).contiguous(), tmin = x.amin({1}).contiguous();
    stats_.token_max.insert(stats_.token_max.end(), tmax.data_ptr<float>(), tmax.data_ptr<float>() + tmax.numel());
    stats_.token_min.insert(stats_.token_min.end(), tmin.data_ptr<float>(), tmin.data_ptr<float>() + tmin.numel());
    // Every keep_every-th token (counted over the whole run) joins the sample.
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < x.size(0); ++i)
      if ((stats_.tokens + i) % keep_every_ == 0) keep.push_back(i);
    if (!keep.empty()) {
      at::Tensor rows = x.index_select(0, at::tensor(keep, at::kLong));
      stats_.sample_rows = stats_.sample_rows.defined() ? at::cat({stats_.sample_rows, rows}, 0) : rows;
    }
    stats_.tokens += x.size(0);
    return input;
  }

 private:
  InputStatistics& stats_;
  const at::Tensor& valid_rows_;
  at::Tensor shift_, inv_smooth_;
  int64_t keep_every_;
};

at::Tensor lookup(const std::map<std::string, at::Tensor>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? at::Tensor() : it->second;
}

}  // namespace

std::vector<std::vector<int64_t>> frame_calibration_set(const model::ModelBundle& bundle,
                                                        const std::vector<std::string>& sequences) {
  std::vector<std::vector<int64_t>> framed;
  for (const auto& s : sequences)
    framed.push_back(model::frame_sequence(*bundle.tokenizer, bundle.model->kind(), s, bundle.model->config().max_length));
  return framed;
}

std::map<std::string, InputStatistics> calibrate(model::GermModel& model,
                                                 const std::vector<std::vector<int64_t>>& tokens,
                                                 const CalibrationOptions& options) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t total_tokens = 0;
  for (const auto& t : tokens) total_tokens += static_cast<int64_t>(t.size());
  const int64_t keep_every = std::max<int64_t>(1, total_tokens / std::max<int64_t>(1, options.kept_rows));

  std::map<std::string, InputStatistics> stats;
  at::Tensor valid_rows;
  auto linears = quantizable_linears(model);
  for (auto& l : linears)
    l.linear->set_hooks(std::make_shared<RecordingHooks>(stats[l.name], valid_rows, lookup(options.shift, l.name),
                                                         lookup(options.inv_smooth, l.name), keep_every));
  util::Progress progress("calibrate", tokens.size(), "seq");
  try {
    for (size_t start = 0; start < tokens.size(); start += options.batch_size) {
      std::vector<std::vector<int64_t>> chunk(tokens.begin() + start,
                                              tokens.begin() + std::min(tokens.size(), start + options.batch_size));
      model::TokenBatch batch = model::pad_token_batch(chunk);
      valid_rows = batch.attention_mask.reshape({-1}).nonzero().reshape({-1});
      model->hidden_states(batch.ids, batch.attention_mask);
      progress.update(start + chunk.size());
    }
  } catch (...) {
    for (auto& l : linears) l.linear->set_hooks(nullptr);
    throw;
  }
  progress.finish();
  for (auto& l : linears) l.linear->set_hooks(nullptr);
  return stats;
}

}  // namespace germ::quant
