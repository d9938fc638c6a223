#include <string>

#include "io/bases.hpp"
#include "io/text_parsers.hpp"
#include "util/error.hpp"

namespace germ::io {
namespace {

// FASTQ reads are short enough to hold whole; each record is read (sequence and quality may
// span several lines) and validated, then handed out in chunks like FASTA.
class FastqSource : public ChunkSource {
 public:
  FastqSource(std::unique_ptr<CompressedInput> input, int64_t first_line, size_t chunk_bases)
      : input_(std::move(input)), line_(first_line - 1), chunk_bases_(chunk_bases) {}

  bool next(SequenceChunk& out) override {
    if (emitted_bases_ >= static_cast<int64_t>(bases_.size()) && !emitted_empty_record_pending_) {
      if (!read_record()) return false;
    }
    out.contig = name_;
    out.contig_index = record_number_ - 1;
    out.offset = emitted_bases_;
    out.contig_start = emitted_bases_ == 0;
    size_t take = std::min(chunk_bases_, bases_.size() - static_cast<size_t>(emitted_bases_));
    out.bases.assign(bases_, static_cast<size_t>(emitted_bases_), take);
    emitted_bases_ += static_cast<int64_t>(take);
    out.contig_end = emitted_bases_ == static_cast<int64_t>(bases_.size());
    emitted_empty_record_pending_ = false;
    return true;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(input_->path(), "line " + std::to_string(line_) + ": record " +
                                    std::to_string(record_number_) + " ('" + name_ + "') " + problem);
  }

  bool read_line_or_truncated(const char* what) {
    if (input_->read_line(line_text_, kMaxLineBytes, line_ + 1)) {
      ++line_;
      return true;
    }
    fail(std::string("is truncated: the file ends before its ") + what);
  }

  bool read_record() {
    int64_t skipped_lines = 0;
    int first = input_->skip_blank(skipped_lines);
    line_ += skipped_lines;
    if (first < 0) return false;
    ++record_number_;
    name_.clear();
    input_->read_line(line_text_, kMaxHeaderBytes, line_ + 1);
    ++line_;
    if (first != '@')
      fail("does not start with '@' (found " + describe_char(static_cast<char>(first)) +
           "); not a FASTQ record");
    name_ = record_name_from_header(input_->path(), line_text_, line_, record_number_);

    bases_.clear();
    while (true) {
      read_line_or_truncated("'+' separator line");
      if (!line_text_.empty() && line_text_[0] == '+') break;
      for (char c : line_text_) {
        if (c == ' ' || c == '\t') continue;
        if (!is_sequence_char(c)) fail("has invalid sequence character " + describe_char(c));
        bases_.push_back(c);
      }
    }
    size_t quality_length = 0;
    while (quality_length < bases_.size()) {
      read_line_or_truncated("quality string is complete");
      for (char c : line_text_) {
        if (c < '!' || c > '~') fail("has invalid quality character " + describe_char(c));
      }
      quality_length += line_text_.size();
    }
    if (quality_length != bases_.size())
      fail("has " + std::to_string(bases_.size()) + " bases but " + std::to_string(quality_length) +
           " quality values");
    emitted_bases_ = 0;
    emitted_empty_record_pending_ = bases_.empty();
    return true;
  }

  static constexpr size_t kMaxLineBytes = size_t{1} << 28;

  std::unique_ptr<CompressedInput> input_;
  int64_t line_;  // last line read, 1-based
  size_t chunk_bases_;
  int64_t record_number_ = 0;
  std::string name_;
  std::string bases_;
  std::string line_text_;
  int64_t emitted_bases_ = 0;
  bool emitted_empty_record_pending_ = false;
};

}  // namespace

std::unique_ptr<ChunkSource> make_fastq_source(std::unique_ptr<CompressedInput> input,
                                               int64_t first_line, size_t chunk_bases) {
  return std::make_unique<FastqSource>(std::move(input), first_line, chunk_bases);
}

}  // namespace germ::io
