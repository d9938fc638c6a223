#pragma once
// 4-bit NormalFloat (NF4) block-wise quantisation with double quantisation of the block
// scales, as in QLoRA (Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs").
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <vector>

namespace germ::quant {

inline constexpr int64_t kNf4Block = 64;         // weights per absmax scale (the paper's choice)
inline constexpr int64_t kNf4ScaleBlock = 256;   // scales per second-level scale

// The 16 NF4 levels as published (bitsandbytes' table, the paper's appendix E), ascending.
const std::array<float, 16>& nf4_levels();

// The offset of the quantile construction: the mean of 1 - 1/(2*15) and 1 - 1/(2*16), i.e. the
// midpoint between the outermost quantile probabilities of a 15- and a 16-level grid.
inline constexpr double kNf4QuantileOffset = 0.9677083;

// The levels rebuilt from the paper's construction, for checking the table: the 8 positive
// levels are the N(0,1) quantiles at the first 8 of linspace(offset, 0.5, 9); the 7 negative
// levels are minus the quantiles at the first 7 of linspace(offset, 0.5, 8); plus an exact
// zero; everything divided by the largest (so the range is exactly [-1, 1]). The asymmetry
// (8 positive, 7 negative) is what gives a zero and still uses all 16 codes.
std::array<double, 16> nf4_levels_from_quantiles(double offset = kNf4QuantileOffset);

// A quantised tensor. Element i of the flattened, zero-padded tensor is
//   level[code_i] * scale[i / block]
// Codes are 4 bits, two per byte, the first of each pair in the high nibble.
// With double quantisation the per-block scales are stored as
//   scale[b] = scale_codes[b] * scale_scales[b / 256] / 127 + scale_mean
// (int8 scale_codes, fp32 scale_scales): the mean is subtracted first, then each block of
// 256 scales gets a symmetric absmax int8 code. The paper uses 8-bit floats there; symmetric
// int8 gives the same storage (8 bits per scale) and a simpler, fixed error bound.
// Without double quantisation scale_scales holds the fp32 scales themselves (one per block),
// scale_codes is undefined and scale_mean is 0.
struct Nf4Tensor {
  at::Tensor codes;         // uint8 [ceil(numel / block) * block / 2]
  at::Tensor scale_codes;   // int8 [blocks] (double quantisation only)
  at::Tensor scale_scales;  // fp32 [ceil(blocks / 256)], or fp32 [blocks] without double quant
  float scale_mean = 0.0f;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t block = kNf4Block;
  bool double_quant = true;

  // The same tensor with its storage on `device`.
  Nf4Tensor to(c10::Device device) const;
  c10::Device device() const { return codes.device(); }
};

// Quantises any floating tensor (on its device); `block` must be even and positive.
// Codes are chosen against the scale that dequantisation will use, so every element gets the
// nearest value representable in its block.
Nf4Tensor nf4_quantize(const at::Tensor& w, bool double_quant = true, int64_t block = kNf4Block);

// fp32 tensor of the original shape, on the codes' device.
at::Tensor nf4_dequantize(const Nf4Tensor& q);

// The fp32 scale of every block, after undoing double quantisation.
at::Tensor nf4_block_scales(const Nf4Tensor& q);

// Bytes of storage (codes, scale codes, scales, mean); shape metadata is not counted.
int64_t nf4_bytes(const Nf4Tensor& q);
// 8 * nf4_bytes / numel: ~4.127 with double quantisation and ~4.5 without (block 64).
double nf4_bits_per_parameter(const Nf4Tensor& q);

}  // namespace germ::quant
