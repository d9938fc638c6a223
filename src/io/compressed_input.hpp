#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct BGZF;

namespace germ::io {

// A buffered byte stream over htslib's BGZF reader, which transparently handles plain,
// gzip and bgzip input, and "-" for stdin. Damaged compressed data becomes a germ::Error
// naming the file instead of a silent short read.
class CompressedInput {
 public:
  explicit CompressedInput(std::string path);
  ~CompressedInput();
  CompressedInput(const CompressedInput&) = delete;
  CompressedInput& operator=(const CompressedInput&) = delete;

  const std::string& path() const { return path_; }
  bool is_bgzf() const;
  bool is_gzip() const;

  // Bytes read but not yet consumed. Empty means call refill().
  std::string_view buffered() const {
    return std::string_view(buffer_.data() + begin_, end_ - begin_);
  }
  void consume(size_t count) { begin_ += count; }
  // Reads more bytes when the buffer is used up; false at the end of the data.
  bool refill();

  // Skips spaces, tabs and line ends, returning the first other byte (not consumed) or -1 at
  // the end of the data. `newlines` is increased by the line ends skipped.
  int skip_blank(int64_t& newlines);

  // Reads one line without its "\n" or "\r\n"; false when no bytes were left. A line longer
  // than max_length is an error naming line_number.
  bool read_line(std::string& line, size_t max_length, int64_t line_number);

 private:
  std::string path_;
  BGZF* file_ = nullptr;
  std::vector<char> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace germ::io
