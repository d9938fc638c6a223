#pragma once
// germ's model-file container: the safetensors format (https://github.com/huggingface/safetensors),
// read and written without LibTorch so that the container can be tested byte by byte.
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON (padded with spaces), data.
// See docs/model_file.md for the validation rules and the metadata keys germ uses.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace germ::model {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
// The safetensors spelling: "F32", "BF16", "BOOL", ...
const char* dtype_name(DType dtype);
std::optional<DType> parse_dtype(std::string_view name);

// Limits beyond which a file is considered corrupted rather than merely large.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's cap
inline constexpr size_t kMaxTensorRank = 64;
inline constexpr size_t kMaxJsonDepth = 8;  // a valid header needs 3

// A tensor as raw little-endian bytes in row-major (C) order.
struct TensorView {
  DType dtype;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

// Number of elements of `shape`, or nullopt when a dimension is negative or the product
// (times `element_size`, in bytes) does not fit in 63 bits.
std::optional<uint64_t> checked_byte_count(const std::vector<int64_t>& shape, size_t element_size);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  // Byte range [begin, end) relative to the start of the data region.
  uint64_t begin = 0;
  uint64_t end = 0;
};

// A validated, memory-mapped safetensors file. The constructor checks the whole header and the
// tensor layout, so every accessor is safe afterwards. Failures: germ::Error when the file
// cannot be opened, germ::ModelCorrupted for anything wrong with its contents.
// The mapping is shared with the file: truncating it while a reader is alive is not supported.
class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path);
  ~SafetensorsReader();
  SafetensorsReader(SafetensorsReader&& other) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&& other) noexcept;
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Ordered by data offset (the order of the bytes in the file).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  std::string_view bytes(const TensorInfo& tensor) const;
  TensorView view(const TensorInfo& tensor) const;
  uint64_t file_size() const { return file_size_; }
  uint64_t data_offset() const { return data_offset_; }

 private:
  std::string path_;
  const char* mapping_ = nullptr;
  uint64_t file_size_ = 0;
  uint64_t data_offset_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_by_name_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

// Writes atomically (temporary file + rename): on failure no file appears under `path` and a
// previous file there is left untouched. Tensors are laid out by decreasing element size, then
// by name, like the reference writer, so each tensor is aligned to its element size within the
// 8-byte-aligned data region; empty metadata is omitted from the header.
// Throws germ::Error(path, ...) on invalid input: byte count != numel * dtype_size, duplicate,
// empty or reserved ("__metadata__") names, negative dimensions, rank above kMaxTensorRank,
// strings that are not UTF-8.
void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<TensorToWrite>& tensors);

}  // namespace germ::model
