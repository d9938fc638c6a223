#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/indexed_fasta.hpp"
#include "io/region.hpp"

typedef struct bcf_hdr_t bcf_hdr_t;
typedef struct bcf1_t bcf1_t;

namespace germ::io {

// Reads VCF (plain or bgzip) or BCF records in file order, or, with regions, through the
// index (.tbi/.csi): only records whose POS lies in a region, regions in the order given
// (overlapping ones merged, so no record comes twice). A region query without an index is
// an error naming the fix, never a silent whole-file scan. htslib's own messages are
// silenced; every failure is one germ::Error naming the file.
class VcfReader {
 public:
  VcfReader(const std::string& path, std::vector<Region> regions = {});
  ~VcfReader();
  VcfReader(const VcfReader&) = delete;
  VcfReader& operator=(const VcfReader&) = delete;

  const std::string& path() const { return path_; }
  // The header records are read against (and the one to write them with): callers may
  // append lines (declare contigs, INFO keys) before the first next().
  bcf_hdr_t* header() { return header_; }
  // Declares every contig of `contigs` the header lacks (##contig with length), so records on
  // contigs the VCF never declared (many real files have no ##contig lines) keep their names
  // in BCF output and in indexes. Returns how many were added.
  int declare_contigs(const ContigSizes& contigs);

  // Reads the next record into `record`; false at the end. A damaged record is an Error.
  bool next(bcf1_t* record);
  int64_t records_read() const { return records_read_; }

 private:
  struct State;
  bool next_in_regions(bcf1_t* record);
  int read_next(bcf1_t* record);
  bool usable(const bcf1_t* record) const;
  std::string path_;
  std::vector<Region> regions_;
  std::unique_ptr<State> state_;
  bcf_hdr_t* header_ = nullptr;
  int64_t records_read_ = 0;
};

// -R/--regions-file: BED (0-based half-open; .bed or .bed.gz) or bcftools-style
// "chr<TAB>beg<TAB>end" 1-based inclusive (any other name). '#', "track" and "browser" lines
// are skipped; a malformed line is an error naming the file and line number.
std::vector<Region> read_regions_file(const std::string& path);

}  // namespace germ::io
