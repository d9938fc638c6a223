#pragma once
#include <ATen/core/Tensor.h>

#include <random>
#include <string>
#include <vector>

namespace germ::tokenize {
class Tokenizer;
}

namespace germ::train {

// Ignored positions in label tensors (PyTorch's default ignore_index).
inline constexpr int64_t kIgnoreLabel = -100;

struct Batch {
  at::Tensor input_ids;       // [B, L] int64
  at::Tensor attention_mask;  // [B, L] int64, undefined when there is no padding
  at::Tensor labels;          // [B, L] int64 with kIgnoreLabel where no loss is taken
  int64_t tokens = 0;         // positions that carry a label
  int64_t bases = 0;          // input bases in the batch
};

// Causal LM over nucleotides: windows of L+1 bases give inputs [0, L) and next-base labels
// [1, L]; N is never a target.
Batch make_clm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer);

// BERT masking over tokenized windows: [CLS] tokens [SEP] [PAD]..., `mask_fraction` of the
// ordinary tokens chosen, of which 80% become [MASK], 10% a random token, 10% stay.
Batch make_mlm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer,
                     int64_t max_tokens, double mask_fraction, std::mt19937_64& rng);
// The same with each window masked by its own generator, seeded by `sample_seeds[b]`: a window
// is masked identically in whichever batch or process it lands (data-parallel training).
Batch make_mlm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer,
                     int64_t max_tokens, double mask_fraction, const std::vector<uint64_t>& sample_seeds);

}  // namespace germ::train
