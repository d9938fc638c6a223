#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "common_options.hpp"
#include "engine/classifier_file.hpp"
#include "engine/open_model.hpp"
#include "focus_scoring.hpp"
#include "score_modes.hpp"
#include "io/indexed_fasta.hpp"
#include "io/region.hpp"
#include "model/focus_store.hpp"
#include "score/fasta_scorer.hpp"
#include "score/classifier_track.hpp"
#include "score/fidelity_report.hpp"
#include "util/runtime.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "write/track_writer.hpp"

namespace germ::cli {
namespace {

// Every option of `germ score`; the input decides which of them apply.
struct ScoreArgs {
  CommonOptions common;
  std::string input, model_path, track = "ll", output_type = "bedgraph", class_name, command_line;
  bool bits = false, both_strands = false, write_index = false, track_line = false, fake_quant = false;
  bool fidelity = false, no_prefix_reuse = false, output_type_given = false, lanes_given = false;
  bool segment_given = false;
  int64_t fidelity_windows = 4, fidelity_sequences = 32, stride = 0;
  score::FastaScoreOptions fasta;
  FocusGeometryArgs geometry;
  VariantScoreArgs variant;
};

constexpr const char* kDescription =
    "Score every base of a FASTA with a FOCUS-compressed causal DNA language model, the variants of a\n"
    "VCF (--vcf, INFO/GERM_SITE_LLR or GERM_LLR), or reads (SAM/BAM/CRAM/FASTQ input: per-read aux tags).\n\n"
    "Tracks (bedGraph: 0-based half-open, in input order; N runs have no records):\n"
    "  ll       log-likelihood of the observed base given everything before it\n"
    "           (natural log, nats; --bits for log2). Higher = more expected.\n"
    "  entropy  entropy of the predicted next-base distribution (nats or bits)\n"
    "The first base of a contig has no left context and gets no value.\n\n"
    "Examples:\n"
    "  germ score chr21.fa > chr21.ll.bedgraph\n"
    "  germ score -r chr21:30000001-31000000 --bin 100 -O z -W -o ll.bedgraph.gz chr21.fa.gz\n"
    "  germ score --track entropy --both-strands -O bigwig -o entropy.bw genome.fa\n"
    "  germ score --vcf calls.vcf.gz --ref genome.fa -r chr21 -O z -W -o scored.vcf.gz\n"
    "  germ score reads.bam -o scored.bam";

// The input, the model and the output, common to FASTA, VCF and reads.
void add_input_options(CLI::App& app, ScoreArgs& a) {
  app.add_option("input", a.input,
                 "FASTA (plain, gzip, bgzip; '-' = stdin), or reads: SAM/BAM/CRAM/FASTQ (per-read tags)");
  app.add_option("--vcf", a.variant.vcf, "Score the variants of this VCF/BCF ('-' = stdin) against --ref");
  app.add_option("--ref", a.variant.reference, "Reference FASTA for --vcf (and for CRAM reads)");
  app.add_option("-R,--regions-file", a.variant.regions_file, "--vcf: only records in these regions (BED)");
  app.add_flag("--no-prefix-reuse", a.no_prefix_reuse,
               "--vcf: score every variant from scratch (to measure what sharing the reference prefix saves)");
  app.add_option("--llr", a.variant.methods,
                 "--vcf: site (one pass per region, both strands; SNVs) | window | site,window")
      ->capture_default_str();
  app.add_flag("--strand-values", a.variant.strand_values, "--vcf --llr site: also each strand's value");
  app.add_option("--downstream", a.variant.downstream,
                 "--vcf --llr window: sum to N bases past the REF (-1: to the window end)")
      ->capture_default_str();
  app.add_option("-m,--model", a.model_path, "Model file (default: the shipped germ-focus-default model)");
}

void add_track_options(CLI::App& app, ScoreArgs& a) {
  app.add_option("--track", a.track, "ll | entropy")->capture_default_str();
  app.add_flag("--bits", a.bits, "Log base 2 instead of natural log");
  app.add_option("--bin", a.fasta.bin, "Mean over bins of N bases (aligned to multiples of N)")->capture_default_str();
  app.add_flag("--both-strands", a.both_strands, "Average with the reverse-complement pass");
  app.add_option("-O,--output-type", a.output_type,
                 "FASTA: bedgraph | z (bgzip bedGraph) | bigwig; --vcf: v | z | b | u | tsv; reads: sam | bam | cram")
      ->default_str("bedgraph / from -o");
  app.add_flag("-W,--write-index", a.write_index, "Write a tabix index (.tbi) beside a -O z output");
  app.add_flag("--track-line", a.track_line, "Start the bedGraph with a UCSC track line");
  app.add_flag("--fake-quant", a.fake_quant, "Quantized model: quantise-dequantise in fp32 instead of integer GEMMs");
}

void add_focus_options(CLI::App& app, ScoreArgs& a) {
  app.add_option("--focus-k", a.geometry.k, "Bases per focus token (default: the model's)");
  app.add_option("--window", a.geometry.window, "Bases scored per window, a multiple of --focus-k (default: the model's)");
  app.add_option("--memory", a.geometry.memory,
                 "States kept across windows; 0 = plain windowed scoring (default: the model's)");
  app.add_option("--context", a.geometry.context, "Bases re-read before each window (default: the model's)");
  app.add_option("--memory-kind", a.geometry.memory_kind,
                 "focus | none | raw (uncompressed KV cache; slow reference)");
  app.add_flag("--fidelity", a.fidelity,
               "Instead of a track: compare FOCUS with the uncompressed model on the input (L1, L2, Hellinger, "
               "JS, KL, mean |dp|)");
  app.add_option("--fidelity-windows", a.fidelity_windows, "--fidelity: windows per compared sequence")
      ->capture_default_str();
  app.add_option("--fidelity-sequences", a.fidelity_sequences, "--fidelity: sequences compared")->capture_default_str();
  app.add_option("--lanes", a.fasta.jobs_per_batch,
                 "Sequence segments batched together (default: 4 per thread, at least 8)");
  app.add_option("--segment", a.fasta.segment_windows, "Windows per segment (the fixed grid regions align to)")
      ->capture_default_str();
  app.add_option("--stride", a.stride, "Classifier models: bases between sliding windows (default --window / 2)");
  app.add_option("--class", a.class_name, "Classifier models: the class whose probability is the track (name or index; "
                                          "default: class 1)");
}

int score_variant_input(ScoreArgs& a) {
  if (!a.input.empty()) throw Error(a.input, "--vcf scores a VCF against --ref; give no other input");
  VariantScoreArgs& v = a.variant;
  v.reference = v.reference.empty() ? a.input : v.reference;
  v.model_path = a.model_path;
  v.output_type = a.output_type_given ? a.output_type : "";
  v.window = a.geometry.window;
  v.both_strands = a.both_strands;
  v.prefix_reuse = !a.no_prefix_reuse;
  if (a.segment_given) v.segment_windows = a.fasta.segment_windows;
  if (a.lanes_given) v.lanes = a.fasta.jobs_per_batch;
  v.write_index = a.write_index;
  v.fake_quant = a.fake_quant;
  v.command_line = a.command_line;
  v.common = a.common;
  return score_variants(v);
}

int score_read_input(const ScoreArgs& a) {
  ReadScoreArgs r;
  r.input = a.input;
  r.reference = a.variant.reference;
  r.model_path = a.model_path;
  r.output_type = a.output_type_given ? a.output_type : "";
  r.class_name = a.class_name;
  r.window = a.geometry.window;
  r.fake_quant = a.fake_quant;
  r.command_line = a.command_line;
  r.common = a.common;
  return score_reads(r);
}

write::TrackWriterOptions track_writer_options(const ScoreArgs& a) {
  write::TrackWriterOptions writer;
  writer.path = a.common.output;
  writer.format = write::parse_track_format(a.output_type);
  writer.write_index = a.write_index;
  if (writer.format == write::TrackFormat::kBigWig) {
    if (a.input == "-") throw Error(a.input, "bigWig output needs contig sizes; give a FASTA file, not stdin");
    writer.chrom_sizes = io::read_contig_sizes(a.input);
  }
  return writer;
}

// A classifier's track: the probability of one class over sliding windows.
int score_classifier_track(const ScoreArgs& a, const engine::ModelFile& file, write::TrackWriterOptions writer_options) {
  const quant::Execution execution = a.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
  score::ClassifierTrackOptions track;
  track.device = util::select_device(a.common.device);
  engine::LoadedModel classifier = engine::open_model(file, {execution, track.device});
  track.input = a.input;
  track.regions = a.fasta.regions;
  track.window = a.geometry.window > 0 ? a.geometry.window : engine::classifier_sequence_bases(classifier.bundle, 200);
  track.stride = a.stride > 0 ? a.stride : std::max<int64_t>(1, track.window / 2);
  track.class_index = engine::class_index(classifier.bundle, a.class_name.empty() ? "1" : a.class_name);
  track.quiet = a.common.quiet;
  const std::string& label = classifier.bundle.labels[track.class_index];
  if (a.track_line)
    writer_options.track_line = "track type=bedGraph name=\"germ P(" + label + ")\" description=\"germ score: "
                                "probability of class " + label + " per window\"";
  auto writer = write::make_track_writer(writer_options);
  auto summary = score::score_classifier_track(classifier.bundle.model, *classifier.bundle.tokenizer, track,
                                               [&](const std::string& contig, int64_t begin, int64_t end,
                                                   float value) { writer->write(contig, begin, end, value); });
  writer->commit();
  if (a.common.verbose > 0)
    std::fprintf(stderr, "germ score: %lld bases, %lld windows of %lld (stride %lld), %lld records, class %s\n",
                 static_cast<long long>(summary.bases_read), static_cast<long long>(summary.windows),
                 static_cast<long long>(track.window), static_cast<long long>(track.stride),
                 static_cast<long long>(summary.records), label.c_str());
  return 0;
}

int report_fidelity(const ScoreArgs& a, const engine::ModelFile& file) {
  LoadedFocusModel loaded = load_focus_for_scoring(file, a.fake_quant, a.geometry);
  util::OutputFile out(a.common.output);
  out.write(score::fidelity_report(loaded.focus, loaded.geometry,
                                   {a.input, a.fasta.regions, a.fidelity_windows, a.fidelity_sequences}));
  out.commit();
  return 0;
}

// A causal LM's per-base track (ll or entropy), through FOCUS.
int score_focus_track(ScoreArgs& a, const engine::ModelFile& file, write::TrackWriterOptions writer_options) {
  LoadedFocusModel loaded = load_focus_for_scoring(file, a.fake_quant, a.geometry, util::select_device(a.common.device));
  score::FastaScoreOptions& options = a.fasta;
  options.input = a.input;
  options.track = score::parse_track_kind(a.track);
  options.bits = a.bits;
  options.both_strands = a.both_strands;
  if (a.track_line)
    writer_options.track_line = "track type=bedGraph name=\"germ " + a.track + "\" description=\"germ score " +
                                a.track + (a.bits ? " (bits)" : " (nats)") + "\"";
  auto writer = write::make_track_writer(writer_options);
  if (!a.lanes_given) options.jobs_per_batch = 0;
  score::LaneScorer scorer = make_lane_scorer(loaded, options.jobs_per_batch);
  auto summary = score::score_fasta(scorer, options, [&](const std::string& contig, int64_t begin, int64_t end,
                                                         float value) { writer->write(contig, begin, end, value); });
  writer->commit();
  if (a.common.verbose > 0) {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::fprintf(stderr,
                 "germ score: %lld bases, %lld values, %lld records in %.2f s (%.0f bases/s), %lld windows, "
                 "peak RSS %.1f MiB\n",
                 static_cast<long long>(summary.bases_read), static_cast<long long>(summary.values),
                 static_cast<long long>(summary.records), summary.seconds,
                 summary.bases_read / std::max(1e-9, summary.seconds), static_cast<long long>(scorer.windows_run()),
                 usage.ru_maxrss / 1024.0);
  }
  return 0;
}

int score_input(ScoreArgs& a) {
  apply_common_options(a.common);
  a.fasta.quiet = a.common.quiet;
  if (a.model_path.empty()) a.model_path = model::default_model_path();
  if (!a.variant.vcf.empty()) return score_variant_input(a);
  if (a.input.empty()) throw Error("no input: give a FASTA, reads (SAM/BAM/CRAM/FASTQ) or --vcf");
  const bool reads_output =
      a.output_type_given && (a.output_type == "sam" || a.output_type == "bam" || a.output_type == "cram");
  if (looks_like_reads(a.input) || reads_output) return score_read_input(a);
  if (!a.common.region.empty()) a.fasta.regions.push_back(io::parse_region(a.common.region));
  write::TrackWriterOptions writer_options = track_writer_options(a);
  const engine::ModelFile file(a.model_path);
  if (file.kind() == model::ModelKind::kClassifier) return score_classifier_track(a, file, writer_options);
  if (a.fidelity) return report_fidelity(a, file);
  return score_focus_track(a, file, writer_options);
}

}  // namespace

int run_score(int argc, char** argv) {
  CLI::App app{kDescription, "germ score"};
  ScoreArgs args;
  add_common_options(app, args.common, kOutput | kThreads | kDevice | kVerbosity | kRegion);
  add_input_options(app, args);
  add_track_options(app, args);
  add_focus_options(app, args);
  return run_command(app, argc, argv, [&] {
    args.output_type_given = app.count("--output-type") > 0;
    args.lanes_given = app.count("--lanes") > 0;
    args.segment_given = app.count("--segment") > 0;
    args.variant.methods_given = app.count("--llr") > 0;
    args.command_line = command_line(argc, argv);
    return score_input(args);
  });
}

}  // namespace germ::cli
