#pragma once
#include <string>

namespace germ::util {

// What the processor can execute, from cpuid, with the operating system's consent (xgetbv):
// an AVX or AVX-512 instruction faults unless the OS saves the wider registers, so each
// `*_usable` flag needs both the cpuid bit and the matching XCR0 state bits.
struct CpuFeatures {
  enum class Vendor { kIntel, kAmd, kOther };
  Vendor vendor = Vendor::kOther;
  int family = 0;  // display family (base + extended), as lscpu prints it
  int model = 0;   // display model (extended model folded in)
  std::string model_name;  // brand string, e.g. "AMD EPYC 7B13 64-Core Processor"
  bool avx = false;        // AVX usable (cpuid + OS saves YMM state)
  bool avx2 = false;       // AVX2 and FMA3 usable
  bool avx512 = false;     // AVX-512 F, CD, BW, DQ and VL usable (OS saves ZMM/opmask state)
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool amx = false;        // AMX tiles with BF16 and INT8 usable (OS enabled tile state)

  // "AVX2 FMA AVX-512 VNNI BF16 AMX": the vector extensions present, for reports.
  std::string extension_list() const;
  std::string vendor_name() const;
};

// The processor this process runs on.
const CpuFeatures& host_cpu();

}  // namespace germ::util
