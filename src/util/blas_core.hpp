#pragma once
#include <string>
#include <vector>

#include "util/cpu_features.hpp"

// OpenBLAS picks its kernels ("core") from cpuid when it loads. Debian 12's OpenBLAS 0.3.21
// does not know recent Intel Xeons (e.g. family 6 model 207) and falls back to its generic
// SSE3 "Prescott" core, 3-10x slower than the AVX-512 kernels the CPU can run. germ compares the
// core OpenBLAS chose with what the CPU supports and, when a better core is safe, re-executes
// itself once with OPENBLAS_CORETYPE set (the variable is read only when the library loads),
// then checks a small GEMM against a reference before trusting it (docs/troubleshooting.md).
namespace germ::util {

// Rank of an OpenBLAS core name (openblas_get_corename, or an OPENBLAS_CORETYPE value, in any
// case): 1 SSE-era cores, 2 AVX, 3 AVX2 (Haswell, Zen), 4 AVX-512 (SkylakeX), 5 AVX-512 BF16
// (Cooperlake, SapphireRapids); 0 for a name it does not know.
int openblas_core_tier(const std::string& core);

// The fastest OPENBLAS_CORETYPE this CPU can execute ("COOPERLAKE", "SKYLAKEX", "HASWELL",
// "ZEN", "SANDYBRIDGE"), or "" where only SSE cores apply.
std::string best_openblas_core(const CpuFeatures& cpu);

// What to force, given the core OpenBLAS detected: the best core when it ranks above the
// detected one, else "" (keep the library's own choice: it knows this CPU).
std::string recommended_openblas_core(const CpuFeatures& cpu, const std::string& detected_core);

// Every OPENBLAS_CORETYPE this CPU can execute, slowest first (the CI step reruns the numeric
// tests under each; a core above the CPU's ISA would fault with SIGILL, so none is listed).
std::vector<std::string> runnable_openblas_cores(const CpuFeatures& cpu);

// openblas_get_corename() of the loaded library, "" when the BLAS is not OpenBLAS.
std::string loaded_openblas_core();

// Runs small single-precision GEMMs through the loaded BLAS (odd shapes, to reach the edge
// kernels too) and compares them with a double-precision reference. Returns the largest error
// relative to sum_k |a_ik b_kj|; an illegal instruction counts as a failure (returns 1e30).
// Returns 0 when no BLAS sgemm is loaded.
double blas_gemm_relative_error();
constexpr double kBlasGemmTolerance = 1e-4;  // float rounding over k <= 256 terms is ~1e-5

// Process start-up (cli/main.cpp): decides whether OPENBLAS_CORETYPE should be set. Sets it and
// returns true when the caller must re-execute; never overrides a user's OPENBLAS_CORETYPE.
bool choose_blas_core_before_exec();
// After the re-execution: when germ forced the core, verifies it with a GEMM. On failure it
// restores the detected core, warns once on stderr and returns true (re-execute again).
bool reject_failed_blas_core();

// "Cooperlake (set by germ; OpenBLAS detected Prescott)", "Zen (detected by OpenBLAS)", ...
std::string blas_core_report();

}  // namespace germ::util
