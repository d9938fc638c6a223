#include "io/bases.hpp"

#include <array>
#include <cstdio>

namespace germ::io {
namespace {

// One lookup table answers both questions: 0 = not a sequence character, else the
// normalised base.
constexpr std::array<char, 256> build_normalisation_table() {
  std::array<char, 256> table{};
  constexpr std::string_view ambiguous = "RYSWKMBDHVNX";
  for (char c : ambiguous) {
    table[static_cast<unsigned char>(c)] = 'N';
    table[static_cast<unsigned char>(c - 'A' + 'a')] = 'N';
  }
  constexpr std::string_view canonical = "ACGT";
  for (char c : canonical) {
    table[static_cast<unsigned char>(c)] = c;
    table[static_cast<unsigned char>(c - 'A' + 'a')] = c;
  }
  table['U'] = table['u'] = 'T';
  table['*'] = table['-'] = table['.'] = 'N';
  return table;
}

constexpr std::array<char, 256> kNormalised = build_normalisation_table();

}  // namespace

bool is_sequence_char(char c) { return kNormalised[static_cast<unsigned char>(c)] != 0; }

void normalize_bases_in_place(std::string& bases) {
  for (char& c : bases) {
    char mapped = kNormalised[static_cast<unsigned char>(c)];
    c = mapped ? mapped : 'N';
  }
}

std::string normalize_bases(std::string_view bases) {
  std::string result(bases);
  normalize_bases_in_place(result);
  return result;
}

std::string describe_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
  char hex[16];
  std::snprintf(hex, sizeof hex, "byte 0x%02x", byte);
  return hex;
}

std::string reverse_complement(std::string_view bases) {
  std::string out(bases.rbegin(), bases.rend());
  for (char& c : out) {
    switch (c) {
      case 'A': c = 'T'; break;
      case 'C': c = 'G'; break;
      case 'G': c = 'C'; break;
      case 'T': c = 'A'; break;
      default: c = 'N';
    }
  }
  return out;
}

}  // namespace germ::io
