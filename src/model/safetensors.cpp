#include "model/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "util/error.hpp"
#include "util/output_file.hpp"

namespace germ::model {

namespace {

using Json = nlohmann::json;

struct DTypeEntry {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeEntry& entry_for(DType dtype) {
  for (const auto& entry : kDTypes)
    if (entry.dtype == dtype) return entry;
  throw Error("safetensors", "unknown dtype value " + std::to_string(static_cast<int>(dtype)));
}

constexpr uint64_t kLengthPrefixBytes = 8;
constexpr uint64_t kMaxByteCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// Header contents are attacker-controlled: keep them printable and short inside messages.
std::string printable(std::string_view text, size_t limit = 80) {
  std::string out;
  for (unsigned char c : text.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (text.size() > limit) out += "...";
  return out;
}

std::string single_quoted(std::string_view name) { return "'" + printable(name) + "'"; }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Builds a JSON document from nlohmann's (iterative) SAX parser, refusing what the DOM parser
// would accept silently: nesting deeper than kMaxJsonDepth (a "JSON bomb" is cut off after a
// few bytes) and duplicate object keys (the DOM parser keeps only the last one).
class BoundedJsonBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  Json root;
  std::string error;

  bool null() { return add(nullptr); }
  bool boolean(bool value) { return add(value); }
  bool number_integer(number_integer_t value) { return add(value); }
  bool number_unsigned(number_unsigned_t value) { return add(value); }
  bool number_float(number_float_t value, const string_t&) { return add(value); }
  bool string(string_t& value) { return add(std::move(value)); }
  bool binary(binary_t&) { return fail("header contains binary data"); }
  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(string_t& name) {
    if (!keys_seen_.back().insert(name).second) return fail("duplicate key " + single_quoted(name));
    pending_key_ = std::move(name);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    std::string detail = ex.what();
    auto bracket = detail.find("] ");
    if (detail.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
      detail = detail.substr(bracket + 2);
    return fail("header is not valid JSON: " + printable(detail, 200));
  }

 private:
  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  Json* insert(Json value) {
    if (containers_.empty()) {
      root = std::move(value);
      return &root;
    }
    Json& parent = *containers_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    // Pointers to open containers stay valid: only the innermost one is ever modified.
    Json& slot = parent[pending_key_];
    slot = std::move(value);
    return &slot;
  }
  template <typename T>
  bool add(T&& value) {
    insert(Json(std::forward<T>(value)));
    return true;
  }
  bool open(Json container) {
    if (containers_.size() >= kMaxJsonDepth)
      return fail("header JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    containers_.push_back(insert(std::move(container)));
    keys_seen_.emplace_back();
    return true;
  }
  bool close() {
    containers_.pop_back();
    keys_seen_.pop_back();
    return true;
  }

  std::vector<Json*> containers_;
  std::vector<std::set<std::string>> keys_seen_;
  std::string pending_key_;
};

[[noreturn]] void corrupted(const std::string& path, const std::string& reason) {
  throw ModelCorrupted(path, reason);
}

Json parse_header_json(const std::string& path, std::string_view header) {
  // Like the reference implementation: no BOM, no leading whitespace, no bare values.
  if (header.front() != '{') corrupted(path, "header does not start with '{'");
  BoundedJsonBuilder builder;
  bool parsed = false;
  try {
    parsed = Json::sax_parse(header.begin(), header.end(), &builder);
  } catch (const nlohmann::json::exception& ex) {
    corrupted(path, "header is not valid JSON: " + printable(ex.what(), 200));
  }
  if (!parsed) corrupted(path, builder.error.empty() ? "header is not valid JSON" : builder.error);
  if (!builder.root.is_object()) corrupted(path, "header is not a JSON object");
  return std::move(builder.root);
}

uint64_t unsigned_field(const std::string& path, const std::string& what, const Json& value) {
  if (!value.is_number_unsigned())
    corrupted(path, what + " is not a non-negative integer: " + printable(value.dump()));
  return value.get<uint64_t>();
}

TensorInfo parse_tensor_entry(const std::string& path, const std::string& name, const Json& entry) {
  const std::string subject = "tensor " + single_quoted(name);
  if (!entry.is_object()) corrupted(path, subject + " is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(field)) corrupted(path, subject + " has no '" + field + "'");
  for (const auto& field : entry.items())
    if (field.key() != "dtype" && field.key() != "shape" && field.key() != "data_offsets")
      corrupted(path, subject + " has an unknown field " + single_quoted(field.key()));

  TensorInfo info;
  info.name = name;
  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) corrupted(path, subject + ": dtype is not a string");
  auto parsed_dtype = parse_dtype(dtype.get_ref<const std::string&>());
  if (!parsed_dtype)
    corrupted(path, subject + " has unsupported dtype " + single_quoted(dtype.get_ref<const std::string&>()));
  info.dtype = *parsed_dtype;

  const Json& shape = entry["shape"];
  if (!shape.is_array()) corrupted(path, subject + ": shape is not an array");
  if (shape.size() > kMaxTensorRank)
    corrupted(path, subject + " has rank " + std::to_string(shape.size()) + ", above the limit of " +
                        std::to_string(kMaxTensorRank));
  for (const Json& dim : shape) {
    uint64_t value = unsigned_field(path, subject + ": shape dimension", dim);
    if (value > kMaxByteCount) corrupted(path, subject + ": shape dimension " + std::to_string(value) + " is too large");
    info.shape.push_back(static_cast<int64_t>(value));
  }

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    corrupted(path, subject + ": data_offsets is not a [begin, end] pair");
  info.begin = unsigned_field(path, subject + ": data_offsets begin", offsets[0]);
  info.end = unsigned_field(path, subject + ": data_offsets end", offsets[1]);
  if (info.begin > info.end)
    corrupted(path, subject + ": data_offsets begin " + std::to_string(info.begin) +
                        " is after end " + std::to_string(info.end));

  auto expected = checked_byte_count(info.shape, dtype_size(info.dtype));
  if (!expected)
    corrupted(path, subject + ": shape " + shape_text(info.shape) + " is too large (size overflow)");
  if (info.end - info.begin != *expected)
    corrupted(path, subject + ": data_offsets span " + std::to_string(info.end - info.begin) +
                        " bytes but shape " + shape_text(info.shape) + " of " +
                        dtype_name(info.dtype) + " needs " + std::to_string(*expected));
  return info;
}

void parse_metadata(const std::string& path, const Json& entry,
                    std::map<std::string, std::string>& metadata) {
  if (!entry.is_object()) corrupted(path, "__metadata__ is not a JSON object");
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string()) corrupted(path, "__metadata__ value for " + single_quoted(key) + " is not a string");
    metadata.emplace(key, value.get<std::string>());
  }
}

// The reference implementation requires the tensors to tile the data region exactly: sorted by
// offset, each begins where the previous ended, and the last ends at the end of the file.
void check_layout(const std::string& path, std::vector<TensorInfo>& tensors, uint64_t data_size) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& tensor : tensors) {
    if (tensor.end > data_size)
      corrupted(path, "tensor " + single_quoted(tensor.name) + ": data_offsets end " +
                          std::to_string(tensor.end) + " is beyond the data region (" +
                          std::to_string(data_size) + " bytes)");
    if (tensor.begin < covered)
      corrupted(path, "tensors " + single_quoted(previous->name) + " and " + single_quoted(tensor.name) + " overlap");
    if (tensor.begin > covered)
      corrupted(path, "gap of " + std::to_string(tensor.begin - covered) +
                          " bytes in the data region before tensor " + single_quoted(tensor.name));
    covered = tensor.end;
    previous = &tensor;
  }
  if (covered != data_size)
    corrupted(path, "data region has " + std::to_string(data_size) + " bytes but the tensors cover " +
                        std::to_string(covered) + " (trailing bytes)");
}

void parse_header(const std::string& path, std::string_view header, uint64_t data_size,
                  std::map<std::string, std::string>& metadata, std::vector<TensorInfo>& tensors) {
  Json root = parse_header_json(path, header);
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__")
      parse_metadata(path, value, metadata);
    else
      tensors.push_back(parse_tensor_entry(path, key, value));
  }
  check_layout(path, tensors, data_size);
}

