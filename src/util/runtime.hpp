#pragma once
#include <string>

namespace c10 {
struct Device;
}

namespace germ::util {

// Which BLAS the process actually loaded (Debian's LibTorch calls the generic libblas.so.3,
// whose target is chosen by update-alternatives).
struct BlasInfo {
  std::string library_path;  // resolved path of the loaded libblas / libopenblas
  std::string name;          // "OpenBLAS (pthread)", "reference BLAS", ...
  std::string config;        // openblas_get_config() when available
  bool is_reference = false;
};
BlasInfo detect_blas();

// Warns once on stderr when the slow reference BLAS is in use.
void warn_if_reference_blas();

// Splits `threads` between LibTorch intra-op, OpenBLAS and TBB so that the three pools do
// not oversubscribe the cores. 0 = all hardware threads; more than that is clamped to it;
// negative is an error. Returns the count used.
int configure_threads(int threads);
// "PASSIVE (set by germ)", "<value> (OMP_WAIT_POLICY set by the user)" or "not set ...".
std::string omp_wait_policy_report();
int hardware_threads();
// OpenBLAS's own thread count (no-op with another BLAS): 1 where the caller runs GEMMs on
// several threads itself.
void set_blas_threads(int threads);
// OpenBLAS's own thread count; 0 with another BLAS.
int blas_threads();

// Training start-up: glibc returns every freed block above its mmap threshold (32 MB at most)
// to the kernel and maps it again on the next step, so a training step's large activations
// were page-faulted and zeroed anew each step (measured: ~40% of pretraining time in the
// kernel, docs/pretrain.md). This keeps freed memory in the process for reuse instead: large
// blocks come from the heap and the heap is never trimmed. Peak RSS is unchanged in kind (the
// same blocks, reused); the process just does not give them back between steps.
void keep_freed_memory_for_reuse();

// One line for benchmark tables and logs: CPU model and vector extensions, the BLAS and the
// OpenBLAS core it runs, threads in use.
std::string machine_summary();

// Process start-up of a program that runs models (germ, germ_bench): sets OMP_WAIT_POLICY and,
// where OpenBLAS fell back to a generic core, OPENBLAS_CORETYPE (util/blas_core.hpp), then
// re-executes argv once; rejects a forced core that fails its GEMM check (one more re-execution).
void reexecute_with_tuned_environment(char** argv);

// "cpu" | "cuda" | "auto" -> a usable device; throws germ::Error naming --device otherwise.
c10::Device select_device(const std::string& requested);

}  // namespace germ::util
