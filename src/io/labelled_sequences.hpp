#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace germ::io {

// One row of a classification dataset: bases exactly as given (validated DNA) and a label.
struct LabelledSequence {
  std::string bases;
  int64_t label = 0;
  int64_t line = 0;  // 1-based line (CSV) or record number (FASTA), for messages
};

struct LabelledSet {
  std::string path;
  std::vector<LabelledSequence> rows;
  int64_t num_labels = 0;  // max label + 1, or the bound the caller gave
};

// A GUE-style CSV (plain or gzip): header "sequence,label", one row per sequence, integer
// labels 0..num_labels-1. `num_labels` <= 0 infers it from the data. The 3-column pair form
// "seq1,seq2,label" is rejected with a clear message; bad rows (non-DNA, missing or
// non-integer label, label out of range) are errors naming the file and line.
LabelledSet read_labelled_csv(const std::string& path, int64_t num_labels = 0);

// FASTA records labelled by a two-column TSV "name<TAB>label" (a header line "name label" or
// starting with '#' is skipped). Every record needs a label; labels of absent records are errors.
LabelledSet read_labelled_fasta(const std::string& fasta_path, const std::string& labels_path,
                                int64_t num_labels = 0);

// One split of a task (the GUE layout: DIR/train.csv, DIR/dev.csv, DIR/test.csv): DIR/<split>.csv, or else DIR/<split>.fa (or .fa.gz, .fasta) labelled by
// DIR/<split>.labels.tsv; a path that is a file is read as a CSV (or, for a FASTA file, with the
// labels TSV beside it named <file without .fa/.fasta[.gz]>.labels.tsv).
LabelledSet read_labelled_split(const std::string& path, const std::string& split, int64_t num_labels = 0);

}  // namespace germ::io
