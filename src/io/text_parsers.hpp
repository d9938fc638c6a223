#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "io/compressed_input.hpp"
#include "io/sequence_chunk.hpp"

namespace germ::io {

// Parsers over an input already positioned on its first record marker ('>' or '@');
// first_line is that marker's line number, for error messages.
std::unique_ptr<ChunkSource> make_fasta_source(std::unique_ptr<CompressedInput> input,
                                               int64_t first_line, size_t chunk_bases);
std::unique_ptr<ChunkSource> make_fastq_source(std::unique_ptr<CompressedInput> input,
                                               int64_t first_line, size_t chunk_bases);

// Shared by both parsers: the record name is the header up to the first blank; an empty
// name or a control byte (binary data) is an error naming the line and record.
std::string record_name_from_header(const std::string& path, const std::string& header_line,
                                    int64_t line, int64_t record_number);

// Header lines longer than this are treated as damage, not as data to buffer.
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;

}  // namespace germ::io
