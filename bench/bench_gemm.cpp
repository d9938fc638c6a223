// germ_bench: prints one table of measurements; every later benchmark divides by the first
// row (fp32 GEMM through LibTorch), the CPU ceiling of this machine.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench_registry.hpp"
#include "quant/int8_gemm.hpp"
#include "util/blas_core.hpp"
#include "util/runtime.hpp"

int main(int argc, char** argv) {
  // As germ does: a generic OpenBLAS core on an unknown CPU is replaced before measuring.
  germ::util::reexecute_with_tuned_environment(argv);
  int threads = argc > 1 ? std::atoi(argv[1]) : 0;
  threads = germ::util::configure_threads(threads);
  germ::util::keep_freed_memory_for_reuse();  // as germ pretrain and finetune do
  torch::NoGradGuard no_grad;
  std::printf("%-40s %14s %10s\n", "benchmark", "value", "unit");
  const int64_t n = 1024;
  at::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  double s = germ::bench::seconds_per_call([&] { at::mm(a, b); });
  double gflops = 2.0 * n * n * n / s / 1e9;
  std::printf("%-40s %14.1f %10s\n", ("gemm fp32 1024^3, " + std::to_string(threads) + " threads").c_str(),
              gflops, "GFLOP/s");
  germ::util::BlasInfo blas = germ::util::detect_blas();
  std::printf("%-40s %14s %10s\n", "blas", blas.name.c_str(), "");
  std::printf("%-40s %14s %10s\n", "blas core", germ::util::loaded_openblas_core().c_str(), "");
  std::printf("%-40s %14s %10s\n", "int8 backend", germ::quant::int8_backend_description().c_str(), "");
  for (const auto& row : germ::bench::int8_linear_rows())
    std::printf("%-40s %14.*f %10s\n", row.name.c_str(), row.unit == "x" ? 2 : 1, row.value, row.unit.c_str());
  // Same step as bench/pytorch_reference.py; bench/run.sh prints the ratio.
  const char* only_gemm = std::getenv("GERM_BENCH_GEMM_ONLY");
  if (!only_gemm) {
    torch::GradMode::set_enabled(true);
    double tokens = germ::bench::train_tokens_per_second(16, 256, 5);
    std::printf("%-40s %14.1f %10s\n", "train small clm, batch 16 x 256 (germ)", tokens, "tokens/s");
    std::printf("%-40s %14.1f %10s\n", "train small clm, of the GEMM ceiling",
                100.0 * tokens * germ::bench::train_flops_per_token(256) / (gflops * 1e9), "%");
    // At 1,024 bases attention is most of the work: the fused kernel against the explicit form.
    double fused = germ::bench::train_tokens_per_second(4, 1024, 3, true);
    double explicit_form = germ::bench::train_tokens_per_second(4, 1024, 3, false);
    std::printf("%-40s %14.1f %10s\n", "train small clm, batch 4 x 1024 (germ)", fused, "tokens/s");
    std::printf("%-40s %14.1f %10s\n", "same, explicit attention", explicit_form, "tokens/s");
    std::printf("%-40s %14.2f %10s\n", "fused / explicit attention", fused / explicit_form, "x");
    std::printf("%-40s %14.1f %10s\n", "train 4 x 1024, of the GEMM ceiling",
                100.0 * fused * germ::bench::train_flops_per_token(1024) / (gflops * 1e9), "%");
  }
  return 0;
}
