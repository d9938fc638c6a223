#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/region.hpp"
#include "io/sequence_reader.hpp"

namespace germ::stats {

// Base composition of one contig (or one region of it). Every character of the sequence is
// counted in exactly one of a/c/g/t/n/other, case-insensitively, so their sum is `length`;
// lower-case letters are counted again in `soft_masked`. U counts as T and X as N (as
// io::normalize_bases reads them); `other` holds the remaining IUPAC codes (RYSWKMBDHV) and
// the gap symbols '-', '.', '*'.
struct ContigComposition {
  std::string name;
  int64_t length = 0;
  int64_t a = 0, c = 0, g = 0, t = 0;
  int64_t n = 0;
  int64_t other = 0;
  int64_t soft_masked = 0;

  // (G+C)/(A+C+G+T): ambiguous bases say nothing about GC, so they stay out of both sides.
  // 0 when there is no A/C/G/T at all.
  double gc_fraction() const;
  // Over `length`; 0 for an empty sequence.
  double n_fraction() const;
  double soft_masked_fraction() const;

  // Adds the counts of `other` (the name is kept): a running total while rows stream by.
  void merge(const ContigComposition& other);
  bool operator==(const ContigComposition& other) const;
};

// Tallies the composition of one sequence fed in pieces. Bytes that are not sequence
// characters (io::is_sequence_char; the readers reject them before they get here) count as
// `other`, so the counts always add up to the length.
class CompositionCounter {
 public:
  void add(std::string_view bases);
  const ContigComposition& counts() const { return counts_; }
  // Starts a new sequence: zero counts under a new name.
  void reset(std::string name);

 private:
  ContigComposition counts_;
};

// Streams `path` (FASTA/FASTQ, plain/gzip/bgzip, "-" for stdin) and hands `sink` one row per
// record, as soon as the record ends; memory stays bounded by chunk_bases however long a
// record is. With regions (the file must be an indexable FASTA) there is one row per region,
// in the order given, named "chr:beg-end" (1-based inclusive, an open end resolved to the
// contig length), or just the contig name for a whole-contig region. Errors are germ::Error
// naming the file.
void summarise_sequences(const std::string& path, const std::vector<io::Region>& regions,
                         const std::function<void(const ContigComposition&)>& sink,
                         size_t chunk_bases = io::SequenceReader::kDefaultChunkBases);

// The sum of all rows, named "total".
ContigComposition total_composition(const std::vector<ContigComposition>& rows);

// Text: a header line, then one line per row with the name left-aligned in name_width and the
// numbers right-aligned (fractions with 4 decimals). A name longer than name_width shifts only
// its own line. Row by row, so a whole genome prints as it is read.
class CompositionTextFormat {
 public:
  static constexpr size_t kDefaultNameWidth = 12;
  // Never narrower than the "contig" heading.
  explicit CompositionTextFormat(size_t name_width = kDefaultNameWidth);
  std::string header() const;
  std::string row(const ContigComposition& composition) const;

 private:
  size_t name_width_;
};

// TSV: the header line "#contig\tlength\tA\t...", one line per row; the total is written as a
// row named "#total", so filtering out '#' lines leaves only contigs.
std::string composition_tsv_header();
std::string composition_tsv_row(const ContigComposition& composition);
std::string composition_tsv_total_row(const ContigComposition& total);

// Whole documents, for callers that collected the rows.
std::string format_composition_text(const std::vector<ContigComposition>& rows,
                                    const ContigComposition& total);
std::string format_composition_tsv(const std::vector<ContigComposition>& rows,
                                   const ContigComposition& total);
// {"contigs": [{"name", "length", "A", "C", "G", "T", "N", "other", "soft_masked", "gc",
//  "n_fraction", "soft_masked_fraction"}...], "total": {same, without "name", plus "contigs":
//  the row count}}, fractions at full precision, pretty-printed, ending in a newline.
std::string format_composition_json(const std::vector<ContigComposition>& rows,
                                    const ContigComposition& total);

}  // namespace germ::stats
