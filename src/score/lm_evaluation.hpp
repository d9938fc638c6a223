#pragma once
#include <string>
#include <vector>

#include "io/region.hpp"
#include "score/fasta_scorer.hpp"
#include "score/lane_scorer.hpp"
#include "score/lm_eval_report.hpp"
#include "score/markov_chain.hpp"

namespace germ::score {

struct LmEvalOptions {
  std::vector<std::string> inputs;   // FASTA/FASTQ files (plain, gzip, bgzip)
  std::vector<io::Region> regions;   // each applies to the inputs that have its contig
  FastaScoreOptions scoring;         // lanes, segment, quiet; input, regions, track and bin are set here
  std::vector<int> baseline_orders;  // Markov orders to report (empty: no baseline)
};

// Per input file, the regions of `regions` whose contig it has, in their order. Every file
// must have at least one and every region must be in some file (checked before any scoring).
std::vector<std::vector<io::Region>> regions_per_input(const std::vector<std::string>& inputs,
                                                       const std::vector<io::Region>& regions);

// Scores every base of the inputs through the FOCUS pipeline of `germ score` (score_fasta:
// the same per-base log-likelihoods, so the same bases: every A/C/G/T base but the first of a
// contig) and, with a baseline, the same bases with each Markov order, which predicts a base
// from the longest context it has up to K bases (shorter after a contig start or an N; a
// region's context before its start is read). Memory stays bounded: both stream the input.
LmEvalReport evaluate_language_model(LaneScorer& scorer, const score::MarkovChain* baseline,
                                     const LmEvalOptions& options);

}  // namespace germ::score
