#include "io/sequence_reader.hpp"

#include "io/bases.hpp"
#include "io/compressed_input.hpp"
#include "io/indexed_fasta.hpp"
#include "io/text_parsers.hpp"
#include "util/error.hpp"

namespace germ::io {
namespace {

size_t checked_chunk_bases(const std::string& path, size_t chunk_bases) {
  if (chunk_bases == 0) throw Error(path, "chunk size must be at least one base");
  return chunk_bases;
}

// Streams regions of an indexed FASTA through faidx, one chunk per fetch. Every region is
// checked against its contig before the first chunk, so a typo fails before any output.
class RegionSource : public ChunkSource {
 public:
  RegionSource(IndexedFasta fasta, const std::vector<Region>& regions, size_t chunk_bases)
      : fasta_(std::move(fasta)), chunk_bases_(chunk_bases) {
    for (const Region& region : regions) regions_.push_back(fasta_.resolve(region));
  }

  bool next(SequenceChunk& out) override {
    if (current_ >= regions_.size()) return false;
    const Region& region = regions_[current_];
    int64_t begin = region.begin + emitted_;
    int64_t end = std::min<int64_t>(region.end, begin + static_cast<int64_t>(chunk_bases_));
    out.contig = region.contig;
    out.contig_index = fasta_.contig_index(region.contig);
    out.offset = begin;
    out.bases = fasta_.fetch(region.contig, begin, end);
    check_bases(out);
    out.contig_start = emitted_ == 0;
    out.contig_end = end == region.end;
    emitted_ += end - begin;
    if (out.contig_end) {
      ++current_;
      emitted_ = 0;
    }
    return true;
  }

 private:
  void check_bases(const SequenceChunk& chunk) const {
    for (size_t i = 0; i < chunk.bases.size(); ++i) {
      if (!is_sequence_char(chunk.bases[i]))
        throw Error(fasta_.path(), "invalid sequence character " + describe_char(chunk.bases[i]) +
                                       " at " + chunk.contig + ":" +
                                       std::to_string(chunk.offset + static_cast<int64_t>(i) + 1));
    }
  }

  IndexedFasta fasta_;
  std::vector<Region> regions_;
  size_t chunk_bases_;
  size_t current_ = 0;
  int64_t emitted_ = 0;
};

}  // namespace

SequenceReader::SequenceReader(const std::string& path, size_t chunk_bases) : path_(path) {
  checked_chunk_bases(path, chunk_bases);
  auto input = std::make_unique<CompressedInput>(path);
  int64_t blank_lines = 0;
  int first = input->skip_blank(blank_lines);
  int64_t first_line = blank_lines + 1;
  if (first < 0) throw Error(path, "empty file, no sequence records");
  if (first == '>') {
    format_ = SequenceFormat::Fasta;
    source_ = make_fasta_source(std::move(input), first_line, chunk_bases);
  } else if (first == '@') {
    format_ = SequenceFormat::Fastq;
    source_ = make_fastq_source(std::move(input), first_line, chunk_bases);
  } else {
    throw Error(path, "not a FASTA or FASTQ file: line " + std::to_string(first_line) + " starts with " +
                          describe_char(static_cast<char>(first)) + " instead of '>' or '@'");
  }
}

SequenceReader::SequenceReader(const std::string& path, const Region& region, size_t chunk_bases)
    : SequenceReader(path, std::vector<Region>{region}, chunk_bases) {}

SequenceReader::SequenceReader(const std::string& path, const std::vector<Region>& regions,
                               size_t chunk_bases)
    : path_(path) {
  checked_chunk_bases(path, chunk_bases);
  source_ = std::make_unique<RegionSource>(IndexedFasta(path), regions, chunk_bases);
}

SequenceReader::~SequenceReader() = default;
SequenceReader::SequenceReader(SequenceReader&&) noexcept = default;
SequenceReader& SequenceReader::operator=(SequenceReader&&) noexcept = default;

bool SequenceReader::next(SequenceChunk& out) { return source_->next(out); }

}  // namespace germ::io
