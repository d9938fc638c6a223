#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/tokenizer.hpp"

namespace germ::tokenize {

namespace detail {
inline constexpr std::string_view kNucleotideBases = "ACGTN";

constexpr std::array<int64_t, 256> make_nucleotide_id_table() {
  std::array<int64_t, 256> table{};
  for (auto& id : table) id = kUnkId;
  for (size_t i = 0; i < kNucleotideBases.size(); ++i)
    table[static_cast<unsigned char>(kNucleotideBases[i])] =
        kSpecialTokenCount + static_cast<int64_t>(i);
  return table;
}
inline constexpr std::array<int64_t, 256> kNucleotideIdOfByte = make_nucleotide_id_table();
}  // namespace detail

// One token per base: the specials, then A=5, C=6, G=7, T=8, N=9.
class NucleotideTokenizer : public Tokenizer {
 public:
  static constexpr int64_t kFirstBaseId = kSpecialTokenCount;
  static constexpr std::string_view kBases = detail::kNucleotideBases;
  static constexpr int64_t kVocabSize = kFirstBaseId + 5;

  std::string kind() const override { return "nucleotide"; }
  int64_t vocab_size() const override { return kVocabSize; }
  std::vector<int64_t> encode(std::string_view bases) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string token_text(int64_t id) const override;
  std::string serialize() const override;

  // Allocation-free encoding for the scorer's streaming loop: writes bases.size() ids to `out`.
  static void encode_into(std::string_view bases, int64_t* out) {
    for (size_t i = 0; i < bases.size(); ++i)
      out[i] = detail::kNucleotideIdOfByte[static_cast<unsigned char>(bases[i])];
  }
  static int64_t id_of(char base) {
    return detail::kNucleotideIdOfByte[static_cast<unsigned char>(base)];
  }
};

}  // namespace germ::tokenize
