#pragma once
#include <string>
#include <string_view>

namespace germ::io {

// Characters a sequence line may hold: the IUPAC nucleotide letters (ACGTU RYSWKM BDHV N) in
// either case, 'X' as a hard-mask synonym for N, and the gap/stop symbols '-', '.' and '*'
// (alignment-style FASTA such as the phiX174 collections uses '.' for gaps).
bool is_sequence_char(char c);

// Upper-case A/C/G/T (U counts as T); every other accepted character becomes 'N'. Characters
// that is_sequence_char() rejects also become 'N', so the result is always over {A,C,G,T,N}.
std::string normalize_bases(std::string_view bases);
void normalize_bases_in_place(std::string& bases);

// Reverse complement of normalised bases (anything but A/C/G/T becomes N).
std::string reverse_complement(std::string_view bases);

// A byte as it should appear in an error message: the character in quotes when printable,
// otherwise its hex code ("byte 0x00"), so binary garbage never corrupts a terminal.
std::string describe_char(char c);

}  // namespace germ::io
