#pragma once
#include <cstdint>
#include <string>

namespace germ::io {

// A piece of one contig (or of one region of it). A reader yields chunks in file order and
// each contig's chunks consecutively, so a caller can keep per-contig state between chunks.
struct SequenceChunk {
  std::string contig;
  // 0-based: the record's ordinal in the file, or its row in the .fai for region input.
  int64_t contig_index = 0;
  // 0-based position of bases[0] in the contig (a genomic coordinate for region input).
  int64_t offset = 0;
  // Bases exactly as in the file (soft-masked lowercase kept); see normalize_bases().
  std::string bases;
  // First / last chunk of the contig, or of the region for region input. An empty record
  // yields one chunk with empty bases and both flags set.
  bool contig_start = false;
  bool contig_end = false;
};

// What SequenceReader delegates to: one implementation per kind of input.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual bool next(SequenceChunk& out) = 0;
};

}  // namespace germ::io
