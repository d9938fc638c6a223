#include "score/variant_windows.hpp"

#include <algorithm>
#include <cctype>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

bool is_acgt(const std::string& bases) {
  for (char c : bases)
    if (c != 'A' && c != 'C' && c != 'G' && c != 'T') return false;
  return !bases.empty();
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool is_symbolic(const std::string& alt) {
  return alt.empty() || alt == "*" || alt == "." || alt.front() == '<' ||
         alt.find_first_of("[]") != std::string::npos;
}

}  // namespace

const std::vector<const char*>& variant_flag::in_order() {
  static const std::vector<const char*> order = {kContigMissing, kPastContigEnd, kNonAcgtRef, kRefMismatch,
                                                 kSymbolicAlt,   kNonAcgtAlt,     kTooLong,    kEdge,
                                                 kNotSnv};
  return order;
}

void variant_flag::add(std::vector<std::string>& flags, const char* flag) {
  const auto& order = in_order();
  auto rank = [&](const std::string& f) { return std::find(order.begin(), order.end(), f) - order.begin(); };
  if (std::find(flags.begin(), flags.end(), flag) != flags.end()) return;
  auto at = std::find_if(flags.begin(), flags.end(), [&](const std::string& f) { return rank(f) > rank(flag); });
  flags.insert(at, flag);
}

std::string variant_flag::describe_all() {
  return "germ: why an ALT has no score, or a caveat. CONTIG_MISSING: contig not in the reference; "
         "PAST_CONTIG_END: REF runs past the contig end; NON_ACGT_REF: REF or the reference there is not ACGT; "
         "REF_MISMATCH: REF differs from the reference; SYMBOLIC_ALT: symbolic, breakend, * or . ALT; "
         "NON_ACGT_ALT: ALT with other letters; TOO_LONG: allele longer than half the window; EDGE: window "
         "truncated at a contig edge (scored with the truncated window); NOT_SNV: an ALT that is not a single-base "
         "substitution has no site LLR (scored by the window method, GERM_LLR)";
}

VariantWindows plan_variant_windows(const Variant& variant, const io::IndexedFasta& reference, int64_t half_window,
                                    bool both_strands) {
  using namespace variant_flag;
  VariantWindows plan;
  std::vector<bool> raised(in_order().size(), false);
  auto raise = [&](const char* flag) {
    raised[std::find(in_order().begin(), in_order().end(), flag) - in_order().begin()] = true;
  };
  auto finish = [&] {
    for (size_t i = 0; i < in_order().size(); ++i)
      if (raised[i]) plan.flags.push_back(in_order()[i]);
    return plan;
  };
  if (!reference.has_contig(variant.contig)) {
    raise(kContigMissing);
    return finish();
  }
  const int64_t length = reference.contig_length(variant.contig);
  const std::string ref_allele = upper(variant.ref);
  const int64_t ref_length = static_cast<int64_t>(ref_allele.size());
  if (variant.position < 0 || ref_length > length || variant.position > length - ref_length) {
    raise(kPastContigEnd);
    return finish();
  }
  const std::string genome = upper(reference.fetch(variant.contig, variant.position, variant.position + ref_length));
  if (!is_acgt(ref_allele) || !is_acgt(genome)) {
    raise(kNonAcgtRef);
    return finish();
  }
  if (genome != ref_allele) {
    raise(kRefMismatch);
    return finish();
  }
  StrandWindow forward;
  forward.ref_length = ref_length;
  for (size_t a = 0; a < variant.alts.size(); ++a) {
    const std::string alt = upper(variant.alts[a]);
    if (is_symbolic(alt)) {
      raise(kSymbolicAlt);
    } else if (!is_acgt(alt)) {
      raise(kNonAcgtAlt);
    } else if (ref_length > half_window || static_cast<int64_t>(alt.size()) > half_window) {
      raise(kTooLong);
    } else {
      forward.alt_index.push_back(a);
      forward.alt_bases.push_back(alt);
    }
  }
  if (forward.alt_index.empty()) return finish();
  const int64_t centre = variant.position + ref_length / 2;
  if (centre - half_window < 0 || centre + half_window > length) raise(kEdge);
  for (bool reverse : {false, true}) {
    if (reverse && !both_strands) break;
    StrandWindow window = forward;
    window.reverse = reverse;
    window.position = reverse ? length - variant.position - ref_length : variant.position;
    if (reverse)
      for (std::string& alt : window.alt_bases) alt = io::reverse_complement(alt);
    window.end = std::min(length, window.position + ref_length / 2 + half_window);
    plan.strands.push_back(std::move(window));
  }
  return finish();
}

std::string alt_haplotype(const std::string& lane, int64_t at, int64_t ref_length, const std::string& alt,
                          int64_t end) {
  const int64_t size = static_cast<int64_t>(lane.size());
  if (at < 0 || ref_length < 0 || at + ref_length > end || end > size)
    throw Error("variant window", "ALT placed outside its lane (a bug in the window layout)");
  return lane.substr(0, at) + alt + lane.substr(at + ref_length, end - at - ref_length);
}

}  // namespace germ::score
