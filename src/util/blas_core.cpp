#include "util/blas_core.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstdint>

#include "util/runtime.hpp"

namespace germ::util {
namespace {

// Set by germ (never by users) so that the re-executed process knows the core was germ's
// choice and what OpenBLAS had detected; the rejected core is not tried again.
constexpr const char* kForcedVariable = "GERM_OPENBLAS_FORCED";
constexpr const char* kDetectedVariable = "GERM_OPENBLAS_DETECTED";
constexpr const char* kRejectedVariable = "GERM_OPENBLAS_REJECTED";
// For tests/cli/blas_core.sh only: pretend OpenBLAS detected this core, or that the GEMM check
// failed, so that the forcing and the fallback run end to end on any machine.
constexpr const char* kPretendDetectedVariable = "GERM_TEST_BLAS_DETECTED";
constexpr const char* kPretendGemmFailureVariable = "GERM_TEST_BLAS_GEMM_FAILS";

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                         const float*, const int*, const float*, const int*, const float*, float*,
                         const int*);

sigjmp_buf g_illegal_instruction;
void on_illegal_instruction(int) { siglongjmp(g_illegal_instruction, 1); }

// One column-major C = A B through the BLAS, against a double reference.
double gemm_error(SgemmFn sgemm, int m, int n, int k) {
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n), c(static_cast<size_t>(m) * n);
  uint32_t state = 2463534242u;  // xorshift: fixed values in [-1, 1)
  auto next = [&state] {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    return static_cast<float>(state % 2048) / 1024.0f - 1.0f;
  };
  for (float& x : a) x = next();
  for (float& x : b) x = next();
  const float one = 1.0f, zero = 0.0f;
  sgemm("N", "N", &m, &n, &k, &one, a.data(), &m, b.data(), &k, &zero, c.data(), &m);
  double worst = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double exact = 0, magnitude = 0;
      for (int p = 0; p < k; ++p) {
        double term = double(a[i + static_cast<size_t>(p) * m]) * b[p + static_cast<size_t>(j) * k];
        exact += term;
        magnitude += std::fabs(term);
      }
      double error = std::fabs(c[i + static_cast<size_t>(j) * m] - exact) / std::max(magnitude, 1e-30);
      if (!(error <= worst)) worst = std::isnan(error) ? 1e30 : error;
    }
  return worst;
}

}  // namespace

int openblas_core_tier(const std::string& core) {
  static const std::vector<std::pair<std::string, int>> tiers = {
      {"KATMAI", 1},      {"COPPERMINE", 1}, {"NORTHWOOD", 1},     {"PRESCOTT", 1},   {"BANIAS", 1},
      {"ATOM", 1},        {"CORE2", 1},      {"PENRYN", 1},        {"DUNNINGTON", 1}, {"NEHALEM", 1},
      {"OPTERON", 1},     {"OPTERON_SSE3", 1}, {"BARCELONA", 1},   {"BOBCAT", 1},     {"SANDYBRIDGE", 2},
      {"BULLDOZER", 2},   {"PILEDRIVER", 2}, {"STEAMROLLER", 2},   {"EXCAVATOR", 2},  {"HASWELL", 3},
      {"ZEN", 3},         {"SKYLAKEX", 4},   {"COOPERLAKE", 5},    {"SAPPHIRERAPIDS", 5}};
  const std::string name = upper(core);
  for (const auto& [known, tier] : tiers)
    if (name == known) return tier;
  return 0;
}

std::string best_openblas_core(const CpuFeatures& cpu) {
  if (cpu.avx512 && cpu.avx512_bf16) return "COOPERLAKE";
  if (cpu.avx512) return "SKYLAKEX";
  if (cpu.avx2) return cpu.vendor == CpuFeatures::Vendor::kAmd ? "ZEN" : "HASWELL";
  if (cpu.avx) return "SANDYBRIDGE";
  return "";
}

