#pragma once
// Variant effects under an encoder (masked LM): the masked-marginal LLR of
// docs/score_variants.md ("Encoder models: masked-marginal LLR"). The VCF driver and the
// writer are someone else's; this class only turns variants into scores.
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/transformer.hpp"
#include "score/variant_windows.hpp"

namespace germ::tokenize {
class Tokenizer;
}
namespace germ::model {
struct ModelBundle;
}

namespace germ::score {

struct MaskedMarginalOptions {
  // W: the model reads W/2 bases on each side of REF (ALT). 0: fitted to the model's
  // max_length through the tokenizer's bases per token (default_context_bases).
  int64_t context_bases = 0;
  // Bounds one forward's batch (rows x padded tokens), and so its memory (attention holds
  // heads x rows x length^2 floats per layer). On CPU one row of ~460 tokens already fills the
  // GEMMs and larger batches were slower (docs/score_variants.md); a GPU wants more.
  int64_t tokens_per_forward = 512;
  std::string model_name = "model";  // for describe()
};

// One ALT of one variant, laid out on a context window of bases: the span [span_begin,
// span_end) (window offsets, REF coordinates) is made of whole tokens in both the REF and the
// ALT tokenization of the window; the flanks around it are tokenized once and shared.
struct MaskedAllelePair {
  int64_t span_begin = 0, span_end = 0;
  std::vector<int64_t> left, right;         // flank tokens (no [CLS]/[SEP])
  std::vector<int64_t> ref_span, alt_span;  // the span's tokens with REF, with ALT
};

// Lays out REF (`ref_length` bases at `at`) against `alt` on `window` (normalised bases).
// Throws germ::Error("tokenizer", ...) if the tokenizer does not cover bases one to one.
MaskedAllelePair layout_masked_pair(const tokenize::Tokenizer& tokenizer, const std::string& window, int64_t at,
                                    int64_t ref_length, const std::string& alt);

// Mean bases per token of `tokenizer` on a fixed pseudo-random ACGT probe (4,096 bases): a
// lower bound for genomes, whose repeats give longer tokens.
double probe_bases_per_token(const tokenize::Tokenizer& tokenizer);

// The W used when MaskedMarginalOptions::context_bases is 0: the even number of bases whose
// probe tokenization fills max_length less [CLS], [SEP] and 8 tokens for the span.
int64_t default_context_bases(const tokenize::Tokenizer& tokenizer, int64_t max_length);

// LLR = sum of log p(ALT span tokens) at their [MASK]s - the same for REF, each allele's span
// masked in its own input, flanks identical (docs/score_variants.md). Flags as
// plan_variant_windows raises them, except EDGE, which here means a flank was clipped.
class MaskedMarginalScorer {
 public:
  // `model` must be an encoder-mlm; it is put in eval mode and run on `device`.
  MaskedMarginalScorer(model::GermModel model, std::shared_ptr<const tokenize::Tokenizer> tokenizer,
                       MaskedMarginalOptions options = {}, c10::Device device = c10::kCPU);
  MaskedMarginalScorer(const model::ModelBundle& bundle, MaskedMarginalOptions options = {},
                       c10::Device device = c10::kCPU);

  // One score per variant, same order. A variant's value depends only on the reference, the
  // model and the options, up to float rounding of the batch it shares (~1e-6).
  std::vector<VariantScore> score(const std::vector<Variant>& variants, const io::IndexedFasta& reference);

  // One line for the VCF header: model, method, context and span rule.
  std::string describe() const;

  int64_t context_bases() const { return context_bases_; }
  int64_t forwards_run() const { return forwards_run_; }
  int64_t inputs_run() const { return inputs_run_; }  // distinct masked inputs scored

 private:
  struct Query;
  struct Input;
  void run_inputs(const std::vector<Input>& inputs, const std::vector<Query>& queries, std::vector<double>& sums);
  void run_batch(const std::vector<Input>& inputs, const std::vector<size_t>& members,
                 const std::vector<std::vector<size_t>>& queries_of, const std::vector<Query>& queries,
                 std::vector<double>& sums);

  model::GermModel model_;
  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  MaskedMarginalOptions options_;
  c10::Device device_;
  int64_t context_bases_ = 0;
  int64_t forwards_run_ = 0;
  int64_t inputs_run_ = 0;
};

}  // namespace germ::score
