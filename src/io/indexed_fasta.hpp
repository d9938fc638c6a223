#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/region.hpp"

struct faidx_t;

namespace germ::io {

using ContigSizes = std::vector<std::pair<std::string, int64_t>>;

// Random access to a plain or bgzip-compressed FASTA through its samtools index (.fai, plus
// .gzi for bgzip). A missing index is built beside the FASTA, as `samtools faidx` would,
// written under a temporary name and renamed so concurrent runs never see half an index; when
// that is impossible (read-only directory, plain gzip, stdin) the error says what to do.
// One object must not be used from several threads at once.
class IndexedFasta {
 public:
  explicit IndexedFasta(const std::string& path);
  ~IndexedFasta();
  IndexedFasta(IndexedFasta&&) noexcept;
  IndexedFasta& operator=(IndexedFasta&&) noexcept;

  const std::string& path() const { return path_; }
  // Names and lengths in .fai order.
  const ContigSizes& contigs() const { return contigs_; }
  bool has_contig(const std::string& name) const;
  // Row of the contig in the .fai; an unknown contig is an error naming file and contig.
  int64_t contig_index(const std::string& name) const;
  int64_t contig_length(const std::string& name) const;
  // Bases [begin, end) of the contig as stored (case kept); the range must lie inside it.
  std::string fetch(const std::string& contig, int64_t begin, int64_t end) const;
  // The region with end == -1 replaced by the contig length; a region not inside the contig
  // is an error naming the file, the region and the contig length.
  Region resolve(const Region& region) const;

  // True when the index files random access needs are already present.
  static bool has_index(const std::string& path);

 private:
  void load_contigs(const std::string& fai_path);

  std::string path_;
  faidx_t* index_ = nullptr;
  ContigSizes contigs_;
  std::unordered_map<std::string, size_t> row_by_name_;
};

// Contig names and lengths of a FASTA or FASTQ file: from the .fai when one is present,
// otherwise by one streaming pass. Duplicate names are an error (per-contig outputs such as
// bigWig need unique names).
ContigSizes read_contig_sizes(const std::string& path);

}  // namespace germ::io
