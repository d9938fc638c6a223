#include "io/compressed_input.hpp"

#include <htslib/bgzf.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/error.hpp"

namespace germ::io {
namespace {
constexpr size_t kBufferBytes = 1 << 16;
constexpr int kCompressionGzip = 1;
constexpr int kCompressionBgzf = 2;
}  // namespace

CompressedInput::CompressedInput(std::string path) : path_(std::move(path)), buffer_(kBufferBytes) {
  std::error_code ignored;
  if (path_ != "-" && std::filesystem::is_directory(path_, ignored))
    throw Error(path_, "is a directory, not a sequence file");
  errno = 0;
  file_ = bgzf_open(path_.c_str(), "r");
  if (!file_)
    throw Error(path_, std::string("cannot open: ") + (errno ? std::strerror(errno) : "unknown error"));
  // A bgzip file cut exactly at a block boundary decompresses cleanly; only the missing
  // end-of-file marker reveals it. (Unseekable input such as stdin cannot be checked.)
  if (bgzf_compression(file_) == kCompressionBgzf && bgzf_check_EOF(file_) == 0) {
    bgzf_close(file_);
    throw Error(path_, "truncated or corrupt gzip data (the bgzip end-of-file marker is missing)");
  }
}

CompressedInput::~CompressedInput() {
  if (file_) bgzf_close(file_);
}

bool CompressedInput::is_bgzf() const { return bgzf_compression(file_) == kCompressionBgzf; }
bool CompressedInput::is_gzip() const { return bgzf_compression(file_) == kCompressionGzip; }

bool CompressedInput::refill() {
  if (begin_ < end_) return true;
  errno = 0;
  ssize_t count = bgzf_read(file_, buffer_.data(), buffer_.size());
  if (count < 0) {
    if (bgzf_compression(file_) == 0)
      throw Error(path_, std::string("read error: ") + (errno ? std::strerror(errno) : "I/O failure"));
    throw Error(path_, "truncated or corrupt gzip data");
  }
  begin_ = 0;
  end_ = static_cast<size_t>(count);
  return count > 0;
}

int CompressedInput::skip_blank(int64_t& newlines) {
  while (refill()) {
    std::string_view bytes = buffered();
    size_t i = 0;
    for (; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (c == '\n') {
        ++newlines;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        consume(i);
        return static_cast<unsigned char>(c);
      }
    }
    consume(i);
  }
  return -1;
}

bool CompressedInput::read_line(std::string& line, size_t max_length, int64_t line_number) {
  line.clear();
  bool read_any = false;
  while (refill()) {
    read_any = true;
    std::string_view bytes = buffered();
    size_t newline = bytes.find('\n');
    size_t take = newline == std::string_view::npos ? bytes.size() : newline;
    if (line.size() + take > max_length)
      throw Error(path_, "line " + std::to_string(line_number) + ": longer than " +
                             std::to_string(max_length) + " bytes (binary data or a missing line end?)");
    line.append(bytes.data(), take);
    if (newline != std::string_view::npos) {
      consume(take + 1);
      break;
    }
    consume(take);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return read_any;
}

}  // namespace germ::io
