#pragma once
// Per-read values from a model, for `germ score` on SAM/BAM/CRAM/FASTQ (docs/score_reads.md).
// Only sequences in and numbers out: reading and tagging the records is score/read_tagging.cpp's.
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/focus.hpp"
#include "score/lane_scorer.hpp"

namespace germ::tokenize {
class Tokenizer;
}

namespace germ::score {

// Mean per-base log-likelihood (natural log, nats/base) of a read over the bases that have a
// value: every base but the first (no left context) and N. No such base: bases == 0 and the
// mean is NaN.
struct ReadLikelihood {
  double mean_log_likelihood = 0;
  int64_t bases = 0;
};

// A causal LM scored read by read, with the values `germ score` gives a FASTA record of the same
// sequence. A read no longer than one window is what a lane's first window sees (no memory, no
// re-read context), so it runs as a plain causal forward, many reads of similar length per
// batch: right padding cannot change earlier positions under a causal mask. Longer reads go
// through LaneScorer (FOCUS memory across windows).
class ReadLikelihoodScorer {
 public:
  // tokens_per_forward bounds a plain forward's batch (reads x padded length), and so its memory.
  // 4096 was the fastest on 101 bp reads with -@ 2 (8192: 9% slower, 16384: 17%, 52000: 40%).
  ReadLikelihoodScorer(model::GermModel model, model::FocusAdapter adapter, model::FocusGeometry geometry,
                       int64_t tokens_per_forward = 4096);
  // reads: normalised bases (ACGTN) in the strand to score; results in the same order.
  std::vector<ReadLikelihood> score(const std::vector<std::string>& reads);
  int64_t forwards_run() const { return forwards_run_; }
  int64_t long_reads() const { return long_reads_; }

 private:
  void score_together(const std::vector<std::string>& reads, const std::vector<size_t>& members,
                      std::vector<ReadLikelihood>& out);

  model::GermModel model_;
  LaneScorer lane_scorer_;
  int64_t window_;
  int64_t tokens_per_forward_;
  int64_t forwards_run_ = 0;
  int64_t long_reads_ = 0;
};

// The class a classifier gives a read: `label` the most probable class (of the mean over tiles),
// `probability` the mean probability of the reported class (the predicted one unless fixed).
struct ReadClass {
  int64_t label = -1;
  float probability = 0;
};

// A classifier over reads. A read longer than `tile_bases` (the classifier's training length)
// is cut into the fewest tiles of tile_bases that cover it, spread evenly from its first to its
// last base; the class probabilities are averaged over the tiles.
class ReadClassifier {
 public:
  ReadClassifier(model::GermModel model, std::shared_ptr<tokenize::Tokenizer> tokenizer, int64_t tile_bases,
                 int64_t reported_class, c10::Device device, int64_t batch_size = 64);
  // reads: normalised bases, none empty; results in the same order.
  std::vector<ReadClass> classify(const std::vector<std::string>& reads);
  int64_t tiles_run() const { return tiles_run_; }

 private:
  model::GermModel model_;
  std::shared_ptr<tokenize::Tokenizer> tokenizer_;
  int64_t tile_bases_;
  int64_t reported_class_;  // -1: the predicted class
  c10::Device device_;
  int64_t batch_size_;
  int64_t tiles_run_ = 0;
};

// Start offsets of the tiles ReadClassifier cuts a read of `length` bases into.
std::vector<int64_t> tile_starts(int64_t length, int64_t tile_bases);

}  // namespace germ::score
