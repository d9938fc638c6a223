#include "quant/int_packing.hpp"

#include <string>

#include "quant/quant_math.hpp"
#include "util/error.hpp"

namespace germ::quant {
namespace {

void check_bits(int bits) {
  if (bits < 2 || bits > 8) throw Error("packed codes", "bit width " + std::to_string(bits) + " is not between 2 and 8");
}

// Two's complement of the low `width` bits, sign-extended.
int8_t sign_extend(uint32_t value, int width) {
  const uint32_t sign = 1u << (width - 1);
  value &= (1u << width) - 1;
  return static_cast<int8_t>(static_cast<int32_t>(value ^ sign) - static_cast<int32_t>(sign));
}

// Codes outside [-qmax, qmax] would break the kernels' assumptions (no -128, narrow range),
// so both directions check them.
void check_range(const int8_t* codes, int64_t numel, int bits, const char* subject) {
  const int64_t qmax = symmetric_qmax(bits);
  for (int64_t i = 0; i < numel; ++i)
    if (codes[i] < -qmax || codes[i] > qmax)
      throw Error(subject, "code " + std::to_string(codes[i]) + " at " + std::to_string(i) + " is outside [-" +
                               std::to_string(qmax) + ", " + std::to_string(qmax) + "] for " + std::to_string(bits) +
                               " bits");
}

}  // namespace

int storage_bits(int bits) {
  check_bits(bits);
  return bits <= 4 ? 4 : bits <= 6 ? 6 : 8;
}

int64_t packed_bytes(int64_t numel, int bits) {
  if (numel < 0) throw Error("packed codes", "negative number of codes");
  const int64_t storage = storage_bits(bits);
  return (numel * storage + 7) / 8;
}

at::Tensor pack_codes(const at::Tensor& codes, int bits) {
  const int storage = storage_bits(bits);
  if (codes.scalar_type() != at::kChar) throw Error("pack_codes", "codes must be int8");
  at::Tensor flat = codes.reshape({-1}).contiguous();
  const int64_t numel = flat.numel();
  const int8_t* in = flat.data_ptr<int8_t>();
  check_range(in, numel, bits, "pack_codes");
  if (storage == 8) return flat.clone();

  at::Tensor packed = at::zeros({packed_bytes(numel, bits)}, at::kByte);
  uint8_t* out = packed.data_ptr<uint8_t>();
  if (storage == 4) {
    for (int64_t i = 0; i < numel; ++i) out[i / 2] |= static_cast<uint8_t>((in[i] & 0xF) << (4 * (i % 2)));
    return packed;
  }
  // 6 bits: each group of four codes is one little-endian 24-bit word; a final partial group
  // keeps only the bytes its codes reach.
  for (int64_t g = 0; g * 4 < numel; ++g) {
    uint32_t word = 0;
    for (int64_t j = 0; j < 4 && g * 4 + j < numel; ++j) word |= static_cast<uint32_t>(in[g * 4 + j] & 0x3F) << (6 * j);
    for (int64_t byte = 0; byte < 3 && g * 3 + byte < packed.numel(); ++byte)
      out[g * 3 + byte] = static_cast<uint8_t>(word >> (8 * byte));
  }
  return packed;
}

at::Tensor unpack_codes(const at::Tensor& packed, int bits, int64_t numel) {
  const int storage = storage_bits(bits);
  const int64_t expected = packed_bytes(numel, bits);
  const auto dtype = storage == 8 ? at::kChar : at::kByte;
  if (packed.scalar_type() != dtype)
    throw Error("packed codes", std::string("expected ") + (storage == 8 ? "int8" : "uint8") + " storage for " +
                                    std::to_string(bits) + "-bit codes, found " + c10::toString(packed.scalar_type()));
  if (packed.numel() != expected)
    throw Error("packed codes", std::to_string(numel) + " codes of " + std::to_string(bits) + " bits need " +
                                    std::to_string(expected) + " bytes, found " + std::to_string(packed.numel()));
  at::Tensor flat = packed.reshape({-1}).contiguous();
  at::Tensor codes;
  if (storage == 8) {
    codes = flat.clone();
  } else {
    codes = at::empty({numel}, at::kChar);
    const uint8_t* in = flat.data_ptr<uint8_t>();
    int8_t* out = codes.data_ptr<int8_t>();
    const int64_t bytes = flat.numel();
    if (storage == 4) {
      for (int64_t i = 0; i < numel; ++i) out[i] = sign_extend(in[i / 2] >> (4 * (i % 2)), 4);
    } else {
      for (int64_t g = 0; g * 4 < numel; ++g) {
        uint32_t word = 0;
        for (int64_t byte = 0; byte < 3 && g * 3 + byte < bytes; ++byte)
          word |= static_cast<uint32_t>(in[g * 3 + byte]) << (8 * byte);
        for (int64_t j = 0; j < 4 && g * 4 + j < numel; ++j) out[g * 4 + j] = sign_extend(word >> (6 * j), 6);
      }
    }
  }
  check_range(codes.data_ptr<int8_t>(), numel, bits, "packed codes");
  return codes;
}

}  // namespace germ::quant
