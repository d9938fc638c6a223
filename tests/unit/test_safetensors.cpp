#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "model/safetensors.hpp"
#include "model/tensor_bytes.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace germ;
using namespace germ::model;

namespace {

constexpr DType kAllDTypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                                DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};

class SafetensorsTest : public test_support::TempDirTest {
 protected:
  // Writes `image` to a file and returns the corruption message its reader raises.
  std::string corruption_of(const std::string& image) {
    std::string file = path("crafted.safetensors");
    util::write_file_atomically(file, image);
    try {
      SafetensorsReader reader(file);
    } catch (const ModelCorrupted& error) {
      std::string message = error.what();
      EXPECT_EQ(message.rfind(file + ": model is corrupted: ", 0), 0u) << message;
      return message;
    }
    ADD_FAILURE() << "the crafted file was accepted";
    return {};
  }
};

std::string le_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

std::string image_of(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

// One F32 tensor "a" of shape [2] needs 8 data bytes.
const std::string kTensorA = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

std::string random_bytes(size_t count, unsigned seed, bool booleans = false) {
  std::mt19937 generator(seed);
  std::string bytes(count, '\0');
  for (char& byte : bytes) byte = static_cast<char>(booleans ? generator() % 2 : generator());
  return bytes;
}

}  // namespace

TEST_F(SafetensorsTest, RoundTripIsBitExactForEveryDType) {
  std::vector<std::string> storage;
  std::vector<TensorToWrite> tensors;
  storage.reserve(std::size(kAllDTypes) + 2);
  for (DType dtype : kAllDTypes) {
    std::vector<int64_t> shape{3, 5};
    storage.push_back(random_bytes(15 * dtype_size(dtype), storage.size(), dtype == DType::BOOL));
    tensors.push_back({std::string("t_") + dtype_name(dtype), dtype, shape, storage.back()});
  }
  storage.push_back("");
  tensors.push_back({"empty", DType::F32, {0}, storage.back()});
  storage.push_back(random_bytes(2, 99));
  tensors.push_back({"scalar", DType::BF16, {}, storage.back()});
  const std::map<std::string, std::string> metadata{
      {"germ.kind", "encoder-mlm"}, {"unicode", "Gen\xc3\xb6m \xe2\x9c\x93"}, {"empty", ""}};

  std::string file = path("model.safetensors");
  write_safetensors(file, metadata, tensors);
  SafetensorsReader reader(file);
  EXPECT_EQ(reader.metadata(), metadata);
  ASSERT_EQ(reader.tensors().size(), tensors.size());
  for (const TensorToWrite& written : tensors) {
    const TensorInfo* info = reader.find(written.name);
    ASSERT_NE(info, nullptr) << written.name;
    EXPECT_EQ(info->dtype, written.dtype);
    EXPECT_EQ(info->shape, written.shape);
    EXPECT_EQ(reader.bytes(*info), written.bytes) << written.name;
    // Sorted by element size, each tensor is aligned to it in the file.
    EXPECT_EQ((reader.data_offset() + info->begin) % dtype_size(info->dtype), 0u) << written.name;
  }
  EXPECT_EQ(reader.find("absent"), nullptr);
  EXPECT_EQ(reader.file_size(), fs::file_size(file));
  EXPECT_EQ(reader.data_offset() % 8, 0u);
  // The writer lays data out by decreasing element size, then by name.
  std::vector<std::string> order;
  for (const TensorInfo& info : reader.tensors()) order.push_back(info.name);
  // Ordered by offset: the zero-byte "empty" starts where "t_F32" starts.
  const std::vector<std::string> expected_order{"t_F64",  "t_I64",  "empty",  "t_F32",
                                                "t_I32",  "scalar", "t_BF16", "t_F16",
                                                "t_I16",  "t_BOOL", "t_I8",   "t_U8"};
  EXPECT_EQ(order, expected_order);
}

TEST_F(SafetensorsTest, HeaderMatchesTheReferenceLayoutExactly) {
  std::string data = random_bytes(8, 1) + random_bytes(2, 2);
  std::string file = path("exact.safetensors");
  write_safetensors(file, {{"k", "v"}},
                    {{"b", DType::U8, {2}, std::string_view(data).substr(8)},
                     {"a", DType::F32, {2}, std::string_view(data).substr(0, 8)}});
  std::string json =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  EXPECT_EQ(util::read_whole_file(file), image_of(json, data));
}

