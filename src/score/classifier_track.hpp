#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "model/transformer.hpp"
#include "score/fasta_scorer.hpp"

namespace germ::tokenize {
class Tokenizer;
}

namespace germ::score {

// A classifier slid along each contig: windows of `window` bases every `stride` bases, the
// probability of class `class_index` per window. Records must not overlap, so each window's
// value covers the `stride` bases centred in it (the first and last windows of a contig also
// cover the flanks up to the contig's ends that no other window centres on).
struct ClassifierTrackOptions {
  std::string input;
  std::vector<io::Region> regions;
  int64_t window = 200;
  int64_t stride = 100;
  int64_t class_index = 1;
  int64_t batch_size = 64;
  double max_n_fraction = 0.1;  // windows with more N get no record
  c10::Device device = c10::Device(c10::kCPU);
  bool quiet = false;
};

struct ClassifierTrackSummary {
  int64_t bases_read = 0;
  int64_t windows = 0;  // windows classified
  int64_t records = 0;
};

// Streams the input (memory bounded by one batch of windows, whatever the contig length) and
// hands records to `sink` in input order.
ClassifierTrackSummary score_classifier_track(model::GermModel& model, const tokenize::Tokenizer& tokenizer,
                                              const ClassifierTrackOptions& options, const RecordSink& sink);

}  // namespace germ::score
