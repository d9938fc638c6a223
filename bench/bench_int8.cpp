// Integer linear layers against fp32: the GEMM alone, and the whole quantized layer (per-token
// quantization of the fp32 input, GEMM, dequantising epilogue) that inference would pay.
#include <torch/torch.h>

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <string>

#include "bench/bench_registry.hpp"
#include "quant/int8_gemm.hpp"

namespace germ::bench {
namespace {

// Best of several short windows: on a shared 2-core machine a compile elsewhere stalls one
// thread of an OpenMP region and with it the whole region, so means swing by 2-4x.
double best_seconds_per_call(const std::function<void()>& body) {
  double best = seconds_per_call(body, 0.2);
  for (int i = 0; i < 4; ++i) best = std::min(best, seconds_per_call(body, 0.2));
  return best;
}

std::string shape_name(int64_t m, int64_t k, int64_t n) {
  return std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

// LibTorch's own dynamic quantized linear (fp32 in, per-tensor u8 activations, s8 weights,
// fp32 out) through the dispatcher, as torch.ao.nn.quantized.dynamic.Linear calls it.
// Returns 0 when the engine cannot run it.
double torch_dynamic_seconds(at::QEngine engine, const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  const auto& engines = at::globalContext().supportedQEngines();
  if (std::find(engines.begin(), engines.end(), engine) == engines.end()) return 0;
  const at::QEngine saved = at::globalContext().qEngine();
  double seconds = 0;
  try {
    at::globalContext().setQEngine(engine);
    const double scale = w.abs().max().item<double>() / 127.0;
    at::Tensor qw = at::quantize_per_tensor(w, scale, 0, at::kQInt8);
    auto& dispatcher = c10::Dispatcher::singleton();
    auto prepack = dispatcher.findSchemaOrThrow("quantized::linear_prepack", "");
    auto linear = dispatcher.findSchemaOrThrow("quantized::linear_dynamic", "");
    torch::jit::Stack stack{qw, c10::optional<at::Tensor>(bias)};
    prepack.callBoxed(&stack);
    c10::IValue packed = stack.at(0);
    seconds = best_seconds_per_call([&] {
      torch::jit::Stack args{x, packed, false};
      linear.callBoxed(&args);
    });
  } catch (const std::exception&) {
    seconds = 0;
  }
  at::globalContext().setQEngine(saved);
  return seconds;
}

}  // namespace

std::vector<Row> int8_linear_rows() {
  torch::NoGradGuard no_grad;
  std::vector<Row> rows;
  quant::ActivationQuantizer q;  // dynamic per token, symmetric, 8 bits
  struct Shape {
    int64_t m, k, n;
  };
  for (Shape s : {Shape{4096, 256, 768}, Shape{4096, 256, 1024}, Shape{4096, 512, 256}, Shape{1024, 1024, 1024}}) {
    torch::manual_seed(0);
    at::Tensor x = torch::randn({s.m, s.k});
    at::Tensor w = torch::randn({s.n, s.k}) * 0.05;
    at::Tensor bias = torch::randn({s.n}) * 0.1;
    quant::QuantizedWeight qw = quant::quantize_weight(w, 8, true);
    quant::Int8Weight weight(qw.codes, qw.scales);
    quant::QuantizedRows qx = quant::quantize_rows_fast(x, q);
    const double ops = 2.0 * s.m * s.k * s.n / 1e9;
    const std::string shape = shape_name(s.m, s.k, s.n);

    const double fp32 = ops / best_seconds_per_call([&] { at::linear(x, w, bias); });
    const double gemm = ops / best_seconds_per_call([&] { quant::int8_matmul(qx.codes, weight); });
    const double epilogue = ops / best_seconds_per_call([&] { quant::int8_linear(qx, weight, bias); });
    const double whole = ops / best_seconds_per_call([&] { quant::int8_linear(quant::quantize_rows_fast(x, q), weight, bias); });
    const double quantize = s.m * s.k / 1e9 / best_seconds_per_call([&] { quant::quantize_rows_fast(x, q); });
    rows.push_back({"linear " + shape + " fp32", fp32, "GFLOP/s"});
    rows.push_back({"  int8 GEMM only", gemm, "GOP/s"});
    rows.push_back({"  int8 GEMM + dequant epilogue", epilogue, "GOP/s"});
    rows.push_back({"  int8 quantize + GEMM + epilogue", whole, "GOP/s"});
    rows.push_back({"  int8 end-to-end / fp32", whole / fp32, "x"});
    rows.push_back({"  quantize_rows_fast alone", quantize, "Gelem/s"});
    for (auto [engine, name] : {std::pair{at::QEngine::ONEDNN, "onednn"}, std::pair{at::QEngine::QNNPACK, "qnnpack"}}) {
      const double seconds = torch_dynamic_seconds(engine, x, w, bias);
      if (seconds > 0) rows.push_back({std::string("  torch linear_dynamic (") + name + ")", ops / seconds, "GOP/s"});
    }
  }
  return rows;
}

}  // namespace germ::bench
