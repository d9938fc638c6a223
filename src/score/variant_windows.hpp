#pragma once
// The part of variant-effect scoring that needs no model: checking a VCF record against the
// reference and laying out, per strand, the window each ALT is scored over. Kept free of
// LibTorch so that it can be fuzzed together with the VCF reader (tests/fuzz/fuzz_vcf.cpp).
#include <cstdint>
#include <string>
#include <vector>

namespace germ::io {
class IndexedFasta;
}

namespace germ::score {

// One VCF record as the scorer sees it.
struct Variant {
  std::string contig;
  int64_t position = 0;  // 0-based start of REF
  std::string ref;
  std::vector<std::string> alts;  // as written (symbolic, breakend, '*' and '.' are flagged)
};

// Why a record (or one of its ALTs) has no score, or has a caveat. These are the values of
// INFO/GERM_FLAG (docs/score_variants.md).
namespace variant_flag {
inline constexpr const char* kContigMissing = "CONTIG_MISSING";  // contig not in the reference
inline constexpr const char* kRefMismatch = "REF_MISMATCH";      // REF differs from the reference
inline constexpr const char* kNonAcgtRef = "NON_ACGT_REF";       // REF (or the reference there) is not ACGT
inline constexpr const char* kPastContigEnd = "PAST_CONTIG_END";  // REF runs past the contig end
inline constexpr const char* kSymbolicAlt = "SYMBOLIC_ALT";      // <DEL>, breakend, '*' or '.': not scored
inline constexpr const char* kNonAcgtAlt = "NON_ACGT_ALT";       // an ALT with IUPAC/N letters: not scored
inline constexpr const char* kTooLong = "TOO_LONG";               // an allele longer than half the window
inline constexpr const char* kEdge = "EDGE";  // window truncated at a contig edge (scored, truncated)
inline constexpr const char* kNotSnv = "NOT_SNV";  // --llr site: an ALT that is not an SNV (window method instead)
// Every flag, in the order GERM_FLAG lists them: record-level reasons, per-ALT ones, caveats.
const std::vector<const char*>& in_order();
// Adds `flag` to `flags` (kept distinct and in in_order()).
void add(std::vector<std::string>& flags, const char* flag);
// The GERM_FLAG header description: every flag and its meaning.
std::string describe_all();
}  // namespace variant_flag

struct VariantScore {
  std::vector<float> llr;          // per ALT, nats; NaN where that ALT has no score
  std::vector<std::string> flags;  // distinct reasons, in variant_flag::in_order()
};

// One variant read on one strand, in that strand's coordinates (the reverse strand counts from
// the contig end, so its causal reading goes right to left in genome terms).
struct StrandWindow {
  bool reverse = false;
  int64_t position = 0, ref_length = 0, end = 0;  // REF start, REF length, scoring window end
  std::vector<size_t> alt_index;                  // which ALTs of the record are scored
  std::vector<std::string> alt_bases;             // in this strand's orientation
};

struct VariantWindows {
  std::vector<const char*> flags;     // raised for the record, in variant_flag::in_order()
  std::vector<StrandWindow> strands;  // empty when no ALT can be scored
};

// Checks `variant` against the reference and lays out its scoring windows: [c - half, c + half)
// around the REF centre c, clipped to the contig (flagged EDGE), forward strand first.
VariantWindows plan_variant_windows(const Variant& variant, const io::IndexedFasta& reference, int64_t half_window,
                                    bool both_strands);

// The ALT reading of a lane: `lane` (the reference bases of this strand from the lane's start)
// up to `at`, then ALT in place of the `ref_length` REF bases, then the reference to `end`
// (both offsets from the lane start): the flanks match base for base, an indel only shifts the
// right flank.
std::string alt_haplotype(const std::string& lane, int64_t at, int64_t ref_length, const std::string& alt,
                          int64_t end);

}  // namespace germ::score
