// germ score --vcf: variant effects as INFO/GERM_LLR (docs/score_variants.md).
#include <htslib/vcf.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "io/indexed_fasta.hpp"
#include "io/region.hpp"
#include "io/vcf_reader.hpp"
#include "model/focus_store.hpp"
#include "quant/quantized_store.hpp"
#include "score/variant_effect.hpp"
#include "score/variant_writer.hpp"
#include "score_modes.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"
#include "util/progress.hpp"

namespace germ::cli {
namespace {

constexpr size_t kRecordsPerBlock = 256;
constexpr int64_t kDefaultVariantWindow = 8192;

// The reference's name for a contig spelled with or without "chr" (and chrM/MT), if any.
std::string prefix_twin(const std::string& contig, const io::IndexedFasta& reference) {
  std::vector<std::string> candidates;
  if (contig.rfind("chr", 0) == 0) candidates.push_back(contig.substr(3));
  else candidates.push_back("chr" + contig);
  if (contig == "chrM") candidates.push_back("MT");
  if (contig == "MT") candidates.push_back("chrM");
  for (const std::string& name : candidates)
    if (reference.has_contig(name)) return name;
  return "";
}

std::vector<io::Region> requested_regions(const VariantScoreArgs& args, const io::IndexedFasta& reference) {
  std::vector<io::Region> regions;
  if (!args.common.region.empty())
    regions.push_back(io::parse_region(args.common.region, [&](const std::string& name) { return reference.has_contig(name); }));
  if (!args.regions_file.empty())
    for (io::Region& region : io::read_regions_file(args.regions_file)) {
      if (!reference.has_contig(region.contig))
        throw Error(args.regions_file, "contig '" + region.contig + "' is not in the reference " + args.reference);
      region.end = std::min(region.end, reference.contig_length(region.contig));
      regions.push_back(region);
    }
  for (io::Region& region : regions) region = reference.resolve(region);
  return regions;
}

struct Tally {
  int64_t records = 0, alts = 0, scored = 0, flagged_records = 0;
  std::map<std::string, int64_t> by_flag;
};

}  // namespace

int score_variants(const VariantScoreArgs& args) {
  if (args.reference.empty())
    throw Error("--vcf", "needs --ref FASTA: the reference the variants were called against");
  if (model::peek_model_kind(args.model_path) != model::ModelKind::kCausalLm)
    throw Error(args.model_path, "variant scoring needs a causal DNA LM (germ pretrain --objective clm)");
  io::IndexedFasta reference(args.reference);
  io::VcfReader reader(args.vcf, requested_regions(args, reference));
  reader.declare_contigs(reference.contigs());

  model::FocusModel focus = model::load_focus_model(args.model_path);
  quant::attach_stored_quantization(focus.bundle, args.model_path,
                                    args.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger);
  if (focus.geometry.kind == model::MemoryKind::kFocus && !focus.has_adapter)
    focus.geometry.kind = model::MemoryKind::kNone;  // plain windowed reading, stated in the summary
  // Lanes on every thread, with single-threaded GEMMs, as in germ score on a FASTA.
  const int64_t workers = at::get_num_threads();
  if (workers > 1) util::set_blas_threads(1);
  score::LaneWorkers lane_workers(focus.bundle.model, focus.adapter, focus.geometry, workers);
  score::VariantScoreOptions options;
  options.lanes = std::max<int64_t>(options.lanes, 4 * workers);
  options.window = args.window > 0 ? args.window : kDefaultVariantWindow;
  options.both_strands = args.both_strands;
  options.prefix_reuse = args.prefix_reuse;
  score::VariantScorer scorer(lane_workers, options);

  score::VariantWriterOptions writer_options;
  writer_options.path = args.common.output;
  writer_options.format = score::parse_variant_format(args.output_type, args.common.output);
  writer_options.write_index = args.write_index;
  writer_options.command = args.command_line;
  writer_options.model = args.model_path;
  writer_options.window = options.window;
  writer_options.both_strands = args.both_strands;
  score::VariantWriter writer(writer_options, reader.header());

  std::vector<bcf1_t*> records;
  struct Cleanup {
    std::vector<bcf1_t*>& records;
    ~Cleanup() {
      for (bcf1_t* record : records) bcf_destroy(record);
    }
  } cleanup{records};
  for (size_t i = 0; i < kRecordsPerBlock; ++i) records.push_back(bcf_init());

  std::set<std::string> warned;
  Tally tally;
  util::Progress progress("score --vcf", 0, "variants",
                          args.common.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kAuto);
  const auto start = std::chrono::steady_clock::now();
  std::vector<score::Variant> block;
  while (true) {
    size_t filled = 0;
    while (filled < records.size() && reader.next(records[filled])) ++filled;
    if (filled == 0) break;
    block.assign(filled, {});
    for (size_t i = 0; i < filled; ++i) {
      bcf1_t* record = records[i];
      bcf_unpack(record, BCF_UN_STR);
      score::Variant& variant = block[i];
      variant.contig = bcf_hdr_id2name(reader.header(), record->rid);
      variant.position = record->pos;
      variant.ref = record->d.allele[0];
      for (int a = 1; a < record->n_allele; ++a) variant.alts.emplace_back(record->d.allele[a]);
      if (!reference.has_contig(variant.contig) && warned.insert(variant.contig).second && !args.common.quiet) {
        const std::string twin = prefix_twin(variant.contig, reference);
        std::fprintf(stderr, "germ score: %s: contig '%s' is not in %s%s; its records are flagged CONTIG_MISSING\n",
                     args.vcf.c_str(), variant.contig.c_str(), args.reference.c_str(),
                     twin.empty() ? ""
                                  : (", which has '" + twin +
                                     "' (a chr-prefix mismatch: rename with bcftools annotate --rename-chrs)")
                                        .c_str());
      }
    }
    std::vector<score::VariantScore> scores = scorer.score(block, reference);
    for (size_t i = 0; i < filled; ++i) {
      writer.write(records[i], scores[i]);
      ++tally.records;
      tally.alts += static_cast<int64_t>(scores[i].llr.size());
      for (float value : scores[i].llr) tally.scored += value == value;
      if (!scores[i].flags.empty()) ++tally.flagged_records;
      for (const std::string& flag : scores[i].flags) ++tally.by_flag[flag];
    }
    progress.update(static_cast<uint64_t>(tally.records));
  }
  writer.commit();
  progress.finish();
  if (!args.common.quiet) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string flags;
    for (const auto& [flag, count] : tally.by_flag) flags += (flags.empty() ? " (" : ", ") + flag + " " + std::to_string(count);
    if (!flags.empty()) flags += ")";
    std::fprintf(stderr,
                 "germ score: %lld records, %lld of %lld ALTs scored, %lld records flagged%s; %.1f s, %.2f records/s, "
                 "%lld model windows%s\n",
                 static_cast<long long>(tally.records), static_cast<long long>(tally.scored),
                 static_cast<long long>(tally.alts), static_cast<long long>(tally.flagged_records), flags.c_str(),
                 seconds, tally.records / std::max(1e-9, seconds), static_cast<long long>(scorer.windows_run()),
                 focus.has_adapter ? "" : " (no FOCUS adapter: plain windowed reading)");
  }
  return 0;
}

}  // namespace germ::cli
