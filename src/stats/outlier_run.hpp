#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "stats/outlier_report.hpp"

namespace germ::model {
struct ModelBundle;
}

namespace germ::stats {

// What `germ stats --data` feeds the model.
struct SequenceSample {
  int64_t count = 256;         // -n: sequences at most
  int64_t window_bases = 1000; // FASTA input is cut into tiles of this many bases
  double max_n_fraction = 0.1; // tiles with more N are skipped (assembly gaps say nothing)
  uint64_t seed = 42;
  std::vector<io::Region> regions;  // FASTA only (needs an index)
};

// A uniform sample (reservoir sampling, so one streaming pass and a fixed seed) of `count`
// sequences: non-overlapping tiles of a FASTA/FASTQ file, or the rows of a GUE CSV (a file
// ending in .csv/.csv.gz, or a GUE directory, whose test.csv is used). Returned normalised
// (upper-case ACGTN) in input order.
std::vector<std::string> sample_sequences(const std::string& path, const SequenceSample& sample);

// Runs the model over the sequences (batches of `batch_size`, inference mode) and collects
// the outlier statistics. `label` names the model in reports.
OutlierReport measure_outliers(model::ModelBundle& bundle, const std::string& label,
                               const std::vector<std::string>& sequences, int64_t batch_size = 16);

}  // namespace germ::stats