uint64_t read_le_u64(const char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string le_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

}  // namespace

size_t dtype_size(DType dtype) { return entry_for(dtype).size; }

const char* dtype_name(DType dtype) { return entry_for(dtype).name; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& entry : kDTypes)
    if (name == entry.name) return entry.dtype;
  return std::nullopt;
}

std::optional<uint64_t> checked_byte_count(const std::vector<int64_t>& shape, size_t element_size) {
  uint64_t count = element_size;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) return std::nullopt;
  }
  if (count > kMaxByteCount) return std::nullopt;
  return count;
}

// ---- reading ----

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO by mistake must not hang waiting for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    throw Error(path, std::string("cannot stat: ") + std::strerror(saved));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(path, "not a regular file");
  }
  file_size_ = static_cast<uint64_t>(info.st_size);
  if (file_size_ < kLengthPrefixBytes) {
    ::close(fd);
    corrupted(path, "file has " + std::to_string(file_size_) +
                        " bytes, fewer than the 8-byte header length");
  }
  void* mapped = ::mmap(nullptr, file_size_, PROT_READ, MAP_SHARED, fd, 0);
  int saved = errno;
  ::close(fd);
  if (mapped == MAP_FAILED) throw Error(path, std::string("cannot map: ") + std::strerror(saved));
  mapping_ = static_cast<const char*>(mapped);

  try {
    uint64_t header_size = read_le_u64(mapping_);
    if (header_size == 0) corrupted(path, "header length is 0");
    if (header_size > kMaxHeaderBytes)
      corrupted(path, "header length " + std::to_string(header_size) + " exceeds the limit of " +
                          std::to_string(kMaxHeaderBytes) + " bytes");
    if (header_size > file_size_ - kLengthPrefixBytes)
      corrupted(path, "header length " + std::to_string(header_size) +
                          " runs past the end of the file (" + std::to_string(file_size_) + " bytes)");
    data_offset_ = kLengthPrefixBytes + header_size;
    parse_header(path, std::string_view(mapping_ + kLengthPrefixBytes, header_size),
                 file_size_ - data_offset_, metadata_, tensors_);
    for (size_t i = 0; i < tensors_.size(); ++i) index_by_name_.emplace(tensors_[i].name, i);
  } catch (...) {
    ::munmap(const_cast<char*>(mapping_), file_size_);
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (mapping_) ::munmap(const_cast<char*>(mapping_), file_size_);
}

