#pragma once
// The bridge between LibTorch tensors and the torch-free container API of safetensors.hpp:
// tensors become contiguous little-endian bytes on the way out and fresh CPU tensors on the
// way in (copies, so unaligned or mapped file bytes are never aliased).
#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "model/safetensors.hpp"

namespace germ::model {

at::ScalarType torch_dtype(DType dtype);
// nullopt for dtypes safetensors-in-germ does not store (complex, quantized, unsigned 16+).
std::optional<DType> dtype_from_torch(at::ScalarType type);

// A tensor's bytes, owned.
struct TensorBytes {
  DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;

  TensorView view() const { return TensorView{dtype, shape, bytes}; }
  TensorToWrite to_write(std::string name) const { return TensorToWrite{std::move(name), dtype, shape, bytes}; }
};

// Copies any dense tensor (any device, any strides) into row-major little-endian bytes.
// Throws germ::Error(subject, ...) for undefined, sparse or unsupported-dtype tensors.
TensorBytes tensor_to_bytes(const at::Tensor& tensor, const std::string& subject = "tensor");

// A new contiguous CPU tensor holding a copy of `view`. Throws germ::Error when the byte count
// does not match the shape or a BOOL byte is neither 0 nor 1.
at::Tensor tensor_from_bytes(const TensorView& view, const std::string& subject = "tensor");

// The named tensor of a validated file as a CPU tensor; a missing tensor or invalid bytes
// throw germ::ModelCorrupted naming the file.
at::Tensor read_tensor(const SafetensorsReader& reader, const std::string& name);

}  // namespace germ::model
