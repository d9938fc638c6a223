#pragma once
// Storage of sub-byte integer codes in model files. Codes are signed, symmetric
// ([-qmax, qmax] with qmax = 2^(bits-1) - 1, quant_math.hpp).
//   8 bits: stored as int8 as they are.
//   4 bits: two codes per byte, the first of each pair in the low nibble, two's complement.
//   6 bits: four codes per three bytes, little-endian bit order (code i occupies bits
//           6i .. 6i+5 of the 24-bit group), two's complement.
//   other widths below 8 are stored in the next supported container (2, 3 -> 4; 5 -> 6; 7 -> 8).
// The flattened tensor is padded with zero codes to a whole group, of which only the bytes
// holding codes are stored: ceil(numel * storage_bits / 8) bytes in all.
#include <ATen/ATen.h>

#include <cstdint>

namespace germ::quant {

// Bits per stored code for a weight bit width: 4, 6 or 8.
int storage_bits(int bits);
// uint8 [ceil(numel * storage_bits / 8)] for 4 and 6 bits; int8 [numel] (flattened) for 8.
at::Tensor pack_codes(const at::Tensor& codes, int bits);
// int8 tensor of `numel` codes (flattened); throws germ::Error when `packed` has the wrong
// dtype or size for (numel, bits).
at::Tensor unpack_codes(const at::Tensor& packed, int bits, int64_t numel);
// Byte size pack_codes produces.
int64_t packed_bytes(int64_t numel, int bits);

}  // namespace germ::quant
