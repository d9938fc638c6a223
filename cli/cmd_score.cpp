#include <sys/resource.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "common_options.hpp"
#include "focus_scoring.hpp"
#include "score_modes.hpp"
#include "io/indexed_fasta.hpp"
#include "io/region.hpp"
#include "model/focus_store.hpp"
#include "quant/quantized_store.hpp"
#include "score/fasta_scorer.hpp"
#include "score/classifier_track.hpp"
#include "score/fidelity_report.hpp"
#include "train/finetune.hpp"
#include "util/runtime.hpp"
#include "score/track_writer.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"

namespace germ::cli {
int run_score(int argc, char** argv) {
  CLI::App app{"Score every base of a FASTA with a FOCUS-compressed causal DNA language model, the variants of a\n"
               "VCF (--vcf, INFO/GERM_LLR), or reads (SAM/BAM/CRAM/FASTQ input: per-read aux tags).\n\n"
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
               "  germ score reads.bam -o scored.bam",
               "germ score"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kDevice | kVerbosity | kRegion);
  std::string input, model_path, track = "ll", output_type = "bedgraph", track_line_name;
  bool bits = false, both_strands = false, write_index = false, track_line = false;
  score::FastaScoreOptions options;
  FocusGeometryArgs geometry_args;
  int64_t& window = geometry_args.window;
  app.add_option("input", input,
                 "FASTA (plain, gzip, bgzip; '-' = stdin), or reads: SAM/BAM/CRAM/FASTQ (per-read tags)");
  VariantScoreArgs variant_args;
  app.add_option("--vcf", variant_args.vcf, "Score the variants of this VCF/BCF ('-' = stdin) against --ref");
  app.add_option("--ref", variant_args.reference, "Reference FASTA for --vcf (and for CRAM reads)");
  app.add_option("-R,--regions-file", variant_args.regions_file, "--vcf: only records in these regions (BED)");
  bool no_prefix_reuse = false;
  app.add_flag("--no-prefix-reuse", no_prefix_reuse,
               "--vcf: score every variant from scratch (to measure what sharing the reference prefix saves)");
  app.add_option("--llr", variant_args.methods,
                 "--vcf: site (one pass per region, both strands; SNVs) | window | site,window")
      ->capture_default_str();
  app.add_flag("--strand-values", variant_args.strand_values, "--vcf --llr site: also each strand's value");
  app.add_option("--downstream", variant_args.downstream,
                 "--vcf --llr window: sum to N bases past the REF (-1: to the window end)")
      ->capture_default_str();
  app.add_option("-m,--model", model_path, "Model file (default: the shipped germ-focus-default model)");
  app.add_option("--track", track, "ll | entropy")->capture_default_str();
  app.add_flag("--bits", bits, "Log base 2 instead of natural log");
  app.add_option("--bin", options.bin, "Mean over bins of N bases (aligned to multiples of N)")->capture_default_str();
  app.add_flag("--both-strands", both_strands, "Average with the reverse-complement pass");
  app.add_option("-O,--output-type", output_type,
                 "FASTA: bedgraph | z (bgzip bedGraph) | bigwig; --vcf: v | z | b | u | tsv; reads: sam | bam | cram")
      ->default_str("bedgraph / from -o");
  app.add_flag("-W,--write-index", write_index, "Write a tabix index (.tbi) beside a -O z output");
  app.add_flag("--track-line", track_line, "Start the bedGraph with a UCSC track line");
  bool fake_quant = false;
  app.add_flag("--fake-quant", fake_quant, "Quantized model: quantise-dequantise in fp32 instead of integer GEMMs");
  app.add_option("--focus-k", geometry_args.k, "Bases per focus token (default: the model's)");
  app.add_option("--window", window, "Bases scored per window, a multiple of --focus-k (default: the model's)");
  app.add_option("--memory", geometry_args.memory,
                 "States kept across windows; 0 = plain windowed scoring (default: the model's)");
  app.add_option("--context", geometry_args.context, "Bases re-read before each window (default: the model's)");
  app.add_option("--memory-kind", geometry_args.memory_kind,
                 "focus | none | raw (uncompressed KV cache; slow reference)");
  bool fidelity = false;
  int64_t fidelity_windows = 4, fidelity_sequences = 32;
  app.add_flag("--fidelity", fidelity,
               "Instead of a track: compare FOCUS with the uncompressed model on the input (L1, L2, Hellinger, "
               "JS, KL, mean |dp|)");
  app.add_option("--fidelity-windows", fidelity_windows, "--fidelity: windows per compared sequence")
      ->capture_default_str();
  app.add_option("--fidelity-sequences", fidelity_sequences, "--fidelity: sequences compared")->capture_default_str();
  app.add_option("--lanes", options.jobs_per_batch,
                 "Sequence segments batched together (default: 4 per thread, at least 8)");
  app.add_option("--segment", options.segment_windows, "Windows per segment (the fixed grid regions align to)")
      ->capture_default_str();
  int64_t stride = 0;
  std::string class_name;
  app.add_option("--stride", stride, "Classifier models: bases between sliding windows (default --window / 2)");
  app.add_option("--class", class_name, "Classifier models: the class whose probability is the track (name or index; "
                                        "default: class 1)");
  auto output_type_given = [&] { return app.count("--output-type") > 0; };
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    options.quiet = common.quiet;
    if (model_path.empty()) model_path = model::default_model_path();
    if (!variant_args.vcf.empty()) {
      if (!input.empty()) throw Error(input, "--vcf scores a VCF against --ref; give no other input");
      variant_args.reference = variant_args.reference.empty() ? input : variant_args.reference;
      variant_args.model_path = model_path;
      variant_args.output_type = output_type_given() ? output_type : "";
      variant_args.window = window;
      variant_args.both_strands = both_strands;
      variant_args.prefix_reuse = !no_prefix_reuse;
      if (app.count("--segment") > 0) variant_args.segment_windows = options.segment_windows;
      variant_args.methods_given = app.count("--llr") > 0;
      if (app.count("--lanes") > 0) variant_args.lanes = options.jobs_per_batch;
      variant_args.write_index = write_index;
      variant_args.fake_quant = fake_quant;
      variant_args.command_line = command_line(argc, argv);
      variant_args.common = common;
      return score_variants(variant_args);
    }
    if (input.empty()) throw Error("no input: give a FASTA, reads (SAM/BAM/CRAM/FASTQ) or --vcf");
    const bool reads_output = output_type_given() && (output_type == "sam" || output_type == "bam" || output_type == "cram");
    if (looks_like_reads(input) || reads_output) {
      ReadScoreArgs read_args;
      read_args.input = input;
      read_args.reference = variant_args.reference;
      read_args.model_path = model_path;
      read_args.output_type = output_type_given() ? output_type : "";
      read_args.class_name = class_name;
      read_args.window = window;
      read_args.fake_quant = fake_quant;
      read_args.command_line = command_line(argc, argv);
      read_args.common = common;
      return score_reads(read_args);
    }
    if (!common.region.empty()) options.regions.push_back(io::parse_region(common.region));
    score::TrackWriterOptions writer_options;
    writer_options.path = common.output;
    writer_options.format = score::parse_track_format(output_type);
    writer_options.write_index = write_index;
    if (writer_options.format == score::TrackFormat::kBigWig) {
      if (input == "-") throw Error(input, "bigWig output needs contig sizes; give a FASTA file, not stdin");
      writer_options.chrom_sizes = io::read_contig_sizes(input);
    }

    if (model::peek_model_kind(model_path) == model::ModelKind::kClassifier) {
      model::ModelBundle classifier =
          train::load_classifier(model_path, fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger);
      score::ClassifierTrackOptions track_options;
      track_options.input = input;
      track_options.regions = options.regions;
      track_options.window = window > 0 ? window : train::classifier_sequence_bases(classifier, 200);
      track_options.stride = stride > 0 ? stride : std::max<int64_t>(1, track_options.window / 2);
      track_options.class_index = train::class_index(classifier, class_name.empty() ? "1" : class_name);
      track_options.quiet = common.quiet;
      track_options.device = util::select_device(common.device);
      classifier.model->to(track_options.device);
      const std::string& label = classifier.labels[track_options.class_index];
      if (track_line)
        writer_options.track_line = "track type=bedGraph name=\"germ P(" + label + ")\" description=\"germ score: "
                                    "probability of class " + label + " per window\"";
      auto writer = score::make_track_writer(writer_options);
      auto summary = score::score_classifier_track(classifier.model, *classifier.tokenizer, track_options,
                                                   [&](const std::string& contig, int64_t begin, int64_t end,
                                                       float value) { writer->write(contig, begin, end, value); });
      writer->commit();
      if (common.verbose > 0)
        std::fprintf(stderr, "germ score: %lld bases, %lld windows of %lld (stride %lld), %lld records, class %s\n",
                     static_cast<long long>(summary.bases_read), static_cast<long long>(summary.windows),
                     static_cast<long long>(track_options.window), static_cast<long long>(track_options.stride),
                     static_cast<long long>(summary.records), label.c_str());
      return 0;
    }
    LoadedFocusModel loaded = load_focus_for_scoring(model_path, fake_quant, geometry_args);
    model::FocusModel& focus = loaded.focus;
    const model::FocusGeometry& geometry = loaded.geometry;

    if (fidelity) {
      util::OutputFile out(common.output);
      out.write(score::fidelity_report(focus, geometry,
                                       {input, options.regions, fidelity_windows, fidelity_sequences}));
      out.commit();
      return 0;
    }
    options.input = input;
    options.track = score::parse_track_kind(track);
    options.bits = bits;
    options.both_strands = both_strands;

    if (track_line)
      writer_options.track_line = "track type=bedGraph name=\"germ " + track + "\" description=\"germ score " +
                                  track + (bits ? " (bits)" : " (nats)") + "\"";
    auto writer = score::make_track_writer(writer_options);
    if (app.count("--lanes") == 0) options.jobs_per_batch = 0;
    score::LaneScorer scorer = make_lane_scorer(loaded, model_path, common.device, options.jobs_per_batch);
    auto summary = score::score_fasta(scorer, options, [&](const std::string& contig, int64_t begin, int64_t end,
                                                           float value) { writer->write(contig, begin, end, value); });
    writer->commit();
    if (common.verbose > 0) {
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
  });
}

}  // namespace germ::cli
