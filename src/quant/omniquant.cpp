#include "quant/omniquant.hpp"

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/functional/linear.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "model/token_batch.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::quant {
namespace {

namespace F = torch::nn::functional;

// LWC starts almost unclipped (sigmoid(4) = 0.982), as in the paper.
constexpr double kInitialTheta = 4.0;
// The frozen layers must reproduce what was trained; the forward passes below repeat the
// operations of quant_math in the same order, so the two agree to the last bit in practice.
constexpr double kFreezeTolerance = 1e-5;

at::Tensor round_ste(const at::Tensor& x) { return x + (at::round(x) - x).detach(); }

// quantize_rows (dynamic per-token asymmetric, clip 1) followed by dequantize_rows, with the
// rounding made differentiable. The range stays attached to the graph (as in OmniQuant's
// dynamic quantizer), so the transform also learns from how it moves the token ranges.
at::Tensor fake_quantize_tokens(const at::Tensor& t, int bits) {
  const double levels = static_cast<double>(asymmetric_qmax(bits));
  at::Tensor lo = at::clamp_max(t.amin({1}), 0.0);
  at::Tensor hi = at::clamp_min(t.amax({1}), 0.0);
  at::Tensor range = hi - lo;
  at::Tensor scales = at::where(range > 0, range / levels, at::ones_like(range));
  at::Tensor zero = at::clamp(round_ste(-lo / scales), 0.0, levels).unsqueeze(1);
  at::Tensor codes = at::clamp(round_ste(t * scales.reciprocal().unsqueeze(1)) + zero, 0.0, levels);
  return (codes - zero) * scales.unsqueeze(1);
}

// quantize_weight (symmetric, per output channel, clipped) followed by dequantize_weight.
// The clamp passes no gradient to clipped codes, but their value qmax * scale carries one
// to theta: that is how LWC trades clipping error for rounding error.
at::Tensor fake_quantize_weight(const at::Tensor& w, const at::Tensor& clip, int bits) {
  const double qmax = static_cast<double>(symmetric_qmax(bits));
  at::Tensor absmax = w.abs().amax({1}) * clip;
  at::Tensor scales = at::where(absmax > 0, absmax / qmax, at::ones_like(absmax));
  at::Tensor codes = at::clamp(round_ste(w * scales.reciprocal().unsqueeze(1)), -qmax, qmax);
  return codes * scales.unsqueeze(1);
}

// The learnable quantities of one linear. The LET scale is learnt as a logarithm: s spans
// orders of magnitude across channels, and a fixed Adam step on log s is a fixed relative
// change whatever the channel's size (a raw-s step of 5e-3 would flip a small s's sign).
struct Transform {
  at::Tensor log_scale;  // [in]; x' = (x - shift) / s
  at::Tensor shift;      // [in]
  at::Tensor theta;      // [out]; clip = sigmoid(theta)

  at::Tensor inv_smooth() const { return at::exp(-log_scale); }
  at::Tensor clip() const { return at::sigmoid(theta); }
  Transform copy() const { return {log_scale.detach().clone(), shift.detach().clone(), theta.detach().clone()}; }
  void assign(const Transform& other) {
    torch::NoGradGuard no_grad;
    log_scale.copy_(other.log_scale);
    shift.copy_(other.shift);
    theta.copy_(other.theta);
  }
  bool finite() const {
    return at::isfinite(log_scale).all().item<bool>() && at::isfinite(shift).all().item<bool>() &&
           at::isfinite(theta).all().item<bool>();
  }
};

// Differentiable fake-quantized product of one linear under its Transform (training only;
// the frozen layers run QuantizedLinearHooks).
class TrainingHooks : public model::LinearHooks {
 public:
  TrainingHooks(const model::GermLinear& linear, const Transform& t, BitWidths bits)
      : weight_(linear->weight.detach().to(at::kFloat)),
        bias_(linear->bias.defined() ? linear->bias.detach().to(at::kFloat) : at::Tensor()),
        t_(t), bits_(bits) {}

  at::Tensor replace_forward(const at::Tensor& input) override {
    const int64_t features = input.size(-1);
    std::vector<int64_t> out_shape(input.sizes().begin(), input.sizes().end());
    out_shape.back() = weight_.size(0);
    at::Tensor inv = t_.inv_smooth();
    at::Tensor x = channel_transform(input.reshape({-1, features}), t_.shift, inv);
    at::Tensor w = fake_quantize_weight(weight_ / inv, t_.clip(), bits_.weight);
    at::Tensor y = F::linear(fake_quantize_tokens(x, bits_.activation), w, bias_) + at::matmul(weight_, t_.shift);
    return y.reshape(out_shape).to(input.scalar_type());
  }

