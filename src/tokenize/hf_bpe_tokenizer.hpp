#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/tokenizer.hpp"

namespace germ::tokenize {

// The BPE model of a Hugging Face `tokenizer.json` (the `tokenizers` library), as DNABERT-2
// and GERM ship it: a vocabulary, a ranked merge list and the Whitespace pre-tokenizer.
// Encoding gives the same ids as `tokenizers` on the same text (docs/tokenizers.md, "hf-bpe"):
// each word starts as one symbol per character ([UNK] for characters outside the vocabulary),
// then the adjacent pair of lowest merge rank, leftmost first, is merged until none is left.
class HfBpeTokenizer : public Tokenizer {
 public:
  // Parses and validates a tokenizer.json. Anything germ would encode differently from
  // `tokenizers` (byte-level or other pre-tokenizers, normalizers, subword prefixes, dropout,
  // byte fallback) and special tokens that are not germ's ids 0-4 are refused:
  // germ::Error(subject, problem).
  static HfBpeTokenizer from_tokenizer_json(const std::string& text, const std::string& subject = "tokenizer");

  std::string kind() const override { return "hf-bpe"; }
  int64_t vocab_size() const override;
  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string token_text(int64_t id) const override;
  // {"kind":"hf-bpe","vocab_size":N,"tokenizer_json":"<the tokenizer.json text>"}: the file
  // itself, so a model file can give it back to Hugging Face tooling unchanged.
  std::string serialize() const override;

  // The id of a vocabulary entry, or kUnkId.
  int64_t token_id(std::string_view text) const;
  size_t merge_count() const;
  const std::string& tokenizer_json() const;

 private:
  struct Model;
  explicit HfBpeTokenizer(std::shared_ptr<const Model> model) : model_(std::move(model)) {}
  std::shared_ptr<const Model> model_;
};

}  // namespace germ::tokenize
