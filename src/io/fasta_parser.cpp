#include <string>

#include "io/bases.hpp"
#include "io/text_parsers.hpp"
#include "util/error.hpp"

namespace germ::io {

std::string record_name_from_header(const std::string& path, const std::string& header_line,
                                    int64_t line, int64_t record_number) {
  std::string where = "line " + std::to_string(line) + ": record " + std::to_string(record_number);
  for (char c : header_line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      throw Error(path, where + " header contains " + describe_char(c) + " (binary data?)");
  }
  size_t name_end = header_line.find_first_of(" \t", 1);
  std::string name = header_line.substr(1, name_end == std::string::npos ? std::string::npos : name_end - 1);
  if (name.empty()) throw Error(path, where + " has an empty name");
  return name;
}

namespace {

// A state machine over the decompressed byte buffers: no record is ever held whole, only the
// chunk being filled. A full chunk is handed out only once a further base of the same record
// is seen, so the last chunk of a record always knows it is the last.
class FastaSource : public ChunkSource {
 public:
  FastaSource(std::unique_ptr<CompressedInput> input, int64_t first_line, size_t chunk_bases)
      : input_(std::move(input)), line_(first_line), chunk_bases_(chunk_bases) {}

  bool next(SequenceChunk& out) override {
    while (!finished_) {
      if (!input_->refill()) {
        finished_ = true;
        if (in_record_) {
          emit(out, /*record_ends=*/true);
          return true;
        }
        return false;
      }
      if (at_line_start_) {
        char first = input_->buffered().front();
        if (first == '>') {
          if (in_record_) {
            emit(out, /*record_ends=*/true);  // the header is parsed on the next call
            return true;
          }
          start_record();
          continue;
        }
        at_line_start_ = false;
      }
      if (scan_sequence_line(out)) return true;
    }
    return false;
  }

 private:
  void start_record() {
    std::string header;
    input_->read_line(header, kMaxHeaderBytes, line_);
    ++record_number_;
    contig_ = record_name_from_header(input_->path(), header, line_, record_number_);
    ++line_;
    in_record_ = true;
    at_line_start_ = true;
    emitted_bases_ = 0;
    pending_.clear();
  }

  // Consumes sequence bytes up to the end of the current line or buffer. Returns true when a
  // full chunk was handed out (the remaining bytes wait for the next call).
  bool scan_sequence_line(SequenceChunk& out) {
    std::string_view bytes = input_->buffered();
    for (size_t i = 0; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (c == '\n') {
        input_->consume(i + 1);
        ++line_;
        at_line_start_ = true;
        return false;
      }
      if (c == '\r' || c == ' ' || c == '\t') continue;
      if (!is_sequence_char(c))
        throw Error(input_->path(), "line " + std::to_string(line_) + ": invalid sequence character " +
                                        describe_char(c) + " in record '" + contig_ + "'");
      if (pending_.size() == chunk_bases_) {
        input_->consume(i);
        emit(out, /*record_ends=*/false);
        return true;
      }
      pending_.push_back(c);
    }
    input_->consume(bytes.size());
    return false;
  }

  void emit(SequenceChunk& out, bool record_ends) {
    out.contig = contig_;
    out.contig_index = record_number_ - 1;
    out.offset = emitted_bases_;
    out.contig_start = emitted_bases_ == 0;
    out.contig_end = record_ends;
    emitted_bases_ += static_cast<int64_t>(pending_.size());
    out.bases.swap(pending_);
    pending_.clear();
    if (record_ends) in_record_ = false;
  }

  std::unique_ptr<CompressedInput> input_;
  int64_t line_;
  size_t chunk_bases_;
  int64_t record_number_ = 0;
  std::string contig_;
  std::string pending_;
  int64_t emitted_bases_ = 0;
  bool in_record_ = false;
  bool at_line_start_ = true;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ChunkSource> make_fasta_source(std::unique_ptr<CompressedInput> input,
                                               int64_t first_line, size_t chunk_bases) {
  return std::make_unique<FastaSource>(std::move(input), first_line, chunk_bases);
}

}  // namespace germ::io