TEST_F(SafetensorsTest, EmptyMetadataAndNoTensorsIsAValidFile) {
  std::string file = path("nothing.safetensors");
  write_safetensors(file, {}, {});
  EXPECT_EQ(util::read_whole_file(file), image_of("{}      ", ""));
  SafetensorsReader reader(file);
  EXPECT_TRUE(reader.metadata().empty());
  EXPECT_TRUE(reader.tensors().empty());
}

TEST_F(SafetensorsTest, PythonStdlibReaderAgreesWithTheFormat) {
  if (std::system("python3 -c 'import json,struct' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3 is not available for the independent format check";
  std::string payload = random_bytes(24, 5);
  std::string file = path("py.safetensors");
  write_safetensors(file, {{"germ.kind", "classifier"}},
                    {{"w", DType::F32, {2, 3}, payload}, {"n", DType::I8, {0}, ""}});
  // An independent reader of the published format (what `safetensors.safe_open` checks).
  const char* script = R"PY(
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n, = struct.unpack('<Q', b[:8])
assert n % 8 == 0
h = json.loads(b[8:8 + n].decode('utf-8'))
meta = h.pop('__metadata__', {})
sizes = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}
pos = 0
for begin, end, name in sorted((v['data_offsets'][0], v['data_offsets'][1], k) for k, v in h.items()):
    numel = 1
    for d in h[name]['shape']:
        numel *= d
    assert begin == pos and end - begin == numel * sizes[h[name]['dtype']], name
    pos = end
assert pos == len(b) - 8 - n
print(meta['germ.kind'], ','.join(sorted(h)), b[8 + n + h['w']['data_offsets'][0]:][:24].hex())
)PY";
  std::string script_file = path("check.py");
  util::write_file_atomically(script_file, script);
  std::FILE* pipe = ::popen(("python3 " + script_file + " " + file + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char line[512] = {0};
  std::string output = std::fgets(line, sizeof line, pipe) ? line : "";
  EXPECT_EQ(::pclose(pipe), 0) << output;
  std::string hex;
  for (unsigned char c : payload) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", c);
    hex += pair;
  }
  EXPECT_EQ(output, "classifier n,w " + hex + "\n");
}

TEST_F(SafetensorsTest, RejectsTruncatedFilesAndBadHeaderLengths) {
  auto expect = [&](const std::string& image, const std::string& reason) {
    EXPECT_NE(corruption_of(image).find(reason), std::string::npos) << reason;
  };
  expect("", "fewer than the 8-byte header length");
  expect(std::string(5, '\0'), "fewer than the 8-byte header length");
  expect(le_u64(0) + "{}", "header length is 0");
  expect(le_u64(100) + "{}", "runs past the end of the file");
  expect(le_u64(uint64_t{1} << 63) + "{}", "exceeds the limit");
  expect(le_u64(~uint64_t{0}) + "{}", "exceeds the limit");
  expect(le_u64(kMaxHeaderBytes + 1) + "{}", "exceeds the limit");
}

TEST_F(SafetensorsTest, RejectsMalformedHeaders) {
  const std::string data8(8, '\x01');
  std::string rank65 = "1";
  for (int i = 1; i < 65; ++i) rank65 += ",1";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{\"a\xff\":1}", "not valid JSON"},
      {"{\"a\":", "not valid JSON"},
      {"{" + kTensorA + "}x", "not valid JSON"},
      {"{" + kTensorA + "} // comment", "not valid JSON"},
      {"[1,2]", "does not start with '{'"},
      {" {}", "does not start with '{'"},
      {"\xef\xbb\xbf{}", "does not start with '{'"},
      {R"({"a":[[[[[[[[[[1]]]]]]]]]]})", "nests deeper than 8 levels"},
      {R"({"a":5})", "tensor 'a' is not a JSON object"},
      {R"({"a":{"shape":[2],"data_offsets":[0,8]}})", "has no 'dtype'"},
      {R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", "has no 'shape'"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", "has no 'data_offsets'"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "unknown field 'x'"},
      {R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", "dtype is not a string"},
      {R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", "unsupported dtype 'F8_E4M3'"},
      {R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", "unsupported dtype 'f32'"},
      {R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", "shape is not an array"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "shape dimension is not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", "shape dimension is not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", "is too large"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", "size overflow"},
      {R"({"a":{"dtype":"U8","shape":[)" + rank65 + R"(],"data_offsets":[0,1]}})", "rank 65"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", "not a [begin, end] pair"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":{"0":8}}})", "not a [begin, end] pair"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}})", "data_offsets begin is not"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}})", "data_offsets end is not"},
      {R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", "begin 8 is after end 0"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", "beyond the data region (8 bytes)"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "span 8 bytes but shape [3] of F32 needs 12"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", "tensors 'a' and 'b' overlap"},
      {"{" + kTensorA + R"(,"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", "tensors 'a' and 'e' overlap"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "gap of 4 bytes in the data region before tensor 'a'"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "tensors cover 4 (trailing bytes)"},
      {R"({})", "tensors cover 0 (trailing bytes)"},
      {"{" + kTensorA + "," + kTensorA + "}", "duplicate key 'a'"},
      {R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "duplicate key 'dtype'"},
      {R"({"__metadata__":{"k":"1","k":"2"},)" + kTensorA + "}", "duplicate key 'k'"},
      {R"({"__metadata__":{"k":1},)" + kTensorA + "}", "__metadata__ value for 'k' is not a string"},
      {R"({"__metadata__":["k"],)" + kTensorA + "}", "__metadata__ is not a JSON object"},
  };
  for (const auto& [header, reason] : cases) {
    std::string message = corruption_of(image_of(header, data8));
    EXPECT_NE(message.find(reason), std::string::npos) << "header " << header << "\nmessage " << message;
  }
}