std::string recommended_openblas_core(const CpuFeatures& cpu, const std::string& detected_core) {
  const std::string best = best_openblas_core(cpu);
  if (best.empty() || openblas_core_tier(best) <= openblas_core_tier(detected_core)) return "";
  return best;
}

std::vector<std::string> runnable_openblas_cores(const CpuFeatures& cpu) {
  std::vector<std::string> cores = {"PRESCOTT"};
  if (cpu.avx) cores.push_back("SANDYBRIDGE");
  if (cpu.avx2) cores.push_back("HASWELL");
  if (cpu.avx2 && cpu.vendor == CpuFeatures::Vendor::kAmd) cores.push_back("ZEN");
  if (cpu.avx512) cores.push_back("SKYLAKEX");
  if (cpu.avx512 && cpu.avx512_bf16) cores.push_back("COOPERLAKE");
  return cores;
}

std::string loaded_openblas_core() {
  using CoreNameFn = char* (*)();
  auto core_name = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = core_name ? core_name() : nullptr;
  return name ? name : "";
}

double blas_gemm_relative_error() {
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  if (!sgemm) return 0;
  // One thread, so that a faulting kernel runs on this thread, where the handler can catch it.
  const int threads = blas_threads();
  set_blas_threads(1);
  struct sigaction handler = {}, previous = {};
  handler.sa_handler = on_illegal_instruction;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGILL, &handler, &previous);
  double error = 1e30;
  if (sigsetjmp(g_illegal_instruction, 1) == 0)
    error = std::max({gemm_error(sgemm, 67, 45, 129), gemm_error(sgemm, 128, 96, 256), gemm_error(sgemm, 1, 33, 17)});
  sigaction(SIGILL, &previous, nullptr);
  if (threads > 0) set_blas_threads(threads);
  return error;
}

bool choose_blas_core_before_exec() {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv(kRejectedVariable)) return false;
  if (loaded_openblas_core().empty()) return false;
  const std::string pretended = environment(kPretendDetectedVariable);
  const std::string detected = pretended.empty() ? loaded_openblas_core() : pretended;
  const std::string core = recommended_openblas_core(host_cpu(), detected);
  if (core.empty()) return false;
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::setenv(kForcedVariable, core.c_str(), 1);
  ::setenv(kDetectedVariable, detected.c_str(), 1);
  return true;
}

bool reject_failed_blas_core() {
  const std::string forced = environment(kForcedVariable);
  if (forced.empty() || environment("OPENBLAS_CORETYPE") != forced) return false;
  const double error = std::getenv(kPretendGemmFailureVariable) ? 1e30 : blas_gemm_relative_error();
  if (error <= kBlasGemmTolerance) return false;
  std::fprintf(stderr,
               "germ: warning: OpenBLAS core %s failed germ's GEMM check on this CPU (relative error %.3g); "
               "using the detected core %s instead (slower; docs/troubleshooting.md)\n",
               forced.c_str(), error, environment(kDetectedVariable).c_str());
  ::unsetenv("OPENBLAS_CORETYPE");
  ::unsetenv(kForcedVariable);
  ::setenv(kRejectedVariable, forced.c_str(), 1);
  return true;
}

std::string blas_core_report() {
  const std::string core = loaded_openblas_core();
  if (core.empty()) return "";
  const std::string forced = environment(kForcedVariable);
  const std::string user = environment("OPENBLAS_CORETYPE");
  if (!forced.empty() && user == forced)
    return core + " (set by germ; OpenBLAS detected " + environment(kDetectedVariable) + ")";
  if (!environment(kRejectedVariable).empty())
    return core + " (detected; germ's choice " + environment(kRejectedVariable) + " failed its GEMM check)";
  if (!user.empty()) return core + " (OPENBLAS_CORETYPE=" + user + " set by the user)";
  return core + " (detected by OpenBLAS)";
}

}  // namespace germ::util
