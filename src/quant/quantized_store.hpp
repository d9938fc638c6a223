#pragma once
// Quantized model files (docs/quantize.md): an ordinary germ model file in which every
// quantized linear's fp32 weight is replaced by
//   quant.<layer>.codes       int8 [out, in] (8 bits) or uint8 packed int4 / int6
//   quant.<layer>.scales      fp32 [out] or [1]
//   quant.<layer>.inv_smooth  fp32 [in]   (optional: the per-channel transform)
//   quant.<layer>.shift       fp32 [in]   (optional)
//   quant.<layer>.offset      fp32 [out]  (optional: W shift)
// and metadata "germ.quant" records the method, bit widths and each layer's activation
// quantizer. Biases, embeddings, heads and LayerNorms stay fp32 under their usual names.
#include <string>

#include "model/model_store.hpp"
#include "quant/ptq.hpp"

namespace germ::quant {

inline constexpr const char* kQuantMetadata = "germ.quant";
inline constexpr const char* kQuantTensorPrefix = "quant.";

// Adds the quantized layers to `bundle` (extra tensors, metadata, omitted fp32 weights).
void store_quantization(model::ModelBundle& bundle, const QuantizedModel& quantized);

// True when a loaded bundle carries a quantized model.
bool is_quantized(const model::ModelBundle& bundle);

// Rebuilds the layers from a bundle loaded with the "quant." extra prefix, validating every
// tensor's dtype and shape (germ::ModelCorrupted naming `path`), fills each quantized
// linear's fp32 weight with its dequantized equivalent, attaches the hooks and removes the
// quant tensors from extra_tensors. No-op for an fp32 bundle.
void attach_stored_quantization(model::ModelBundle& bundle, const std::string& path, Execution execution);

// The quantization a bundle carries, in words ("smoothquant w8a8, 16 layers"), or "".
std::string describe_quantization(const model::ModelBundle& bundle);

}  // namespace germ::quant