TEST_F(SafetensorsTest, AcceptsPaddingAndEmptyTensorsAtAnyBoundary) {
  std::string header = "{" + kTensorA + R"(,"z":{"dtype":"I64","shape":[0, 3],"data_offsets":[8,8]}})";
  header.append(13, ' ');
  util::write_file_atomically(path("ok.safetensors"), image_of(header, "12345678"));
  SafetensorsReader reader(path("ok.safetensors"));
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.bytes(*reader.find("a")), "12345678");
  EXPECT_EQ(reader.find("z")->shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(reader.bytes(*reader.find("z")).empty());
}

TEST_F(SafetensorsTest, JsonBombIsRejectedQuickly) {
  const std::pair<std::string, std::string> bombs[] = {{"[", "]"}, {R"({"a":)", "}"}};
  for (const auto& [open, close] : bombs) {
    std::string header = "{\"a\":";
    for (int i = 0; i < 100000; ++i) header += open;
    header += "1";
    for (int i = 0; i < 100000; ++i) header += close;
    header += "}";
    auto start = std::chrono::steady_clock::now();
    std::string message = corruption_of(image_of(header, ""));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(message.find("nests deeper"), std::string::npos) << message;
    EXPECT_LT(seconds, 1.0);
  }
}

TEST_F(SafetensorsTest, RandomDamageIsRejectedOrHarmless) {
  std::string payload = random_bytes(40, 11);
  std::string file = path("valid.safetensors");
  write_safetensors(file, {{"germ.kind", "classifier"}},
                    {{"w", DType::F32, {2, 4}, std::string_view(payload).substr(0, 32)},
                     {"b", DType::I16, {4}, std::string_view(payload).substr(32)}});
  const std::string valid = util::read_whole_file(file);
  std::mt19937 generator(2024);
  int rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string damaged = valid;
    if (round % 4 == 0) {
      damaged.resize(generator() % valid.size());
    } else {
      for (int flips = 1 + generator() % 3; flips > 0; --flips)
        damaged[generator() % (valid.size() - payload.size())] = static_cast<char>(generator());
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << damaged;
    try {
      SafetensorsReader reader(file);
      for (const TensorInfo& tensor : reader.tensors())
        EXPECT_LE(reader.data_offset() + tensor.end, reader.file_size());
    } catch (const ModelCorrupted&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 300);
}

TEST_F(SafetensorsTest, UnopenableFileIsAnErrorButNotCorruption) {
  auto open_error = [](const std::string& file) -> std::string {
    try {
      SafetensorsReader reader(file);
    } catch (const ModelCorrupted& error) {
      return std::string("corrupted: ") + error.what();
    } catch (const Error& error) {
      return error.what();
    }
    return "opened";
  };
  EXPECT_EQ(open_error(path("missing.safetensors")),
            path("missing.safetensors") + ": cannot open: No such file or directory");
  EXPECT_EQ(open_error(dir_.string()), dir_.string() + ": not a regular file");
}

TEST_F(SafetensorsTest, WriterRejectsInvalidTensors) {
  std::string four(4, '\0');
  auto rejects = [&](std::vector<TensorToWrite> tensors, const std::string& reason,
                     std::map<std::string, std::string> metadata = {}) {
    try {
      write_safetensors(path("bad.safetensors"), metadata, tensors);
      ADD_FAILURE() << "accepted: " << reason;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(reason), std::string::npos) << error.what();
    }
  };
  rejects({{"a", DType::F32, {2}, four}}, "has 4 bytes but shape [2] of F32 needs 8");
  rejects({{"a", DType::F32, {-1}, four}}, "invalid shape [-1]");
  rejects({{"a", DType::F32, {1}, four}, {"a", DType::F32, {1}, four}}, "duplicate tensor name 'a'");
  rejects({{"__metadata__", DType::U8, {4}, four}}, "'__metadata__' is reserved");
  rejects({{"", DType::U8, {4}, four}}, "empty name");
  rejects({{"a", DType::U8, std::vector<int64_t>(65, 1), std::string_view(four).substr(0, 1)}}, "rank 65");
  rejects({{"bad\xff", DType::U8, {4}, four}}, "valid UTF-8");
  rejects({{"a", DType::U8, {4}, four}}, "valid UTF-8", {{"k", "\xc3"}});
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(SafetensorsTest, FailedWriteKeepsThePreviousFile) {
  std::string file = path("model.safetensors");
  std::string small = random_bytes(16, 3);
  write_safetensors(file, {{"v", "1"}}, {{"w", DType::U8, {16}, small}});
  const std::string before = util::read_whole_file(file);

  // A file-size limit makes the write itself fail halfway, as a full disk would.
  std::string big = random_bytes(1 << 20, 4);
  auto write_error = [&](const std::string& target) -> std::string {
    try {
      write_safetensors(target, {{"v", "2"}}, {{"w", DType::U8, {1 << 20}, big}});
    } catch (const Error& error) {
      return error.what();
    }
    return "written";
  };
  std::string replacing, creating;
  {
    test_support::FileSizeLimit limit(64 * 1024);
    replacing = write_error(file);
    creating = write_error(path("new.safetensors"));
  }

  EXPECT_NE(replacing.find("File too large"), std::string::npos) << replacing;
  EXPECT_NE(creating.find("File too large"), std::string::npos) << creating;
  EXPECT_EQ(util::read_whole_file(file), before);
  EXPECT_FALSE(fs::exists(path("new.safetensors")));
  EXPECT_EQ(files_in_dir(), 1u);  // no temporary left behind
  EXPECT_EQ(SafetensorsReader(file).metadata().at("v"), "1");
}

TEST_F(SafetensorsTest, DTypeNamesRoundTrip) {
  for (DType dtype : kAllDTypes) EXPECT_EQ(parse_dtype(dtype_name(dtype)), dtype);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_FALSE(parse_dtype("U16").has_value());
  EXPECT_EQ(checked_byte_count({2, 3}, 4), 24u);
  EXPECT_EQ(checked_byte_count({}, 8), 8u);
  EXPECT_FALSE(checked_byte_count({int64_t{1} << 62, 4}, 1).has_value());
  EXPECT_FALSE(checked_byte_count({1, -1}, 1).has_value());
}

// ---- LibTorch conversion ----

namespace {
void expect_bit_exact(const at::Tensor& actual, const at::Tensor& expected) {
  ASSERT_EQ(actual.scalar_type(), expected.scalar_type());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_EQ(tensor_to_bytes(actual).bytes, tensor_to_bytes(expected).bytes);
}
}  // namespace

TEST_F(SafetensorsTest, TorchTensorsRoundTripThroughAFile) {
  torch::manual_seed(7);
  at::Tensor f32 = torch::randn({4, 3});
  at::Tensor bf16 = torch::randn({5}).to(at::kBFloat16);
  at::Tensor i64 = torch::tensor({std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                                  std::numeric_limits<int64_t>::max()});
  at::Tensor flags = torch::tensor({true, false, true});
  at::Tensor transposed = torch::arange(12, at::kFloat).reshape({3, 4}).t();
  ASSERT_FALSE(transposed.is_contiguous());

  TensorBytes f32_bytes = tensor_to_bytes(f32);
  EXPECT_EQ(f32_bytes.dtype, DType::F32);
  EXPECT_EQ(f32_bytes.shape, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(f32_bytes.bytes, std::string(static_cast<const char*>(f32.data_ptr()), 48));
  TensorBytes transposed_bytes = tensor_to_bytes(transposed);
  EXPECT_EQ(transposed_bytes.shape, (std::vector<int64_t>{4, 3}));
  float second;  // row-major: element [0][1] of the transpose is 4
  std::memcpy(&second, transposed_bytes.bytes.data() + 4, 4);
  EXPECT_EQ(second, 4.0f);

  std::vector<TensorBytes> owned{f32_bytes, tensor_to_bytes(bf16), tensor_to_bytes(i64),
                                 tensor_to_bytes(flags), transposed_bytes};
  std::vector<std::string> names{"f32", "bf16", "i64", "flags", "transposed"};
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < owned.size(); ++i) tensors.push_back(owned[i].to_write(names[i]));
  write_safetensors(path("torch.safetensors"), {}, tensors);

  SafetensorsReader reader(path("torch.safetensors"));
  expect_bit_exact(read_tensor(reader, "f32"), f32);
  expect_bit_exact(read_tensor(reader, "bf16"), bf16);
  expect_bit_exact(read_tensor(reader, "i64"), i64);
  expect_bit_exact(read_tensor(reader, "flags"), flags);
  expect_bit_exact(read_tensor(reader, "transposed"), transposed.contiguous());
  EXPECT_TRUE(torch::equal(read_tensor(reader, "transposed"), transposed));
  EXPECT_THROW(read_tensor(reader, "absent"), ModelCorrupted);
}

TEST_F(SafetensorsTest, EveryDTypeMapsToTorchAndBack) {
  for (DType dtype : kAllDTypes) {
    at::Tensor source = torch::randint(0, 2, {2, 3}).to(torch_dtype(dtype));
    TensorBytes bytes = tensor_to_bytes(source);
    EXPECT_EQ(bytes.dtype, dtype) << dtype_name(dtype);
    EXPECT_EQ(bytes.bytes.size(), 6 * dtype_size(dtype));
    expect_bit_exact(tensor_from_bytes(bytes.view()), source);
  }
  at::Tensor scalar = tensor_from_bytes(tensor_to_bytes(torch::tensor(2.5)).view());
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 2.5);
  EXPECT_THROW(tensor_to_bytes(torch::zeros({2}, at::kComplexFloat)), Error);
  EXPECT_THROW(tensor_to_bytes(at::Tensor()), Error);
  EXPECT_THROW(tensor_from_bytes(TensorView{DType::F32, {2}, "abc"}), Error);
}

TEST_F(SafetensorsTest, InvalidBoolBytesAreCorruption) {
  std::string bytes("\x00\x01\x02", 3);
  write_safetensors(path("bool.safetensors"), {}, {{"b", DType::BOOL, {3}, bytes}});
  SafetensorsReader reader(path("bool.safetensors"));
  try {
    read_tensor(reader, "b");
    FAIL() << "a BOOL byte of 2 was accepted";
  } catch (const ModelCorrupted& error) {
    EXPECT_NE(std::string(error.what()).find("neither 0 nor 1"), std::string::npos) << error.what();
  }
}
