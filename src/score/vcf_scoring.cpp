#include "score/vcf_scoring.hpp"

#include <htslib/vcf.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <set>

#include "io/indexed_fasta.hpp"
#include "io/region.hpp"
#include "io/vcf_reader.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::score {
namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();

struct RecordDeleter {
  void operator()(bcf1_t* record) const { bcf_destroy(record); }
};
using Record = std::unique_ptr<bcf1_t, RecordDeleter>;

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

std::vector<io::Region> requested_regions(const VcfScoreOptions& options, const io::IndexedFasta& reference) {
  std::vector<io::Region> regions;
  if (!options.region.empty())
    regions.push_back(io::parse_region(options.region, [&](const std::string& name) { return reference.has_contig(name); }));
  if (!options.regions_file.empty())
    for (io::Region& region : io::read_regions_file(options.regions_file)) {
      if (!reference.has_contig(region.contig))
        throw Error(options.regions_file, "contig '" + region.contig + "' is not in the reference " + options.reference);
      region.end = std::min(region.end, reference.contig_length(region.contig));
      regions.push_back(region);
    }
  for (io::Region& region : regions) region = reference.resolve(region);
  return regions;
}

bool uses(const VcfScoreOptions& options, LlrMethod method) {
  return std::find(options.methods.begin(), options.methods.end(), method) != options.methods.end();
}

// The INFO fields of a run, in output order, with their header definitions.
struct FieldLayout {
  std::vector<VariantField> fields;
  int window = -1, site = -1, forward = -1, reverse = -1;  // indices into fields (-1: absent)
};

FieldLayout field_layout(const VcfScoreOptions& o) {
  FieldLayout layout;
  const bool site = uses(o, LlrMethod::kSite), window = uses(o, LlrMethod::kWindow);
  const std::string model = " under the causal DNA LM " + o.model + ", natural log (nats)";
  if (site) {
    const std::string what = "germ site variant effect: log P(ALT base) - log P(REF base) at the variant position";
    layout.site = static_cast<int>(layout.fields.size());
    layout.fields.push_back({"GERM_SITE_LLR", what + model +
                                                  ", mean of the forward reading (left context) and the "
                                                  "reverse-complement reading (right context); SNVs only (see "
                                                  "GERM_FLAG NOT_SNV). Negative: the ALT is less likely"});
    if (o.strand_values) {
      layout.forward = static_cast<int>(layout.fields.size());
      layout.fields.push_back({"GERM_SITE_LLR_FWD", what + model + ", forward reading (left context) only"});
      layout.reverse = static_cast<int>(layout.fields.size());
      layout.fields.push_back({"GERM_SITE_LLR_REV", what + model + ", reverse-complement reading (right context) only"});
    }
  }
  const int64_t half = o.window.window / 2;
  const std::string span = o.window.downstream >= 0 && o.window.downstream < half
                               ? "summed from the variant to " + std::to_string(o.window.downstream) +
                                     " bases past the REF, within the window of " + std::to_string(o.window.window) +
                                     " bases centred on the REF"
                               : "window of " + std::to_string(o.window.window) + " bases centred on the REF";
  layout.window = static_cast<int>(layout.fields.size());
  layout.fields.push_back(
      {"GERM_LLR", "germ variant effect: log P(window carrying the ALT) - log P(reference window)" + model + ", " +
                       span + ", " + (o.window.both_strands ? "mean of both strands" : "forward strand") +
                       (window ? "" : "; only for ALTs that are not SNVs (--llr site)") +
                       ". Negative: the ALT is less likely than the reference. Missing: not scored (see GERM_FLAG)"});
  return layout;
}

struct Block {
  std::vector<Record> records;
  std::vector<Variant> variants;
  std::vector<VariantRecordValues> values;
};

// Stage 1: blocks of records that end at a segment boundary, so a segment's lanes run once.
class BlockReader {
 public:
  BlockReader(io::VcfReader& reader, const io::IndexedFasta& reference, const VcfScoreOptions& options,
              int64_t segment_bases)
      : reader_(reader), reference_(reference), options_(options), segment_(segment_bases) {}

  std::unique_ptr<Block> next() {
    auto block = std::make_unique<Block>();
    std::pair<int, int64_t> last_key{-1, -1};
    while (true) {
      Record record = take_pending();
      if (!record) break;
      const std::pair<int, int64_t> key{record->rid, record->pos / segment_};
      if ((block->records.size() >= options_.min_block_records && key != last_key) ||
          block->records.size() >= options_.max_block_records) {
        pending_ = std::move(record);
        break;
      }
      last_key = key;
      block->variants.push_back(to_variant(record.get()));
      block->records.push_back(std::move(record));
    }
    if (block->records.empty()) return nullptr;
    return block;
  }

 private:
  Record take_pending() {
    if (pending_) return std::move(pending_);
    Record record(bcf_init());
    if (!reader_.next(record.get())) return nullptr;
    return record;
  }

