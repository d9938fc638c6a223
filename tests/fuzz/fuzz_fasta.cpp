// FASTA/FASTQ (plain, gzip, bgzip) from anywhere: the streaming chunk reader must yield
// well-formed chunks or throw germ::Error. The first byte picks a small chunk size so that
// chunk boundaries fall everywhere.
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "io/bases.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace germ::io;
  if (size == 0) return 0;
  const size_t chunk_bases = 1 + data[0] % 64;
  try {
    SequenceReader reader(germ_fuzz::input_file(data + 1, size - 1), chunk_bases);
    SequenceChunk chunk;
    int64_t expected_offset = 0, expected_index = 0;
    bool inside_record = false;
    while (reader.next(chunk)) {
      germ_fuzz::check(chunk.bases.size() <= chunk_bases, "chunk within its size");
      germ_fuzz::check(chunk.contig_start == !inside_record, "contig_start exactly at a record start");
      if (chunk.contig_start) expected_offset = 0;
      germ_fuzz::check(chunk.offset == expected_offset, "chunks are contiguous");
      germ_fuzz::check(chunk.contig_index == expected_index, "records numbered in order");
      germ_fuzz::check(!chunk.contig.empty(), "records have names");
      for (char base : chunk.bases) germ_fuzz::check(is_sequence_char(base), "only sequence characters");
      germ_fuzz::check(chunk.contig_end || chunk.bases.size() == chunk_bases, "only a record's last chunk is short");
      expected_offset += static_cast<int64_t>(chunk.bases.size());
      inside_record = !chunk.contig_end;
      if (chunk.contig_end) ++expected_index;
    }
    germ_fuzz::check(!inside_record, "the last record is closed");
  } catch (const germ::Error&) {
  }
  return 0;
}
