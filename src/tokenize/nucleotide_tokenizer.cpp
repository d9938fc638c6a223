#include "tokenize/nucleotide_tokenizer.hpp"

#include <nlohmann/json.hpp>

namespace germ::tokenize {

std::vector<int64_t> NucleotideTokenizer::encode(std::string_view bases) const {
  std::vector<int64_t> ids(bases.size());
  encode_into(bases, ids.data());
  return ids;
}

std::string NucleotideTokenizer::decode(const std::vector<int64_t>& ids) const {
  return decode_with(ids, kVocabSize,
                     [](int64_t id) { return kBases[static_cast<size_t>(id - kFirstBaseId)]; });
}

std::string NucleotideTokenizer::token_text(int64_t id) const {
  if (id < 0 || id >= kVocabSize) throw_id_out_of_range(id, kVocabSize);
  if (is_special_token(id)) return kSpecialTokenTexts[id];
  return std::string(1, kBases[static_cast<size_t>(id - kFirstBaseId)]);
}

std::string NucleotideTokenizer::serialize() const {
  return nlohmann::json{{"kind", kind()}, {"vocab_size", kVocabSize}}.dump();
}

}  // namespace germ::tokenize
