#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "model/config.hpp"
#include "model/transformer.hpp"

namespace germ::tokenize {
class Tokenizer;
}

namespace germ::model {

// Token ids as a model of `kind` reads one sequence: encoders and classifiers see
// [CLS] tokens [SEP], a causal LM the bare tokens. Longer inputs keep their first
// `max_tokens` (the framing tokens included), as DNABERT-2's pipelines truncate.
std::vector<int64_t> frame_sequence(const tokenize::Tokenizer& tokenizer, ModelKind kind,
                                    std::string_view normalised_bases, int64_t max_tokens);

struct TokenBatch {
  at::Tensor ids;             // [B, L] int64, [PAD] after each sequence's end
  at::Tensor attention_mask;  // [B, L] int64, 1 token / 0 padding
};

// Right-pads to the longest sequence of the batch.
TokenBatch pad_token_batch(const std::vector<std::vector<int64_t>>& sequences);

// A classifier's softmax class probabilities [N, K] (float32, CPU) in input order, batched,
// without gradients; the model's train/eval mode is restored afterwards.
at::Tensor class_probabilities(GermModel& model, const std::vector<std::vector<int64_t>>& tokens,
                               int64_t batch_size, c10::Device device);
// The most probable class of each row of class_probabilities' output.
std::vector<int64_t> predicted_classes(const at::Tensor& probabilities);

}  // namespace germ::model
