#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "io/sequence_chunk.hpp"

namespace germ::io {

enum class SequenceFormat { Fasta, Fastq };

// Streams FASTA or FASTQ (plain, gzip, bgzip, or "-" for stdin) as chunks of at most
// chunk_bases bases, so memory stays bounded however long a record is. The format comes
// from the first non-blank byte: '>' FASTA, '@' FASTQ.
//
// With regions, the file must be an indexable FASTA (see IndexedFasta) and the chunks cover
// each region in turn, with genomic offsets; otherwise callers see the same interface.
class SequenceReader {
 public:
  static constexpr size_t kDefaultChunkBases = size_t{1} << 20;

  explicit SequenceReader(const std::string& path, size_t chunk_bases = kDefaultChunkBases);
  SequenceReader(const std::string& path, const Region& region,
                 size_t chunk_bases = kDefaultChunkBases);
  SequenceReader(const std::string& path, const std::vector<Region>& regions,
                 size_t chunk_bases = kDefaultChunkBases);
  ~SequenceReader();
  SequenceReader(SequenceReader&&) noexcept;
  SequenceReader& operator=(SequenceReader&&) noexcept;

  // Fills `out` with the next chunk; false once the input is exhausted.
  bool next(SequenceChunk& out);

  const std::string& path() const { return path_; }
  SequenceFormat format() const { return format_; }

 private:
  std::string path_;
  SequenceFormat format_ = SequenceFormat::Fasta;
  std::unique_ptr<ChunkSource> source_;
};

}  // namespace germ::io
