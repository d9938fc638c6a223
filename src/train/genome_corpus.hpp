#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "io/bases.hpp"
#include "io/region.hpp"
#include "train/packed_bases.hpp"

namespace germ::train {

using io::reverse_complement;

// One contiguous stretch of a genome used for training or validation: a view of a contig held
// 2-bit packed (PackedBases), shared by the training and held-out pieces cut from it.
struct Segment {
  std::string source;  // file the bases came from
  std::string contig;
  int64_t offset = 0;  // 0-based position of the segment's first base in the contig
  int64_t length = 0;
  std::shared_ptr<const PackedBases> contig_bases;  // the whole contig
  size_t file = 0;     // index of `source` in GenomeCorpus::files

  // Bases [start, start + count) of the segment as uppercase ACGTN.
  std::string read(int64_t start, int64_t count) const { return contig_bases->read(offset + start, count); }
  int64_t count_n(int64_t start, int64_t count) const {
    return contig_bases->count_n(offset + start, offset + start + count);
  }
  // A whole contig from bases already in memory (tests, small inputs).
  static Segment from_bases(const std::string& source, const std::string& contig, const std::string& bases);
};

// Training sequence split by position: the held-out validation set is either the given
// region(s) or a fraction taken from the end of every contig, so no validation base overlaps a
// training window. Bases are held 2-bit packed: a quarter byte per base (docs/pretrain.md).
struct GenomeCorpus {
  std::vector<std::string> files;  // the inputs, in the order given
  std::vector<Segment> train;
  std::vector<Segment> holdout;
  int64_t train_bases() const;
  int64_t holdout_bases() const;
  size_t memory_bytes() const;  // packed bases held, all contigs
};

struct CorpusOptions {
  double holdout_fraction = 0.05;
  std::vector<io::Region> holdout_regions;  // overrides the fraction when given
  int64_t min_segment = 64;                 // shorter pieces are dropped
};

GenomeCorpus load_corpus(const std::vector<std::string>& fasta_paths, const CorpusOptions& options);
// Every contig of one file, whole (held-out evaluation files); contigs under `min_segment` dropped.
std::vector<Segment> load_whole_contigs(const std::string& fasta_path, int64_t min_segment = 64);

// Draws training windows: a segment chosen by weight, a uniform start, either strand with
// probability 1/2, windows with more than `max_n_fraction` N rejected. `file_weights`
// (indexed by Segment::file) gives each file's share of the windows, split among its segments
// in proportion to their length; empty = every segment in proportion to its length.
class WindowSampler {
 public:
  WindowSampler(const std::vector<Segment>& segments, int64_t window, uint64_t seed,
                double max_n_fraction = 0.10, const std::vector<double>& file_weights = {});
  std::string next();
  // Sampler position for exact resume (the RNG state as text).
  std::string state() const;
  void restore(const std::string& state);

 private:
  const std::vector<Segment>* segments_;
  int64_t window_;
  double max_n_fraction_;
  std::vector<double> cumulative_;  // cumulative sampling weight of the segments
  std::mt19937_64 rng_;
};

// Fixed, deterministic validation windows: non-overlapping tiles of the holdout segments,
// forward strand, N-heavy tiles skipped, at most `max_windows` spread over all segments.
std::vector<std::string> validation_windows(const std::vector<Segment>& segments, int64_t window,
                                            int64_t max_windows, double max_n_fraction = 0.10);

double n_fraction(const std::string& bases);

}  // namespace germ::train
