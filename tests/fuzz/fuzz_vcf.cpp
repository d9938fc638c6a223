// VCF/BCF bytes -> VcfReader -> plan_variant_windows -> alt_haplotype, against a fixed
// two-contig reference: the reader either yields records or throws germ::Error, and every
// window laid out for a record keeps the invariants the scorer relies on.
#include <htslib/vcf.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "fuzz_input_file.hpp"
#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "io/vcf_reader.hpp"
#include "score/variant_windows.hpp"
#include "util/error.hpp"

namespace {

using germ_fuzz::check;

const germ::io::IndexedFasta& reference() {
  static const std::string path = [] {
    const std::string file = "/tmp/germ-fuzz-vcf-ref-" + std::to_string(::getpid()) + ".fa";
    std::ofstream out(file);
    uint32_t state = 12345;  // a fixed pseudo-random sequence with a soft-masked and an N stretch
    auto base = [&] { return "ACGT"[(state = state * 1103515245u + 12345u) >> 30]; };
    out << ">1\n";
    for (int i = 0; i < 3000; ++i) out << (i >= 1000 && i < 1100 ? 'N' : i >= 2000 && i < 2100 ? 'a' : base());
    out << "\n>chr2\n";
    for (int i = 0; i < 700; ++i) out << base();
    out << "\n";
    return file;
  }();
  static const germ::io::IndexedFasta fasta(path);
  return fasta;
}

// The whole contig as the scorer reads it on one strand (computed once per contig and strand).
const std::string& strand_bases(const std::string& contig, bool reverse) {
  static std::map<std::pair<std::string, bool>, std::string> cache;
  auto [it, fresh] = cache.try_emplace({contig, reverse});
  if (fresh) {
    const germ::io::IndexedFasta& fasta = reference();
    it->second = germ::io::normalize_bases(fasta.fetch(contig, 0, fasta.contig_length(contig)));
    if (reverse) it->second = germ::io::reverse_complement(it->second);
  }
  return it->second;
}

void check_windows(const germ::score::Variant& variant, const germ::score::VariantWindows& plan, int64_t half) {
  const auto& order = germ::score::variant_flag::in_order();
  size_t last = 0;
  for (const char* flag : plan.flags) {
    size_t at = 0;
    while (at < order.size() && order[at] != flag) ++at;
    check(at < order.size() && at >= last, "flags known, distinct, in order");
    last = at + 1;
  }
  if (plan.strands.empty()) return;
  const germ::io::IndexedFasta& fasta = reference();
  const int64_t length = fasta.contig_length(variant.contig);
  for (const auto& window : plan.strands) {
    check(window.ref_length == static_cast<int64_t>(variant.ref.size()), "REF length");
    check(window.position >= 0 && window.position + window.ref_length <= length, "REF inside the contig");
    check(window.end > window.position && window.end <= length, "window end inside the contig");
    check(window.end - window.position <= window.ref_length / 2 + half, "window no longer than asked");
    check(window.alt_index.size() == window.alt_bases.size() && !window.alt_index.empty(), "scored ALTs listed");
    const std::string lane = strand_bases(variant.contig, window.reverse).substr(0, window.end);
    for (size_t a = 0; a < window.alt_bases.size(); ++a) {
      check(window.alt_index[a] < variant.alts.size(), "ALT index in range");
      const std::string& alt = window.alt_bases[a];
      const std::string haplotype = germ::score::alt_haplotype(lane, window.position, window.ref_length, alt, window.end);
      check(haplotype.compare(0, window.position, lane, 0, window.position) == 0, "left flank is the reference");
      check(haplotype.compare(window.position, alt.size(), alt) == 0, "ALT in place of REF");
      const int64_t right = window.end - window.position - window.ref_length;
      check(haplotype.compare(window.position + alt.size(), right, lane, window.position + window.ref_length, right) == 0,
            "right flank is the reference");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int64_t half = 1 + data[0] % 64;
  const bool both_strands = data[0] & 0x80;
  bcf1_t* record = bcf_init();
  try {
    germ::io::VcfReader reader(germ_fuzz::input_file(data + 1, size - 1));
    reader.declare_contigs(reference().contigs());
    for (int n = 0; n < 1000 && reader.next(record); ++n) {
      bcf_unpack(record, BCF_UN_STR);
      germ::score::Variant variant;
      variant.contig = bcf_hdr_id2name(reader.header(), record->rid);
      variant.position = record->pos;
      variant.ref = record->d.allele[0];
      for (int a = 1; a < record->n_allele; ++a) variant.alts.emplace_back(record->d.allele[a]);
      check_windows(variant, germ::score::plan_variant_windows(variant, reference(), half, both_strands), half);
    }
  } catch (const germ::Error&) {
  }
  bcf_destroy(record);
  return 0;
}
