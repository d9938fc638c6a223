#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "io/bases.hpp"
#include "io/region.hpp"

namespace germ::train {

using io::reverse_complement;

// One contiguous stretch of a genome used for training or validation (uppercase ACGTN).
struct Segment {
  std::string source;  // file the bases came from
  std::string contig;
  int64_t offset = 0;  // 0-based position of bases[0] in the contig
  std::string bases;
};

// Training sequence held in memory, split by position: the held-out validation set is either
// the given region(s) or a fraction taken from the end of every contig, so no validation base
// overlaps a training window. (Holding training genomes in memory is fine up to a few hundred
// megabases; see docs/pretrain.md.)
struct GenomeCorpus {
  std::vector<Segment> train;
  std::vector<Segment> holdout;
  int64_t train_bases() const;
  int64_t holdout_bases() const;
};

struct CorpusOptions {
  double holdout_fraction = 0.05;
  std::vector<io::Region> holdout_regions;  // overrides the fraction when given
  int64_t min_segment = 64;                 // shorter pieces are dropped
};

GenomeCorpus load_corpus(const std::vector<std::string>& fasta_paths, const CorpusOptions& options);

// Draws training windows: a segment chosen in proportion to its length, a uniform start,
// either strand with probability 1/2, windows with more than `max_n_fraction` N rejected.
class WindowSampler {
 public:
  WindowSampler(const std::vector<Segment>& segments, int64_t window, uint64_t seed,
                double max_n_fraction = 0.10);
  std::string next();
  // Sampler position for exact resume (the RNG state as text).
  std::string state() const;
  void restore(const std::string& state);

 private:
  const std::vector<Segment>* segments_;
  int64_t window_;
  double max_n_fraction_;
  std::vector<int64_t> cumulative_;  // cumulative count of valid start positions
  std::mt19937_64 rng_;
};

// Fixed, deterministic validation windows: non-overlapping tiles of the holdout segments,
// forward strand, N-heavy tiles skipped, at most `max_windows`.
std::vector<std::string> validation_windows(const std::vector<Segment>& segments, int64_t window,
                                            int64_t max_windows, double max_n_fraction = 0.10);

double n_fraction(const std::string& bases);

}  // namespace germ::train
