#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace germ::tokenize {

// Special tokens share the same ids in every tokenizer kind, so model code can rely on them
// without asking which tokenizer it has.
inline constexpr int64_t kUnkId = 0;
inline constexpr int64_t kClsId = 1;
inline constexpr int64_t kSepId = 2;
inline constexpr int64_t kPadId = 3;
inline constexpr int64_t kMaskId = 4;
inline constexpr int64_t kSpecialTokenCount = 5;
// Indexed by id.
inline constexpr const char* kSpecialTokenTexts[kSpecialTokenCount] = {"[UNK]", "[CLS]", "[SEP]",
                                                                       "[PAD]", "[MASK]"};

inline bool is_special_token(int64_t id) { return id >= 0 && id < kSpecialTokenCount; }

class Tokenizer {
 public:
  virtual ~Tokenizer();
  // The "kind" field of serialize(): "nucleotide", "sentencepiece-bpe", "hf-bpe".
  virtual std::string kind() const = 0;
  virtual int64_t vocab_size() const = 0;
  // `bases` are already normalised (uppercase ACGTN); anything else becomes [UNK]. No
  // [CLS]/[SEP] are added (see with_cls_sep).
  virtual std::vector<int64_t> encode(std::string_view bases) const = 0;
  // Concatenates the bases of the tokens; [CLS], [SEP], [PAD] and [MASK] contribute nothing,
  // [UNK] becomes "N". An id outside the vocabulary throws germ::Error("tokenizer", ...).
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // The text of one token: its bases, or "[CLS]" etc. for specials. Out of range throws.
  virtual std::string token_text(int64_t id) const = 0;
  // A JSON object {"kind": ..., payload} for the model file's metadata; tokenizer_from_json
  // restores an identical tokenizer from it.
  virtual std::string serialize() const = 0;
};

// Restores a tokenizer written by Tokenizer::serialize(). Bad JSON, an unknown kind or a
// corrupt payload throw germ::Error("tokenizer", reason).
std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& json);

// [CLS] ids... [SEP]: the framing the models are trained with.
std::vector<int64_t> with_cls_sep(const std::vector<int64_t>& ids);

// Shared decode rule for every kind: specials other than [UNK] vanish, [UNK] reads as "N".
// `piece_text(id)` gives the bases of a non-special id already checked against vocab_size.
template <typename PieceText>
std::string decode_with(const std::vector<int64_t>& ids, int64_t vocab_size, PieceText piece_text);

[[noreturn]] void throw_id_out_of_range(int64_t id, int64_t vocab_size);

template <typename PieceText>
std::string decode_with(const std::vector<int64_t>& ids, int64_t vocab_size, PieceText piece_text) {
  std::string bases;
  bases.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size) throw_id_out_of_range(id, vocab_size);
    if (id == kUnkId)
      bases += 'N';
    else if (!is_special_token(id))
      bases += piece_text(id);
  }
  return bases;
}

}  // namespace germ::tokenize
