#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/labelled_sequences.hpp"
#include "model/model_store.hpp"

namespace germ::train {

// A labelled set tokenized the way the classifier reads it ([CLS] tokens [SEP], truncated to
// the model's max_length).
struct EncodedSet {
  std::string path;
  std::vector<std::vector<int64_t>> tokens;
  std::vector<int64_t> labels;
  int64_t truncated = 0;  // sequences longer than max_length tokens
};
EncodedSet encode_labelled_set(const io::LabelledSet& set, const tokenize::Tokenizer& tokenizer, int64_t max_tokens);

// A classifier with `label_names.size()` classes on top of an encoder: every weight the two
// share (embeddings, layers) is copied; the pooler and classifier are new (BERT init). A
// classifier base with the same number of classes is taken as it is (continued fine-tuning,
// its pooling kept); a new head reads the sequence as `pooling` says.
model::ModelBundle make_classifier(const model::ModelBundle& base, const std::vector<std::string>& label_names,
                                   const std::string& base_path, model::Pooling pooling = model::Pooling::kCls);

// Class names for a GUE directory: its labels.tsv ("id<TAB>name", as scripts/make_tasks.py
// writes) when present, otherwise "0", "1", ...
std::vector<std::string> label_names_for(const std::string& data_path, int64_t num_labels);

}  // namespace germ::train
