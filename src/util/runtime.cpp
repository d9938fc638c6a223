#include "util/runtime.hpp"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <oneapi/tbb/global_control.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/core/Device.h>
#include <torch/cuda.h>

#include "util/blas_core.hpp"
#include "util/cpu_features.hpp"
#include "util/error.hpp"

namespace germ::util {

namespace {
// Marks OMP_WAIT_POLICY as germ's own choice (for --version --verbose), not the user's.
constexpr const char* kWaitPolicySetByGerm = "GERM_OMP_WAIT_POLICY_SET";

std::string real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  return path;
}

int collect_blas(struct dl_phdr_info* info, size_t, void* data) {
  auto* paths = static_cast<std::vector<std::string>*>(data);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("blas") != std::string::npos) paths->push_back(name);
  return 0;
}

std::unique_ptr<tbb::global_control> g_tbb_limit;

}  // namespace

BlasInfo detect_blas() {
  std::vector<std::string> paths;
  dl_iterate_phdr(collect_blas, &paths);
  BlasInfo info;
  for (const auto& path : paths) {
    std::string resolved = real_path(path);
    if (info.library_path.empty() || resolved.find("openblas") != std::string::npos)
      info.library_path = resolved;
  }
  using ConfigFn = char* (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (config) info.config = config();
  const std::string& p = info.library_path;
  if (p.find("openblas-pthread") != std::string::npos)
    info.name = "OpenBLAS (pthread)";
  else if (p.find("openblas-openmp") != std::string::npos)
    info.name = "OpenBLAS (OpenMP)";
  else if (p.find("openblas") != std::string::npos || config)
    info.name = "OpenBLAS";
  else if (p.find("blis") != std::string::npos)
    info.name = "BLIS";
  else if (p.find("mkl") != std::string::npos)
    info.name = "MKL";
  else if (p.find("atlas") != std::string::npos)
    info.name = "ATLAS";
  else if (!p.empty()) {
    info.name = "reference BLAS";
    info.is_reference = true;
  } else {
    info.name = "none loaded";
  }
  return info;
}

void warn_if_reference_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    BlasInfo blas = detect_blas();
    if (blas.is_reference)
      std::fprintf(stderr,
                   "germ: warning: the reference BLAS (%s) is in use; matrix products run ~30x "
                   "slower. Install OpenBLAS: apt-get install libopenblas0-pthread\n",
                   blas.library_path.c_str());
  });
}

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_blas_threads(int threads) {
  using SetThreadsFn = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas(threads);
}

int blas_threads() {
  using GetThreadsFn = int (*)();
  auto get_blas = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get_blas ? get_blas() : 0;
}

int configure_threads(int threads) {
  if (threads < 0) throw Error("-@/--threads", "must be 0 (all cores) or a positive number");
  // 0 means all cores; more threads than cores only oversubscribe them (and -@ 10000 would
  // start ten thousand OpenMP threads), so larger counts are clamped to the core count.
  if (threads == 0 || threads > hardware_threads()) threads = hardware_threads();
  // With LibTorch's OpenMP backend this is omp_set_num_threads on this thread, which is also
  // what Debian's oneDNN (OpenMP runtime: the integer GEMMs, quant/int8_gemm.cpp) sizes its
  // parallel regions by. Other threads get the same count from LibTorch's lazy per-thread
  // init (at::internal::lazy_init_num_threads), which int8_matmul triggers before oneDNN runs.
  at::set_num_threads(threads);
  // LibTorch hands each GEMM to OpenBLAS from one intra-op thread, so OpenBLAS may use the
  // same number of threads without nesting; TBB runs the I/O and formatting stages.
  set_blas_threads(threads);
  g_tbb_limit = std::make_unique<tbb::global_control>(
      tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  return threads;
}

std::string machine_summary() {
  const CpuFeatures& cpu = host_cpu();
  BlasInfo blas = detect_blas();
  std::ostringstream out;
  out << "CPU " << (cpu.model_name.empty() ? "unknown" : cpu.model_name) << " (" << cpu.vendor_name()
      << " family " << cpu.family << " model " << cpu.model << "; " << cpu.extension_list() << ") | BLAS "
      << blas.name;
  const std::string core = blas_core_report();
  if (!core.empty()) out << ", core " << core;
  out << " | threads: LibTorch " << at::get_num_threads();
  if (const int blas = blas_threads()) out << ", OpenBLAS " << blas;
  out << ", " << hardware_threads() << " cores";
  return out.str();
}

std::string omp_wait_policy_report() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (policy == nullptr) return "not set (libgomp's default: active waiting)";
  const char* by_germ = std::getenv(kWaitPolicySetByGerm);
  return std::string(policy) + (by_germ != nullptr && std::string(by_germ) == policy ? " (set by germ)"
                                                                                      : " (OMP_WAIT_POLICY set by the user)");
}

void reexecute_with_tuned_environment(char** argv) {
  // LibTorch's OpenMP pool and OpenBLAS's pthreads take turns on the same cores; with
  // libgomp's default active waiting, each spins while the other works (measured: 100% system
  // time, training 20-35% slower on 2 cores). libgomp reads the policy only when it loads,
  // and OpenBLAS its OPENBLAS_CORETYPE, so both are set before one re-execution; a user's
  // own setting of either is left alone.
  bool changed = false;
  if (!std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::setenv(kWaitPolicySetByGerm, "PASSIVE", 1);
    changed = true;
  }
  changed |= choose_blas_core_before_exec();
  if (changed) ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
  if (reject_failed_blas_core()) ::execv("/proc/self/exe", argv);
}

c10::Device select_device(const std::string& requested) {
  if (requested == "cpu") return c10::Device(c10::kCPU);
  if (requested == "cuda" || requested.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("--device " + requested,
                  "CUDA is not available (this LibTorch has no CUDA, or no GPU is visible)");
    return c10::Device(requested);
  }
  if (requested == "auto")
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  throw Error("--device", "unknown device '" + requested + "' (use cpu, cuda or auto)");
}

}  // namespace germ::util
