#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/region.hpp"

namespace germ::io {

// What `germ stats --data` and `germ quantize --calib` feed a model.
struct SequenceSample {
  int64_t count = 256;         // -n: sequences at most
  int64_t window_bases = 1000; // FASTA input is cut into tiles of this many bases
  double max_n_fraction = 0.1; // tiles with more N are skipped (assembly gaps say nothing)
  uint64_t seed = 42;
  std::vector<Region> regions;  // FASTA only (needs an index)
};

// A uniform sample (reservoir sampling, so one streaming pass and a fixed seed) of `count`
// sequences: non-overlapping tiles of a FASTA/FASTQ file, or the rows of a GUE CSV (a file
// ending in .csv/.csv.gz, or a GUE directory, whose <split>.csv is used). Returned normalised
// (upper-case ACGTN) in input order.
std::vector<std::string> sample_sequences(const std::string& path, const SequenceSample& sample,
                                          const std::string& split = "test");

}  // namespace germ::io
