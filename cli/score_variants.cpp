// germ score --vcf: variant effects as INFO fields (docs/score_variants.md). Options in, one
// library call (score::score_vcf), a summary line out.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "engine/open_model.hpp"
#include "score/vcf_scoring.hpp"
#include "score_modes.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"
#include "write/variant_writer.hpp"

namespace germ::cli {
namespace {

constexpr int64_t kDefaultVariantWindow = 8192;

quant::Execution execution(const VariantScoreArgs& args) {
  return args.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
}

// "model windows" counts forward passes for an encoder.
void print_summary(const score::VcfScoreSummary& s, bool has_adapter) {
  std::string flags;
  for (const auto& [flag, count] : s.by_flag) flags += (flags.empty() ? " (" : ", ") + flag + " " + std::to_string(count);
  if (!flags.empty()) flags += ")";
  std::fprintf(stderr,
               "germ score: %lld records, %lld of %lld ALTs scored, %lld records flagged%s; %.1f s, %.2f records/s, "
               "%lld model windows%s\n",
               static_cast<long long>(s.records), static_cast<long long>(s.scored), static_cast<long long>(s.alts),
               static_cast<long long>(s.flagged_records), flags.c_str(), s.seconds,
               s.records / std::max(1e-9, s.seconds), static_cast<long long>(s.windows),
               has_adapter ? "" : " (no FOCUS adapter: plain windowed reading)");
}

// Where the records go: a write::VariantWriter opened on the reader's header when the library
// starts reading, committed (renamed into place, indexed) once scoring has succeeded.
struct VariantOutput {
  write::VariantWriterOptions options;
  std::unique_ptr<write::VariantWriter> writer;

  explicit VariantOutput(const VariantScoreArgs& args) {
    options.path = args.common.output;
    options.format = write::parse_variant_format(args.output_type, args.common.output);
    options.write_index = args.write_index;
    options.command = args.command_line;
  }
  score::VariantSink sink() {
    return {[this](auto* header, const auto& fields, const std::string& flag_description) {
              options.fields = fields;
              options.flag_description = flag_description;
              writer = std::make_unique<write::VariantWriter>(options, header);
            },
            [this](auto* record, const auto& values) { writer->write(record, values); }};
  }
  void commit() {
    if (writer) writer->commit();
  }
};

// An encoder (germ MLM, imported DNABERT-2/GERM): the masked-marginal LLR of every ALT.
int score_variants_with_encoder(const VariantScoreArgs& args, const engine::ModelFile& file,
                                const score::VcfScoreOptions& options, VariantOutput& output) {
  if (args.methods_given)
    throw Error("--llr", "applies to causal LMs; " + args.model_path + " is an encoder, scored by the masked-marginal LLR");
  model::ModelBundle bundle = engine::open_model(file, {execution(args)}).bundle;
  score::MaskedMarginalOptions encoder_options;
  encoder_options.context_bases = args.window;  // 0: fitted to the model's length
  encoder_options.model_name = args.model_path;
  score::MaskedMarginalScorer scorer(bundle, encoder_options);
  score::VcfScoreSummary summary = score::score_vcf(scorer, options, output.sink());
  output.commit();
  summary.windows = scorer.forwards_run();
  if (!args.common.quiet) {
    print_summary(summary, true);
    std::fprintf(stderr, "germ score: encoder %s, masked-marginal LLR, context %lld bases, %lld masked inputs\n",
                 args.model_path.c_str(), static_cast<long long>(scorer.context_bases()),
                 static_cast<long long>(scorer.inputs_run()));
  }
  return 0;
}

}  // namespace

int score_variants(const VariantScoreArgs& args) {
  if (args.reference.empty())
    throw Error("--vcf", "needs --ref FASTA: the reference the variants were called against");
  const engine::ModelFile file(args.model_path);
  const model::ModelKind kind = file.kind();
  if (kind != model::ModelKind::kCausalLm && kind != model::ModelKind::kEncoderMlm)
    throw Error(args.model_path, "variant scoring needs a causal DNA LM (germ pretrain --objective clm) or an encoder "
                                 "(--objective mlm, germ import); this is a " + std::string(model::to_string(kind)));
  score::VcfScoreOptions options;
  options.methods = score::parse_llr_methods(args.methods);
  options.vcf = args.vcf, options.reference = args.reference, options.model = args.model_path;
  options.region = args.common.region, options.regions_file = args.regions_file;
  options.strand_values = args.strand_values;
  options.quiet = args.common.quiet;
  VariantOutput output(args);  // -O and -W are checked before the model is read
  if (kind == model::ModelKind::kEncoderMlm) return score_variants_with_encoder(args, file, options, output);

  // Without a FOCUS adapter the geometry is plain windowed reading, stated in the summary.
  const model::FocusModel focus = engine::open_model(file, {execution(args)}).focus_model();
  // Lanes on every thread, with single-threaded GEMMs, as in germ score on a FASTA.
  const int64_t workers = at::get_num_threads();
  if (workers > 1) util::set_blas_threads(1);
  score::LaneWorkers lane_workers(focus.bundle.model, focus.adapter, focus.geometry, workers);
  const int64_t lanes = args.lanes > 0 ? args.lanes : std::max<int64_t>(8, 4 * workers);
  options.window.lanes = options.site.lanes = lanes;
  options.window.window = args.window > 0 ? args.window : kDefaultVariantWindow;
  options.window.both_strands = args.both_strands;
  options.window.prefix_reuse = args.prefix_reuse;
  options.window.downstream = args.downstream;
  if (args.segment_windows > 0) options.window.segment_windows = options.site.segment_windows = args.segment_windows;

  score::VcfScoreSummary summary = score::score_vcf(lane_workers, options, output.sink());
  output.commit();
  if (!args.common.quiet) print_summary(summary, focus.has_adapter);
  return 0;
}

}  // namespace germ::cli
