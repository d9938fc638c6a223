#include "util/cpu_features.hpp"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace germ::util {
namespace {

struct Registers {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(unsigned leaf, unsigned subleaf = 0) {
  Registers r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) r = Registers{};
  return r;
}

// XCR0: which register states the OS saves on a context switch (0 without OSXSAVE).
uint64_t enabled_register_states(bool osxsave) {
  if (!osxsave) return 0;
  uint32_t low = 0, high = 0;
  __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  return (static_cast<uint64_t>(high) << 32) | low;
}

bool bit(unsigned value, int index) { return (value >> index) & 1u; }

std::string brand_string() {
  if (cpuid(0x80000000).eax < 0x80000004) return "";
  char text[49] = {};
  for (unsigned i = 0; i < 3; ++i) {
    Registers r = cpuid(0x80000002 + i);
    std::memcpy(text + 16 * i, &r, 16);
  }
  std::string name(text);
  size_t first = name.find_first_not_of(' ');
  size_t last = name.find_last_not_of(' ');
  return first == std::string::npos ? "" : name.substr(first, last - first + 1);
}

CpuFeatures detect() {
  CpuFeatures cpu;
  Registers vendor = cpuid(0);
  char id[13] = {};
  std::memcpy(id, &vendor.ebx, 4);
  std::memcpy(id + 4, &vendor.edx, 4);
  std::memcpy(id + 8, &vendor.ecx, 4);
  if (std::strcmp(id, "GenuineIntel") == 0) cpu.vendor = CpuFeatures::Vendor::kIntel;
  if (std::strcmp(id, "AuthenticAMD") == 0) cpu.vendor = CpuFeatures::Vendor::kAmd;
  const unsigned max_leaf = vendor.eax;

  Registers leaf1 = cpuid(1);
  const int base_family = (leaf1.eax >> 8) & 0xf;
  const int base_model = (leaf1.eax >> 4) & 0xf;
  cpu.family = base_family == 0xf ? base_family + ((leaf1.eax >> 20) & 0xff) : base_family;
  cpu.model = (base_family == 0x6 || base_family == 0xf) ? (((leaf1.eax >> 16) & 0xf) << 4) + base_model
                                                         : base_model;
  cpu.model_name = brand_string();

  const uint64_t xcr0 = enabled_register_states(bit(leaf1.ecx, 27));
  const bool os_ymm = (xcr0 & 0x6) == 0x6;           // SSE + AVX state
  const bool os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;  // opmask + ZMM upper halves + ZMM16-31
  const bool os_tiles = (xcr0 & 0x60000) == 0x60000;  // AMX TILECFG + TILEDATA
  Registers leaf7 = max_leaf >= 7 ? cpuid(7, 0) : Registers{};
  Registers leaf7_1 = max_leaf >= 7 ? cpuid(7, 1) : Registers{};

  cpu.avx = bit(leaf1.ecx, 28) && os_ymm;
  cpu.avx2 = cpu.avx && bit(leaf7.ebx, 5) && bit(leaf1.ecx, 12);
  cpu.avx512 = os_zmm && bit(leaf7.ebx, 16) && bit(leaf7.ebx, 28) && bit(leaf7.ebx, 30) &&
               bit(leaf7.ebx, 17) && bit(leaf7.ebx, 31);
  cpu.avx512_vnni = cpu.avx512 && bit(leaf7.ecx, 11);
  cpu.avx512_bf16 = cpu.avx512 && bit(leaf7_1.eax, 5);
  cpu.amx = os_tiles && bit(leaf7.edx, 24) && bit(leaf7.edx, 22) && bit(leaf7.edx, 25);
  return cpu;
}

}  // namespace

std::string CpuFeatures::extension_list() const {
  std::string list;
  auto add = [&](bool present, const char* name) {
    if (!present) return;
    if (!list.empty()) list += ' ';
    list += name;
  };
  add(avx, "AVX");
  add(avx2, "AVX2 FMA");
  add(avx512, "AVX-512");
  add(avx512_vnni, "VNNI");
  add(avx512_bf16, "BF16");
  add(amx, "AMX");
  return list.empty() ? "SSE only" : list;
}

std::string CpuFeatures::vendor_name() const {
  switch (vendor) {
    case Vendor::kIntel: return "Intel";
    case Vendor::kAmd: return "AMD";
    default: return "other";
  }
}

const CpuFeatures& host_cpu() {
  static const CpuFeatures cpu = detect();
  return cpu;
}

}  // namespace germ::util
