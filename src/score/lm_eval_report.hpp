#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/focus.hpp"

namespace germ::score {

// Sums over a set of scored bases: the model's -ln P and each Markov baseline's -log2 P.
struct LmEvalTally {
  std::string file;    // empty on the total
  std::string contig;  // empty on a file's row and the total
  int64_t bases = 0;
  double model_nats = 0;
  std::vector<double> baseline_bits;  // one per baseline order

  void add(const LmEvalTally& other);
  double nats_per_base() const;
  double bits_per_base() const;
  double baseline_bits_per_base(size_t i) const;
};

struct LmEvalReport {
  std::string model_path;
  model::FocusGeometry geometry;       // as scored (memory kind "none" with --no-memory)
  std::vector<int> baseline_orders;    // empty: no baseline
  std::vector<std::string> baseline_train;
  int64_t baseline_train_bases = 0;    // one strand
  std::vector<LmEvalTally> contigs;    // in input order
  std::vector<LmEvalTally> files;
  LmEvalTally total;
  double seconds = 0;

  // Sums the contig rows into the file rows and the total.
  void summarise();
  std::string to_text() const;
  std::string to_tsv() const;
  std::string to_json() const;
};

}  // namespace germ::score
