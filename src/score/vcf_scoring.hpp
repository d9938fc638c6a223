#pragma once
// germ score --vcf as a library call: read records -> score a block -> write in input order
// (a bounded TBB pipeline, as score_fasta), every record written back with its values and
// flags (docs/score_variants.md).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

typedef struct bcf_hdr_t bcf_hdr_t;
typedef struct bcf1_t bcf1_t;

#include "score/lane_tasks.hpp"
#include "score/masked_marginal.hpp"
#include "score/site_llr.hpp"
#include "score/variant_effect.hpp"
#include "io/variant_values.hpp"

namespace germ::score {

enum class LlrMethod { kSite, kWindow };
// "site", "window" or both, comma-separated ("site,window").
std::vector<LlrMethod> parse_llr_methods(const std::string& text);

struct VcfScoreOptions {
  std::string vcf;            // VCF/BCF (plain, bgzip) or "-"
  std::string reference;      // FASTA with .fai (built when missing)
  std::string region;         // -r chr:beg-end (1-based inclusive), empty: none
  std::string regions_file;   // -R BED or chr<TAB>beg<TAB>end
  std::string model;          // the model file, named in the header's field definitions
  std::vector<LlrMethod> methods = {LlrMethod::kWindow};
  bool strand_values = false;  // site: also GERM_SITE_LLR_FWD / _REV
  VariantScoreOptions window;  // the window method
  SiteLlrOptions site;         // the site method
  size_t min_block_records = 256;
  size_t max_block_records = 1 << 16;  // a block ends at a segment boundary once it holds min records
  int64_t blocks_in_flight = 2;
  bool quiet = false;
};

struct VcfScoreSummary {
  int64_t records = 0, alts = 0, scored = 0, flagged_records = 0;
  std::map<std::string, int64_t> by_flag;
  int64_t windows = 0;  // model windows run by every method
  double seconds = 0;
};

using io::VariantField;
using io::VariantRecordValues;

// Where the scored records go, in input order. The command connects it to a
// write::VariantWriter (score/ does not include write/: docs/architecture.md).
struct VariantSink {
  // Once, before the first record: the reader's header (records are read against it; the sink
  // adds its definitions to it), the per-ALT fields every record carries, and the description
  // of INFO/GERM_FLAG's values.
  std::function<void(bcf_hdr_t* header, const std::vector<VariantField>& fields, const std::string& flag_description)>
      open;
  std::function<void(bcf1_t* record, const VariantRecordValues& values)> write;
};

// Scores every record of options.vcf with the causal LM behind `workers` (options.methods).
VcfScoreSummary score_vcf(LaneWorkers& workers, const VcfScoreOptions& options, const VariantSink& sink);
// Scores every record with an encoder: the masked-marginal LLR of each ALT (INFO/GERM_MM_LLR);
// options.methods and the window/site options do not apply.
VcfScoreSummary score_vcf(MaskedMarginalScorer& scorer, const VcfScoreOptions& options, const VariantSink& sink);

}  // namespace germ::score
