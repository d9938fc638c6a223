#pragma once
#include <string>
#include <vector>

#include "train/genome_corpus.hpp"

namespace germ::train {

// How the training windows are shared among the input files (docs/pretrain.md).
//
// Default (decision): a file's share is proportional to the square root of its training bases,
// so one 54 Mb bacterial collection does not drown ten 1-2 Mb human files (on corpus/train:
// human 10% of the bases, 21% of the windows).
//
// With a weights file (`--weights`), each line `PATTERN<TAB>WEIGHT` is a group: the files whose
// path or file name matches the shell glob PATTERN (the first matching line wins) share WEIGHT,
// split among them by the square-root rule; weights are relative. A file that no line matches,
// a line that matches no file, or a weight that is negative or not a number is an error.
struct SamplingWeights {
  std::vector<double> file_share;  // per GenomeCorpus::files entry; sums to 1
  std::vector<std::string> group;  // per file: the pattern of its line, or "sqrt(bases)"
  std::vector<std::string> files;
  // The largest groups (or files, without a weights file) and their shares, for the log.
  std::string summary() const;
};

SamplingWeights sampling_weights(const GenomeCorpus& corpus, const std::string& sampling_weights);

}  // namespace germ::train
