// germ_device_bench: the GPU benchmark rows of scripts/gpu_run.sh (docs/gpu.md), on any device
// so that the CPU dry run exercises the same code. One "name<TAB>value<TAB>unit" line per row:
//   GEMM ceilings (fp32, and bf16 on CUDA), training tokens/s and model FLOPs of a model config,
//   attention as the explicit form, through attend() (SDPA on LibTorch 2) and germ's fused kernel.
#include <CLI/CLI.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "bench/bench_registry.hpp"
#include "cuda/attention_glue.hpp"
#include "model/attention.hpp"
#include "model/transformer.hpp"
#include "train/training_state.hpp"
#include "util/output_file.hpp"
#include "util/runtime.hpp"

namespace {

using germ::bench::seconds_per_call;

struct Settings {
  std::string device = "cpu";
  std::string config_path;  // empty: the "tiny" causal LM preset
  int64_t batch = 8, seq_len = 256, attention_length = 1024, gemm_size = 0;
  double seconds = 1.0;  // minimum timed seconds per row
};

void row(const std::string& name, double value, const char* unit) {
  std::printf("%s\t%.6g\t%s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

// Device work is asynchronous: every timed call waits for the device before the clock is read.
std::function<void()> synced(const c10::Device& device, std::function<void()> body) {
  if (!device.is_cuda()) return body;
  return [body] {
    body();
    torch::cuda::synchronize();
  };
}

void gemm_rows(const Settings& s, const c10::Device& device) {
  std::vector<at::ScalarType> dtypes{at::kFloat};
  if (device.is_cuda()) dtypes.push_back(at::kBFloat16);
  const int64_t n = s.gemm_size > 0 ? s.gemm_size : (device.is_cuda() ? 8192 : 512);
  for (at::ScalarType dtype : dtypes) {
    at::Tensor a = torch::randn({n, n}, at::TensorOptions(device).dtype(dtype));
    at::Tensor b = torch::randn({n, n}, at::TensorOptions(device).dtype(dtype));
    double t = seconds_per_call(synced(device, [&] { at::mm(a, b); }), s.seconds);
    row(std::string("gemm_") + (dtype == at::kFloat ? "fp32" : "bf16") + "_tflops", 2.0 * n * n * n / t / 1e12,
        "TFLOP/s");
  }
}

germ::model::ModelConfig bench_config(const Settings& s) {
  using namespace germ::model;
  ModelConfig config = s.config_path.empty() ? ModelConfig::preset("tiny", ModelKind::kCausalLm)
                                             : ModelConfig::from_json(germ::util::read_whole_file(s.config_path));
  config.vocab = 10;
  return config;
}

// One optimizer step as germ pretrain takes it (forward, cross-entropy, backward, clipping,
// AdamW) on a fixed random batch. FLOPs per token: 6 N + 12 L d T (PaLM's MFU convention).
void train_rows(const Settings& s, const c10::Device& device) {
  using namespace germ::model;
  ModelConfig config = bench_config(s);
  GermModel model(config, ModelKind::kCausalLm);
  model->to(device);
  model->train();
  auto optimizer = germ::train::make_adamw(model, 1e-3, 0.01);
  at::Tensor ids = torch::randint(5, 9, {s.batch, s.seq_len + 1}, at::TensorOptions(device).dtype(at::kLong));
  using at::indexing::Slice;
  at::Tensor inputs = ids.index({Slice(), Slice(0, s.seq_len)}).contiguous();
  at::Tensor labels = ids.index({Slice(), Slice(1, at::indexing::None)}).reshape({-1});
  auto step = [&] {
    at::Tensor logits = model->forward(inputs);
    torch::nn::functional::cross_entropy(logits.reshape({-1, config.vocab}), labels).backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optimizer->step();
    optimizer->zero_grad();
  };
  torch::GradMode::set_enabled(true);
  double t = seconds_per_call(synced(device, step), s.seconds);
  torch::GradMode::set_enabled(false);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  const double flops_per_token = 6.0 * parameters + 12.0 * config.layers * config.hidden * s.seq_len;
  row("train_parameters", parameters, "count");
  row("train_tokens_per_s", s.batch * s.seq_len / t, "tokens/s");
  row("train_flops_per_token", flops_per_token, "FLOP");
  row("train_tflops", flops_per_token * s.batch * s.seq_len / t / 1e12, "TFLOP/s");
}

// Causal Softmax_1 attention with ALiBi at the model's head shape, fp32 (the explicit form and
// SDPA) and, on CUDA with germ's kernels built, the fused kernel in fp32 and bf16.
void attention_rows(const Settings& s, const c10::Device& device) {
  using namespace germ::model;
  ModelConfig config = bench_config(s);
  // Eight sequences: at 4,096 the explicit form's fp32 scores alone take 8 x H x 64 MiB.
  const int64_t b = std::min<int64_t>(s.batch, 8), h = config.heads, l = s.attention_length, d = config.head_dim();
  auto options = at::TensorOptions(device).dtype(at::kFloat);
  at::Tensor q = torch::randn({b, h, l, d}, options), k = torch::randn({b, h, l, d}, options);
  at::Tensor v = torch::randn({b, h, l, d}, options);
  at::Tensor bias = alibi_bias(alibi_slopes(h), l, true).unsqueeze(0).to(device);  // built on the CPU
  at::Tensor slopes = alibi_slopes(h).to(device);
  const double flops = 4.0 * b * h * l * l * d;  // QK^T and PV over every (query, key) pair
  auto report = [&](const std::string& name, const std::function<void()>& body) {
    double t = seconds_per_call(synced(device, body), s.seconds);
    row("attention_" + name + "_ms", t * 1e3, "ms");
    row("attention_" + name + "_tflops", flops / t / 1e12, "TFLOP/s");
  };
  report("explicit", [&] { attend_reference(q, k, v, bias, Normaliser::kSoftmax1); });
  report("attend", [&] { attend(q, k, v, bias, Normaliser::kSoftmax1, 0.0, false); });
  if (!device.is_cuda() || !germ::cuda::cuda_kernels_built()) return;
  at::Tensor positions = at::arange(l, options);
  at::Tensor keep = at::ones({b, l}, at::TensorOptions(device).dtype(at::kByte));
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    at::Tensor qd = q.to(dtype), kd = k.to(dtype), vd = v.to(dtype);
    report(std::string("fused_") + (dtype == at::kFloat ? "fp32" : "bf16"), [&] {
      germ::cuda::fused_attention(qd, kd, vd, slopes, positions, positions, keep, true, true);
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"germ_device_bench: GEMM, training and attention rows on one device (docs/gpu.md)"};
  Settings s;
  app.add_option("--device", s.device, "cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--config", s.config_path, "Model config JSON (default: the tiny causal LM)");
  app.add_option("--batch", s.batch, "Sequences per training step (attention: at most 8)")->capture_default_str();
  app.add_option("--seq-len", s.seq_len, "Bases per training sequence")->capture_default_str();
  app.add_option("--attention-length", s.attention_length, "Queries = keys per attention call")
      ->capture_default_str();
  app.add_option("--gemm-size", s.gemm_size, "Square GEMM size (default 8192 on CUDA, 512 on the CPU)");
  app.add_option("--seconds", s.seconds, "Minimum timed seconds per row")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  germ::util::configure_threads(0);
  const c10::Device device = germ::util::select_device(s.device);
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  gemm_rows(s, device);
  train_rows(s, device);
  attention_rows(s, device);
  return 0;
}
