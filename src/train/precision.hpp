#pragma once
#include <c10/core/Device.h>

#include <string>

namespace germ::train {

// Arithmetic of the forward pass while training (`--precision`). Weights, gradients and the
// AdamW moments stay fp32 either way; bf16 runs the matrix products in bfloat16 through
// LibTorch's autocast (CUDA, or the CPU), the loss in fp32.
enum class Precision { kFp32, kBf16 };

Precision parse_precision(const std::string& name);  // "fp32" | "bf16"
const char* to_string(Precision precision);

// Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16); without either, LibTorch
// emulates bf16 GEMMs and CPU autocast is slower than fp32 (docs/pretrain.md).
bool cpu_has_native_bf16();

// Autocast to bf16 on `device`'s type for the life of the scope (nothing for fp32). The
// backward pass runs outside it, as in PyTorch.
class AutocastScope {
 public:
  AutocastScope(Precision precision, c10::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

}  // namespace germ::train