 private:
  at::Tensor weight_, bias_;
  Transform t_;  // shares the parameters' storage
  BitWidths bits_;
};

// Per-channel max and min of a linear's input over the real tokens of every batch.
struct ChannelRange {
  at::Tensor max, min;
};

class RangeHooks : public model::LinearHooks {
 public:
  RangeHooks(ChannelRange& range, const at::Tensor& valid_rows) : range_(range), valid_rows_(valid_rows) {}
  at::Tensor transform_input(const at::Tensor& input) override {
    at::Tensor x = input.reshape({-1, input.size(-1)}).to(at::kFloat).index_select(0, valid_rows_);
    if (x.size(0) == 0) return input;
    at::Tensor hi = x.amax({0}), lo = x.amin({0});
    range_.max = range_.max.defined() ? at::maximum(range_.max, hi) : hi;
    range_.min = range_.min.defined() ? at::minimum(range_.min, lo) : lo;
    return input;
  }

 private:
  ChannelRange& range_;
  const at::Tensor& valid_rows_;
};

struct Batch {
  at::Tensor bias;        // ALiBi + padding, [B or 1, H, L, L]
  at::Tensor token_mask;  // [B, L, 1], 1 token / 0 padding
  at::Tensor valid_rows;  // flat indices of the tokens in [B * L]
  double tokens = 0;
  at::Tensor fp, q;       // the hidden states entering the current block: fp32 model, quantized model
};

// Mean squared error over the real tokens only: padding rows are garbage by construction.
at::Tensor masked_mse(const at::Tensor& out, const at::Tensor& target, const Batch& b) {
  return ((out - target) * b.token_mask).pow(2).sum() / (b.tokens * static_cast<double>(out.size(-1)));
}

// Puts every parameter out of autograd's reach for the duration and restores the flags and
// a hook-free model on every exit path.
class ModelGuard {
 public:
  explicit ModelGuard(model::GermModel& net) : net_(net) {
    for (auto& p : net_->parameters()) {
      flags_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~ModelGuard() {
    detach_hooks(net_);
    auto params = net_->parameters();
    for (size_t i = 0; i < params.size() && i < flags_.size(); ++i) params[i].requires_grad_(flags_[i]);
  }
  ModelGuard(const ModelGuard&) = delete;
  ModelGuard& operator=(const ModelGuard&) = delete;

 private:
  model::GermModel& net_;
  std::vector<bool> flags_;
};

std::string format_mse(double before, double after) {
  std::ostringstream text;
  text.precision(4);
  text << before << " -> " << after;
  return text.str();
}

// One block: the fp32 target, the initial transforms, training, and the frozen layers, which
// stay attached to the block when it returns.
class BlockTrainer {
 public:
  BlockTrainer(model::TransformerLayer block, std::vector<NamedLinear> linears, std::vector<Batch>& batches,
               const PtqOptions& options, std::mt19937_64& rng)
      : block_(std::move(block)), linears_(std::move(linears)), batches_(batches), o_(options), rng_(rng) {}

  struct Result {
    std::vector<LinearQuantization> layers;
    double before = 0, after = 0;
    int64_t best_epoch = 0;  // 0: the initial transforms were never beaten
  };

  Result run(int64_t index) {
    record_target();
    initialise();
    attach_training();
    Result r;
    r.before = evaluate();
    r.after = r.before;
    std::vector<Transform> best = copies();
    train([&](int64_t epoch) {
      // The calibration loss is rough under STE rounding and few batches: the epoch that did
      // best on the whole calibration set is kept, not merely the last one.
      double loss = evaluate();
      if (loss < r.after) r.after = loss, r.best_epoch = epoch, best = copies();
    });
    for (size_t i = 0; i < transforms_.size(); ++i) transforms_[i].assign(best[i]);
    at::Tensor trained;
    {
      torch::NoGradGuard no_grad;
      trained = block_->forward(batches_[0].q, batches_[0].bias);
    }
    r.layers = freeze();
    {
      torch::NoGradGuard no_grad;
      at::Tensor frozen = block_->forward(batches_[0].q, batches_[0].bias);
      const double gap = (frozen - trained).norm().item<double>() / std::max(trained.norm().item<double>(), 1e-30);
      if (!(gap <= kFreezeTolerance))
        throw Error("omniquant", "block " + std::to_string(index) + ": the frozen layers differ from the trained ones by " +
                                     std::to_string(gap) + " (relative)");
    }
    r.after = evaluate();
    advance();
    return r;
  }

 private:
  // The fp32 block's outputs, and the channel ranges of its linears' inputs, in one pass.
  void record_target() {
    torch::NoGradGuard no_grad;
    at::Tensor valid_rows;
    ranges_.assign(linears_.size(), {});
    for (size_t i = 0; i < linears_.size(); ++i)
      linears_[i].linear->set_hooks(std::make_shared<RangeHooks>(ranges_[i], valid_rows));
    for (auto& b : batches_) {
      valid_rows = b.valid_rows;
      target_.push_back(block_->forward(b.fp, b.bias));
    }
    for (auto& l : linears_) l.linear->set_hooks(nullptr);
  }

  // The paper's initialisation: SmoothQuant's scale (alpha 0.5, from the fp32 inputs' absolute
  // maxima) and the channel midpoint as shift.
  void initialise() {
    for (size_t i = 0; i < linears_.size(); ++i) {
      const at::Tensor weight = linears_[i].linear->weight.detach().to(at::kFloat);
      const ChannelRange& r = ranges_[i];
      at::Tensor absmax = at::maximum(r.max.abs(), r.min.abs());
      Transform t{smoothing_factors(absmax, weight, 0.5).log(), ((r.max + r.min) / 2).contiguous(),
                  at::full({weight.size(0)}, kInitialTheta, at::kFloat)};
      t.log_scale.requires_grad_(true);
      t.shift.requires_grad_(true);
      t.theta.requires_grad_(true);
      transforms_.push_back(t);
    }
  }

  void attach_training() {
    for (size_t i = 0; i < linears_.size(); ++i)
      linears_[i].linear->set_hooks(std::make_shared<TrainingHooks>(linears_[i].linear, transforms_[i], o_.bits));
  }

  std::vector<Transform> copies() const {
    std::vector<Transform> out;
    for (const auto& t : transforms_) out.push_back(t.copy());
    return out;
  }

  // Token-weighted MSE over every calibration batch under the attached hooks.
  double evaluate() {
    torch::NoGradGuard no_grad;
    double sum = 0, tokens = 0;
    for (size_t k = 0; k < batches_.size(); ++k) {
      const Batch& b = batches_[k];
      sum += masked_mse(block_->forward(b.q, b.bias), target_[k], b).item<double>() * b.tokens;
      tokens += b.tokens;
    }
    return sum / tokens;
  }

  template <typename EndOfEpoch>
  void train(EndOfEpoch end_of_epoch) {
    torch::AutoGradMode enable_grad(true);
    using torch::optim::AdamWOptions;
    std::vector<at::Tensor> let, lwc;
    for (const auto& t : transforms_) let.push_back(t.log_scale), let.push_back(t.shift), lwc.push_back(t.theta);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(let, std::make_unique<AdamWOptions>(AdamWOptions(o_.omniquant_lr).weight_decay(0.0)));
    groups.emplace_back(lwc, std::make_unique<AdamWOptions>(AdamWOptions(2 * o_.omniquant_lr).weight_decay(0.0)));
    torch::optim::AdamW optimizer(groups, AdamWOptions(o_.omniquant_lr).weight_decay(0.0));
    std::vector<size_t> order(batches_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    for (int64_t epoch = 1; epoch <= o_.omniquant_epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng_);
      for (size_t k : order) {
        optimizer.zero_grad();
        at::Tensor loss = masked_mse(block_->forward(batches_[k].q, batches_[k].bias), target_[k], batches_[k]);
        // A step from a non-finite loss, or one that lands on non-finite values, is dropped.
        if (!std::isfinite(loss.item<double>())) continue;
        loss.backward();
        std::vector<Transform> saved = copies();
        optimizer.step();
        bool finite = true;
        for (const auto& t : transforms_) finite = finite && t.finite();
        if (!finite)
          for (size_t i = 0; i < transforms_.size(); ++i) transforms_[i].assign(saved[i]);
      }
      end_of_epoch(epoch);
    }
  }

  std::vector<LinearQuantization> freeze() {
    torch::NoGradGuard no_grad;
    ActivationQuantizer act;
    act.scheme = ActivationScheme::kDynamicPerTokenAsymmetric;
    act.bits = o_.bits.activation;
    act.clip = 1.0f;
    std::vector<LinearQuantization> layers;
    for (size_t i = 0; i < linears_.size(); ++i) {
      const Transform& t = transforms_[i];
      layers.push_back(quantize_linear(linears_[i].name, linears_[i].linear->weight, o_.bits.weight, true, act,
                                       t.shift, t.inv_smooth(), t.clip()));
      linears_[i].linear->set_hooks(
          std::make_shared<QuantizedLinearHooks>(linears_[i].linear.ptr(), layers.back(), Execution::kFakeQuant));
    }
    return layers;
  }

  // The next block reads this one's outputs: quantized (frozen hooks) and fp32 (the target).
  void advance() {
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < batches_.size(); ++k) {
      batches_[k].q = block_->forward(batches_[k].q, batches_[k].bias);
      batches_[k].fp = target_[k];
    }
  }

  model::TransformerLayer block_;
  std::vector<NamedLinear> linears_;
  std::vector<Batch>& batches_;
  const PtqOptions& o_;
  std::mt19937_64& rng_;
  std::vector<at::Tensor> target_;
  std::vector<ChannelRange> ranges_;
  std::vector<Transform> transforms_;
};

}  // namespace

QuantizedModel quantize_omniquant(model::GermModel& net, const std::vector<std::vector<int64_t>>& calibration,
                                  const PtqOptions& options) {
  if (calibration.empty()) throw Error("--calib", "no calibration sequences");
  if (options.omniquant_epochs < 0) throw Error("omniquant", "the number of epochs must not be negative");
  QuantizedModel out{options, {}, {}};
  const int64_t batch_size = std::max<int64_t>(1, options.calibration.batch_size);
  net->eval();
  ModelGuard guard(net);
  detach_hooks(net);

  std::vector<Batch> batches;
  {
    torch::NoGradGuard no_grad;
    for (size_t start = 0; start < calibration.size(); start += batch_size) {
      std::vector<std::vector<int64_t>> chunk(calibration.begin() + start,
                                              calibration.begin() + std::min(calibration.size(), start + batch_size));
      model::TokenBatch tb = model::pad_token_batch(chunk);
      Batch b;
      b.fp = net->embed(tb.ids);
      b.q = b.fp;  // the embeddings are not quantized
      b.bias = net->attention_bias(tb.ids.size(1), tb.attention_mask, b.fp.scalar_type(), b.fp.device());
      b.token_mask = tb.attention_mask.to(at::kFloat).unsqueeze(-1);
      b.valid_rows = tb.attention_mask.reshape({-1}).nonzero().reshape({-1});
      b.tokens = static_cast<double>(b.valid_rows.numel());
      if (b.tokens > 0) batches.push_back(std::move(b));
    }
  }
  if (batches.empty()) throw Error("--calib", "the calibration sequences hold no tokens");

  const auto all_linears = quantizable_linears(net);
  const int64_t blocks = static_cast<int64_t>(net->layers.size());
  util::Progress progress("omniquant", blocks, "blocks",
                          options.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kPlain);
  progress.plain_interval = std::chrono::seconds(0);
  std::mt19937_64 rng(options.seed);
  for (int64_t l = 0; l < blocks; ++l) {
    const auto started = std::chrono::steady_clock::now();
    const std::string prefix = "encoder.layer." + std::to_string(l) + ".";
    std::vector<NamedLinear> linears;
    for (const auto& nl : all_linears)
      if (nl.name.rfind(prefix, 0) == 0) linears.push_back(nl);
    BlockTrainer::Result r = BlockTrainer(net->layers[l], linears, batches, options, rng).run(l);
    for (auto& layer : r.layers) out.layers.push_back(std::move(layer));
    const std::string key = "block." + std::to_string(l);
    out.details[key + ".mse"] = format_mse(r.before, r.after);
    out.details[key + ".best_epoch"] = std::to_string(r.best_epoch);
    std::ostringstream detail;
    detail.precision(3);
    detail << "block " << l << " mse " << out.details[key + ".mse"] << " (epoch " << r.best_epoch << "), "
           << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s";
    progress.update(l + 1, detail.str());
  }
  progress.finish();
  out.details["epochs"] = std::to_string(options.omniquant_epochs);
  std::ostringstream lr;
  lr << "let " << options.omniquant_lr << ", lwc " << 2 * options.omniquant_lr;
  out.details["lr"] = lr.str();
  return out;
}

}  // namespace germ::quant