SafetensorsReader::SafetensorsReader(SafetensorsReader&& other) noexcept
    : path_(std::move(other.path_)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      file_size_(std::exchange(other.file_size_, 0)),
      data_offset_(std::exchange(other.data_offset_, 0)),
      metadata_(std::move(other.metadata_)),
      tensors_(std::move(other.tensors_)),
      index_by_name_(std::move(other.index_by_name_)) {}

SafetensorsReader& SafetensorsReader::operator=(SafetensorsReader&& other) noexcept {
  if (this != &other) {
    if (mapping_) ::munmap(const_cast<char*>(mapping_), file_size_);
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    file_size_ = std::exchange(other.file_size_, 0);
    data_offset_ = std::exchange(other.data_offset_, 0);
    metadata_ = std::move(other.metadata_);
    tensors_ = std::move(other.tensors_);
    index_by_name_ = std::move(other.index_by_name_);
  }
  return *this;
}

const TensorInfo* SafetensorsReader::find(const std::string& name) const {
  auto found = index_by_name_.find(name);
  return found == index_by_name_.end() ? nullptr : &tensors_[found->second];
}

std::string_view SafetensorsReader::bytes(const TensorInfo& tensor) const {
  // Guards against a TensorInfo that did not come from this reader.
  if (tensor.begin > tensor.end || tensor.end > file_size_ - data_offset_)
    throw Error(path_, "tensor " + single_quoted(tensor.name) + " is outside this file");
  return std::string_view(mapping_ + data_offset_ + tensor.begin, tensor.end - tensor.begin);
}

TensorView SafetensorsReader::view(const TensorInfo& tensor) const {
  return TensorView{tensor.dtype, tensor.shape, bytes(tensor)};
}

// ---- writing ----

namespace {

void check_tensor_to_write(const std::string& path, const TensorToWrite& tensor) {
  const std::string subject = "tensor " + single_quoted(tensor.name);
  if (tensor.name.empty()) throw Error(path, "cannot write a tensor with an empty name");
  if (tensor.name == "__metadata__") throw Error(path, "'__metadata__' is reserved, not a tensor name");
  if (tensor.shape.size() > kMaxTensorRank)
    throw Error(path, subject + " has rank " + std::to_string(tensor.shape.size()) +
                          ", above the limit of " + std::to_string(kMaxTensorRank));
  auto expected = checked_byte_count(tensor.shape, dtype_size(tensor.dtype));
  if (!expected) throw Error(path, subject + " has an invalid shape " + shape_text(tensor.shape));
  if (tensor.bytes.size() != *expected)
    throw Error(path, subject + " has " + std::to_string(tensor.bytes.size()) + " bytes but shape " +
                          shape_text(tensor.shape) + " of " + dtype_name(tensor.dtype) + " needs " +
                          std::to_string(*expected));
}

}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<TensorToWrite>& tensors) {
  std::set<std::string_view> names;
  for (const TensorToWrite& tensor : tensors) {
    check_tensor_to_write(path, tensor);
    if (!names.insert(tensor.name).second)
      throw Error(path, "duplicate tensor name " + single_quoted(tensor.name));
  }

  std::vector<const TensorToWrite*> order;
  for (const TensorToWrite& tensor : tensors) order.push_back(&tensor);
  std::sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    size_t a_size = dtype_size(a->dtype), b_size = dtype_size(b->dtype);
    return a_size != b_size ? a_size > b_size : a->name < b->name;
  });

  // ordered_json keeps __metadata__ first and the entries in data order, like the reference.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite* tensor : order) {
    uint64_t end = offset + tensor->bytes.size();
    header[tensor->name] = {{"dtype", dtype_name(tensor->dtype)},
                            {"shape", tensor->shape},
                            {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(path, "tensor names and metadata must be valid UTF-8");
  }
  // Space padding to a multiple of 8 keeps the data region 8-byte aligned in the file.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  util::OutputFile out(path);
  out.write(le_u64(header_text.size()));
  out.write(header_text);
  for (const TensorToWrite* tensor : order) out.write(tensor->bytes);
  out.commit();
}

}  // namespace germ::model
