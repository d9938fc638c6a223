#include "version_report.hpp"

#include <oneapi/tbb/version.h>

#include <sstream>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "germ/version.hpp"
#include "io/htslib_settings.hpp"
#include "model/inference_kernels.hpp"
#include "quant/int8_gemm.hpp"
#include "util/blas_core.hpp"
#include "util/cpu_features.hpp"
#include "util/runtime.hpp"

namespace germ::cli {

std::string library_versions() {
  std::ostringstream out;
  const util::BlasInfo blas = util::detect_blas();
  const util::CpuFeatures& cpu = util::host_cpu();
  out << "germ " << kVersion << "\n";
  out << "machine: " << util::machine_summary() << "\n";
  out << "CPU " << cpu.model_name << " (" << cpu.vendor_name() << " family " << cpu.family << " model "
      << cpu.model << "): " << cpu.extension_list() << "; germ's inference kernels: "
      << model::inference_kernel_isa() << "\n";
  out << "LibTorch " << TORCH_VERSION_MAJOR << "." << TORCH_VERSION_MINOR << "." << TORCH_VERSION_PATCH
      << " (intra-op threads " << at::get_num_threads() << " of " << util::hardware_threads() << " cores, CUDA "
      << (torch::cuda::is_available() ? "available" : "not available") << ")\n";
  out << "OpenMP wait policy " << util::omp_wait_policy_report() << "\n";
  out << "htslib " << io::htslib_version() << "\n";
  out << "SentencePiece " << kSentencePieceVersion << "\n";
  out << quant::int8_backend_description() << ", integer GEMM\n";
  out << "oneTBB " << TBB_VERSION_MAJOR << "." << TBB_VERSION_MINOR << "\n";
  out << "BLAS " << blas.name << " " << blas.library_path;
  if (!blas.config.empty()) out << " [" << blas.config << "]";
  out << "\n";
  const std::string core = util::blas_core_report();
  if (!core.empty()) {
    out << "BLAS core " << core << "\n";
    out << "BLAS cores this CPU can run:";
    for (const std::string& name : util::runnable_openblas_cores(cpu)) out << " " << name;
    out << "\n";
  }
  return out.str();
}

}  // namespace germ::cli