  Variant to_variant(bcf1_t* record) {
    bcf_unpack(record, BCF_UN_STR);
    Variant variant;
    variant.contig = bcf_hdr_id2name(reader_.header(), record->rid);
    variant.position = record->pos;
    variant.ref = record->d.allele[0];
    for (int a = 1; a < record->n_allele; ++a) variant.alts.emplace_back(record->d.allele[a]);
    if (!reference_.has_contig(variant.contig) && warned_.insert(variant.contig).second && !options_.quiet) {
      const std::string twin = prefix_twin(variant.contig, reference_);
      std::fprintf(stderr, "germ score: %s: contig '%s' is not in %s%s; its records are flagged CONTIG_MISSING\n",
                   options_.vcf.c_str(), variant.contig.c_str(), options_.reference.c_str(),
                   twin.empty() ? ""
                                : (", which has '" + twin +
                                   "' (a chr-prefix mismatch: rename with bcftools annotate --rename-chrs)")
                                      .c_str());
    }
    return variant;
  }

  io::VcfReader& reader_;
  const io::IndexedFasta& reference_;
  const VcfScoreOptions& options_;
  int64_t segment_;
  Record pending_;
  std::set<std::string> warned_;
};

// Stage 2: the methods over one block. Their reference lanes run together: with --llr site,
// the window method (for the ALTs that are not SNVs) uses the site grid, so its reference lanes
// are the site method's forward lanes (docs/score_variants.md).
class BlockScorer {
 public:
  BlockScorer(LaneWorkers& workers, const io::IndexedFasta& reference, const VcfScoreOptions& options,
              const FieldLayout& layout)
      : workers_(workers), reference_(reference), options_(options), layout_(layout),
        window_(workers, window_options(options)), site_(workers, options.site) {}

  void score(Block& block) {
    const size_t count = block.variants.size();
    block.values.assign(count, {});
    for (size_t v = 0; v < count; ++v)
      block.values[v].values.assign(layout_.fields.size(), std::vector<float>(block.variants[v].alts.size(), kNoValue));
    const bool site = uses(options_, LlrMethod::kSite);
    SharedLanes lanes;
    if (site) site_.plan(block.variants, reference_, lanes);
    WindowSubset subset = window_subset(block);
    if (!subset.variants.empty()) window_.plan(subset.variants, reference_, lanes);
    lanes.run(workers_, options_.window.lanes, &shared_windows_);
    if (site) store_sites(block, site_.collect(lanes));
    if (!subset.variants.empty()) store_windows(block, subset, window_.finish(lanes));
  }

  int64_t windows_run() const { return shared_windows_ + window_.windows_run() + site_.windows_run(); }

 private:
  static VariantScoreOptions window_options(const VcfScoreOptions& options) {
    VariantScoreOptions window = options.window;
    if (uses(options, LlrMethod::kSite)) window.segment_windows = options.site.segment_windows;
    return window;
  }

  void store_sites(Block& block, std::vector<SiteScore> sites) {
    for (size_t v = 0; v < sites.size(); ++v) {
      auto& values = block.values[v].values;
      values[layout_.site] = std::move(sites[v].mean);
      if (layout_.forward >= 0) values[layout_.forward] = std::move(sites[v].forward);
      if (layout_.reverse >= 0) values[layout_.reverse] = std::move(sites[v].reverse);
    }
  }

  // The records (and their ALTs) the window method scores.
  struct WindowSubset {
    std::vector<Variant> variants;
    std::vector<size_t> record_of;
    std::vector<std::vector<size_t>> alt_of;
  };

  // Every ALT with --llr window; with site only, the ALTs that are not SNVs (flagged NOT_SNV).
  WindowSubset window_subset(Block& block) {
    const bool all = uses(options_, LlrMethod::kWindow);
    WindowSubset subset;
    for (size_t v = 0; v < block.variants.size(); ++v) {
      const Variant& variant = block.variants[v];
      Variant part{variant.contig, variant.position, variant.ref, {}};
      std::vector<size_t> alts;
      for (size_t a = 0; a < variant.alts.size(); ++a)
        if (all || !is_site_variant(variant.ref, variant.alts[a])) part.alts.push_back(variant.alts[a]), alts.push_back(a);
      if (alts.empty()) {  // the window scorer checks (and flags) the records it gets; these it does not
        VariantWindows plan = plan_variant_windows(variant, reference_, options_.window.window / 2, false);
        for (const char* flag : plan.flags)
          if (flag != std::string(variant_flag::kEdge)) variant_flag::add(block.values[v].flags, flag);
        continue;
      }
      if (!all) variant_flag::add(block.values[v].flags, variant_flag::kNotSnv);
      subset.variants.push_back(std::move(part)), subset.record_of.push_back(v), subset.alt_of.push_back(std::move(alts));
    }
    return subset;
  }

  void store_windows(Block& block, const WindowSubset& subset, const std::vector<VariantScore>& scores) {
    for (size_t i = 0; i < subset.variants.size(); ++i) {
      VariantRecordValues& out = block.values[subset.record_of[i]];
      for (size_t j = 0; j < subset.alt_of[i].size(); ++j) out.values[layout_.window][subset.alt_of[i][j]] = scores[i].llr[j];
      for (const std::string& flag : scores[i].flags) variant_flag::add(out.flags, flag.c_str());
    }
  }

