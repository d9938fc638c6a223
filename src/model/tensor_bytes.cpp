#include "model/tensor_bytes.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>

#include "util/error.hpp"

// safetensors stores little-endian bytes and this file copies memory verbatim.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "germ assumes a little-endian host");

namespace germ::model {

namespace {

struct TorchDTypePair {
  DType dtype;
  at::ScalarType torch;
};

constexpr TorchDTypePair kTorchDTypes[] = {
    {DType::F64, at::kDouble}, {DType::F32, at::kFloat}, {DType::F16, at::kHalf},
    {DType::BF16, at::kBFloat16}, {DType::I64, at::kLong}, {DType::I32, at::kInt},
    {DType::I16, at::kShort}, {DType::I8, at::kChar}, {DType::U8, at::kByte},
    {DType::BOOL, at::kBool},
};

}  // namespace

at::ScalarType torch_dtype(DType dtype) {
  for (const auto& pair : kTorchDTypes)
    if (pair.dtype == dtype) return pair.torch;
  throw Error("tensor", std::string("no LibTorch type for dtype ") + dtype_name(dtype));
}

std::optional<DType> dtype_from_torch(at::ScalarType type) {
  for (const auto& pair : kTorchDTypes)
    if (pair.torch == type) return pair.dtype;
  return std::nullopt;
}

TensorBytes tensor_to_bytes(const at::Tensor& tensor, const std::string& subject) {
  if (!tensor.defined()) throw Error(subject, "undefined tensor cannot be stored");
  if (tensor.layout() != at::kStrided) throw Error(subject, "only dense tensors can be stored");
  auto dtype = dtype_from_torch(tensor.scalar_type());
  if (!dtype)
    throw Error(subject, std::string("dtype ") + c10::toString(tensor.scalar_type()) +
                             " cannot be stored in a model file");
  at::Tensor dense = tensor.to(at::kCPU).contiguous();
  TensorBytes result{*dtype, dense.sizes().vec(), {}};
  size_t byte_count = static_cast<size_t>(dense.numel()) * dense.element_size();
  result.bytes.resize(byte_count);
  if (byte_count) std::memcpy(result.bytes.data(), dense.data_ptr(), byte_count);
  return result;
}

at::Tensor tensor_from_bytes(const TensorView& view, const std::string& subject) {
  auto expected = checked_byte_count(view.shape, dtype_size(view.dtype));
  if (!expected || *expected != view.bytes.size())
    throw Error(subject, std::to_string(view.bytes.size()) + " bytes do not match the shape and dtype " +
                             dtype_name(view.dtype));
  // LibTorch treats bool bytes other than 0/1 as undefined; reject them rather than propagate.
  if (view.dtype == DType::BOOL &&
      std::any_of(view.bytes.begin(), view.bytes.end(), [](char c) { return c != 0 && c != 1; }))
    throw Error(subject, "BOOL tensor holds a byte that is neither 0 nor 1");
  at::Tensor tensor = at::empty(view.shape, at::TensorOptions().dtype(torch_dtype(view.dtype)));
  if (!view.bytes.empty()) std::memcpy(tensor.data_ptr(), view.bytes.data(), view.bytes.size());
  return tensor;
}

at::Tensor read_tensor(const SafetensorsReader& reader, const std::string& name) {
  const TensorInfo* info = reader.find(name);
  if (!info) throw ModelCorrupted(reader.path(), "missing tensor '" + name + "'");
  try {
    return tensor_from_bytes(reader.view(*info), "tensor '" + name + "'");
  } catch (const ModelCorrupted&) {
    throw;
  } catch (const Error& error) {
    throw ModelCorrupted(reader.path(), error.what());
  }
}

}  // namespace germ::model
