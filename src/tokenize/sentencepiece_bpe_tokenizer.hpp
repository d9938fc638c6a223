#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/tokenizer.hpp"

namespace germ::tokenize {

struct BpeTrainingOptions {
  // Longest merged token, in bases (SentencePiece's max_sentencepiece_length).
  int max_token_length = 16;
  // Sentences sampled for training (0 = all). SentencePiece requires more than 100 when set;
  // the sample is reproducible through `seed`.
  int64_t sample_sentences = 0;
  unsigned int seed = 42;
  // When the corpus cannot fill the vocabulary, train a smaller one instead of failing.
  bool allow_smaller_vocab = false;
};

// Byte-pair encoding learnt by SentencePiece (model_type=bpe) over normalised bases, with the
// specials at ids 0-4. All SentencePiece work happens in the dlopen'ed module
// (sentencepiece_module.hpp); this class only holds the serialized model and a handle.
class SentencePieceBpeTokenizer : public Tokenizer {
 public:
  static constexpr int64_t kDefaultVocabSize = 4096;

  // Deterministic: the same sentences and options give a byte-identical model. Sentences must
  // be uppercase ACGTN. Throws germ::Error("tokenizer", ...), e.g. when the corpus cannot
  // reach `vocab_size` (the message says the largest size it supports).
  static SentencePieceBpeTokenizer train(const std::vector<std::string>& sentences,
                                         int64_t vocab_size = kDefaultVocabSize,
                                         const BpeTrainingOptions& options = {});

  // From a serialized SentencePiece ModelProto; throws germ::Error("tokenizer", ...) when it
  // does not parse or lacks germ's special tokens at ids 0-4.
  explicit SentencePieceBpeTokenizer(std::string serialized_model);

  std::string kind() const override { return "sentencepiece-bpe"; }
  int64_t vocab_size() const override;
  std::vector<int64_t> encode(std::string_view bases) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string token_text(int64_t id) const override;
  // {"kind":"sentencepiece-bpe","vocab_size":N,"model":"<base64 ModelProto>"}
  std::string serialize() const override;

  const std::string& serialized_model() const;
  // The id of a token text, or kUnkId when it is not in the vocabulary.
  int64_t token_id(std::string_view text) const;

 private:
  struct Model;
  std::shared_ptr<const Model> model_;
};

}  // namespace germ::tokenize