  LaneWorkers& workers_;
  const io::IndexedFasta& reference_;
  const VcfScoreOptions& options_;
  const FieldLayout& layout_;
  VariantScorer window_;
  SiteLlrScorer site_;
  int64_t shared_windows_ = 0;
};

void tally_record(VcfScoreSummary& summary, const VariantRecordValues& values) {
  ++summary.records;
  if (!values.values.empty()) {
    const size_t alts = values.values.front().size();
    summary.alts += static_cast<int64_t>(alts);
    for (size_t a = 0; a < alts; ++a) {
      bool scored = false;
      for (const auto& field : values.values) scored |= !std::isnan(field[a]);
      summary.scored += scored;
    }
  }
  if (!values.flags.empty()) ++summary.flagged_records;
  for (const std::string& flag : values.flags) ++summary.by_flag[flag];
}

}  // namespace

std::vector<LlrMethod> parse_llr_methods(const std::string& text) {
  std::vector<LlrMethod> methods;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string name = text.substr(begin, end - begin);
    LlrMethod method;
    if (name == "site") method = LlrMethod::kSite;
    else if (name == "window") method = LlrMethod::kWindow;
    else throw Error("--llr", "unknown method '" + name + "' (use site, window or site,window)");
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
    begin = end + 1;
  }
  return methods;
}

namespace {

// The pipeline every method shares: read blocks (cut at `segment_bases` boundaries) ->
// `score_block` -> write in input order.
VcfScoreSummary run_vcf_pipeline(const VcfScoreOptions& options, const std::vector<VariantField>& fields,
                                 int64_t segment_bases, const std::function<void(Block&)>& score_block,
                                 const io::IndexedFasta& reference, const VariantSink& sink) {
  const auto started = std::chrono::steady_clock::now();
  io::VcfReader reader(options.vcf, requested_regions(options, reference));
  reader.declare_contigs(reference.contigs());
  sink.open(reader.header(), fields, variant_flag::describe_all());
  BlockReader blocks(reader, reference, options, std::max<int64_t>(1, segment_bases));
  VcfScoreSummary summary;
  util::Progress progress("score --vcf", 0, "variants",
                          options.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kAuto);
  tbb::parallel_pipeline(
      static_cast<size_t>(std::max<int64_t>(1, options.blocks_in_flight)),
      tbb::make_filter<void, Block*>(tbb::filter_mode::serial_in_order,
                                     [&](tbb::flow_control& control) -> Block* {
                                       auto block = blocks.next();
                                       if (!block) control.stop();
                                       return block.release();
                                     }) &
          tbb::make_filter<Block*, Block*>(tbb::filter_mode::serial_in_order,
                                           [&](Block* block) {
                                             score_block(*block);
                                             return block;
                                           }) &
          tbb::make_filter<Block*, void>(tbb::filter_mode::serial_in_order, [&](Block* raw) {
            std::unique_ptr<Block> block(raw);
            for (size_t i = 0; i < block->records.size(); ++i) {
              sink.write(block->records[i].get(), block->values[i]);
              tally_record(summary, block->values[i]);
            }
            progress.update(static_cast<uint64_t>(summary.records));
          }));
  progress.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace

VcfScoreSummary score_vcf(LaneWorkers& workers, const VcfScoreOptions& options, const VariantSink& sink) {
  if (options.methods.empty()) throw Error("--llr", "no method given");
  io::IndexedFasta reference(options.reference);
  const FieldLayout layout = field_layout(options);
  BlockScorer scorer(workers, reference, options, layout);
  const int64_t model_window = workers.geometry().window;
  const int64_t segment = uses(options, LlrMethod::kSite) ? options.site.segment_windows * model_window
                                                           : options.window.segment_windows * model_window;
  VcfScoreSummary summary = run_vcf_pipeline(
      options, layout.fields, segment, [&](Block& block) { scorer.score(block); }, reference, sink);
  summary.windows = scorer.windows_run();
  return summary;
}

VcfScoreSummary score_vcf(MaskedMarginalScorer& scorer, const VcfScoreOptions& options, const VariantSink& sink) {
  io::IndexedFasta reference(options.reference);
  std::vector<VariantField> fields = {
      {"GERM_MM_LLR", "germ variant effect under an encoder: " + scorer.describe() +
                          ". Natural log (nats); negative: the ALT is less likely. Missing: not scored (see GERM_FLAG)"}};
  auto score_block = [&](Block& block) {
    std::vector<VariantScore> scores = scorer.score(block.variants, reference);
    block.values.resize(scores.size());
    for (size_t v = 0; v < scores.size(); ++v) {
      block.values[v].values = {std::move(scores[v].llr)};
      for (const std::string& flag : scores[v].flags) variant_flag::add(block.values[v].flags, flag.c_str());
    }
  };
  // No segment grid: a value reads only its own context, so blocks are cut by size alone.
  return run_vcf_pipeline(options, fields, int64_t{1} << 40, score_block, reference, sink);
}

}  // namespace germ::score
