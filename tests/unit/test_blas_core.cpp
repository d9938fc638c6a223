// The OpenBLAS core decision (util/blas_core.hpp): which core germ forces, for which CPU, and the
// GEMM check that guards a forced core.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "util/blas_core.hpp"
#include "util/cpu_features.hpp"
#include "util/runtime.hpp"

namespace germ::util {
namespace {

CpuFeatures cpu(CpuFeatures::Vendor vendor, int level) {
  // level 0 SSE, 1 AVX, 2 AVX2, 3 AVX-512, 4 AVX-512 + BF16 (+ AMX)
  CpuFeatures c;
  c.vendor = vendor;
  c.avx = level >= 1;
  c.avx2 = level >= 2;
  c.avx512 = level >= 3;
  c.avx512_vnni = level >= 3;
  c.avx512_bf16 = level >= 4;
  c.amx = level >= 4;
  return c;
}
constexpr auto kIntel = CpuFeatures::Vendor::kIntel;
constexpr auto kAmd = CpuFeatures::Vendor::kAmd;

TEST(BlasCore, TiersOrderTheCores) {
  EXPECT_EQ(openblas_core_tier("Prescott"), 1);
  EXPECT_EQ(openblas_core_tier("PRESCOTT"), 1);
  EXPECT_EQ(openblas_core_tier("Sandybridge"), 2);
  EXPECT_EQ(openblas_core_tier("Haswell"), 3);
  EXPECT_EQ(openblas_core_tier("Zen"), 3);
  EXPECT_EQ(openblas_core_tier("SkylakeX"), 4);
  EXPECT_EQ(openblas_core_tier("Cooperlake"), 5);
  EXPECT_EQ(openblas_core_tier("Unknown"), 0);
  EXPECT_EQ(openblas_core_tier(""), 0);
}

TEST(BlasCore, UnknownIntelXeonGetsTheFastestCoreItCanRun) {
  // The machine: family 6 model 207, AVX-512 with BF16 and AMX, seen as Prescott.
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 4), "Prescott"), "COOPERLAKE");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 3), "Prescott"), "SKYLAKEX");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 2), "Prescott"), "HASWELL");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 1), "Core2"), "SANDYBRIDGE");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 4), "Haswell"), "COOPERLAKE");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 4), "Unknown"), "COOPERLAKE");
}

TEST(BlasCore, KnownCpusKeepTheLibrarysChoice) {
  EXPECT_EQ(recommended_openblas_core(cpu(kAmd, 2), "Zen"), "");  // AMD EPYC Zen 3
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 2), "Haswell"), "");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 3), "SkylakeX"), "");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 4), "Cooperlake"), "");
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 4), "SapphireRapids"), "");
  // A CPU without AVX has nothing better than the SSE cores.
  EXPECT_EQ(recommended_openblas_core(cpu(kIntel, 0), "Prescott"), "");
  EXPECT_EQ(recommended_openblas_core(cpu(kAmd, 0), "Opteron_SSE3"), "");
}

TEST(BlasCore, AmdGetsZenKernelsAndAvx512WhereItHasThem) {
  EXPECT_EQ(recommended_openblas_core(cpu(kAmd, 2), "Prescott"), "ZEN");
  // Zen 4 has AVX-512 with BF16, which OpenBLAS 0.3.21 runs as Zen (AVX2) kernels.
  EXPECT_EQ(recommended_openblas_core(cpu(kAmd, 4), "Zen"), "COOPERLAKE");
}

TEST(BlasCore, AvxWithoutOsSupportIsNotUsable) {
  // cpuid says AVX-512, but the OS does not save ZMM state: host_cpu() then reports avx512 false,
  // and only AVX2 cores are candidates.
  CpuFeatures c = cpu(kIntel, 2);
  EXPECT_EQ(best_openblas_core(c), "HASWELL");
  EXPECT_EQ(runnable_openblas_cores(c), (std::vector<std::string>{"PRESCOTT", "SANDYBRIDGE", "HASWELL"}));
}

TEST(BlasCore, RunnableCoresFollowTheIsa) {
  EXPECT_EQ(runnable_openblas_cores(cpu(kIntel, 0)), std::vector<std::string>{"PRESCOTT"});
  EXPECT_EQ(runnable_openblas_cores(cpu(kAmd, 2)),
            (std::vector<std::string>{"PRESCOTT", "SANDYBRIDGE", "HASWELL", "ZEN"}));
  EXPECT_EQ(runnable_openblas_cores(cpu(kIntel, 4)),
            (std::vector<std::string>{"PRESCOTT", "SANDYBRIDGE", "HASWELL", "SKYLAKEX", "COOPERLAKE"}));
  // The best core is always one of the runnable ones.
  for (int level = 1; level <= 4; ++level)
    for (auto vendor : {kIntel, kAmd}) {
      auto cores = runnable_openblas_cores(cpu(vendor, level));
      EXPECT_NE(std::find(cores.begin(), cores.end(), best_openblas_core(cpu(vendor, level))), cores.end());
    }
}

TEST(BlasCore, HostCpuIsConsistent) {
  const CpuFeatures& host = host_cpu();
  EXPECT_GT(host.family, 0);
  // Each level implies the one below it.
  if (host.avx2) EXPECT_TRUE(host.avx);
  if (host.avx512) EXPECT_TRUE(host.avx2);
  if (host.avx512_bf16) EXPECT_TRUE(host.avx512);
  EXPECT_FALSE(host.extension_list().empty());
}

TEST(BlasCore, LoadedBlasPassesTheGemmCheck) {
  // Whatever core this process runs (CI reruns the suite under every runnable core), its GEMM
  // must agree with the double reference: float rounding over <= 256 terms is ~1e-6 of the
  // magnitude, a wrong kernel is off by O(1).
  double error = blas_gemm_relative_error();
  EXPECT_LT(error, kBlasGemmTolerance);
  EXPECT_GE(error, 0.0);
}

TEST(BlasCore, ReportNamesTheCore) {
  const std::string core = loaded_openblas_core();
  if (core.empty()) GTEST_SKIP() << "the loaded BLAS is not OpenBLAS";
  EXPECT_EQ(blas_core_report().rfind(core, 0), 0u) << blas_core_report();
  EXPECT_NE(machine_summary().find(core), std::string::npos) << machine_summary();
  // A core forced by the environment is what the library runs, and the report says who set it.
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"))
    EXPECT_NE(blas_core_report().find(forced), std::string::npos) << blas_core_report();
}

}  // namespace
}  // namespace germ::util
