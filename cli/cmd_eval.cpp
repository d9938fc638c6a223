#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "common_options.hpp"
#include "engine/open_model.hpp"
#include "focus_scoring.hpp"
#include "io/labelled_sequences.hpp"
#include "io/region.hpp"
#include "model/model_store.hpp"
#include "model/token_batch.hpp"
#include "score/lm_evaluation.hpp"
#include "score/markov_chain.hpp"
#include "train/classification_metrics.hpp"
#include "train/classifier.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {

struct EvalArgs {
  std::string model_path, data, output_type = "text", baseline;
  std::vector<std::string> inputs, regions, baseline_train;
  int64_t batch_size = 64;
  bool fake_quant = false, no_memory = false;
  CommonOptions common;
};

quant::Execution execution(const EvalArgs& args) {
  return args.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
}

int evaluate_classifier(const EvalArgs& args, const engine::ModelFile& file) {
  if (args.data.empty()) throw Error(args.model_path, "is a classifier: give its labelled test set with --data");
  if (!args.inputs.empty() || !args.regions.empty() || !args.baseline.empty() || args.no_memory)
    throw Error(args.model_path, "is a classifier: FASTA inputs, -r, --baseline and --no-memory are for causal LMs");
  if (args.output_type != "text" && args.output_type != "json")
    throw Error("-O/--output-type", "'" + args.output_type + "' is not text or json (classifiers)");
  c10::Device device = util::select_device(args.common.device);
  model::ModelBundle bundle = engine::open_model(file, {execution(args), device}).bundle;
  const int64_t classes = bundle.model->config().num_labels;
  io::LabelledSet rows = io::read_labelled_split(args.data, "test", classes);
  train::EncodedSet set = train::encode_labelled_set(rows, *bundle.tokenizer, bundle.model->config().max_length);
  at::Tensor probabilities = model::class_probabilities(bundle.model, set.tokens, args.batch_size, device);
  train::ClassificationMetrics metrics = train::classification_metrics(set.labels, model::predicted_classes(probabilities), classes);
  util::OutputFile out(args.common.output);
  out.write(args.output_type == "json" ? metrics.to_json() + "\n" : metrics.to_text(bundle.labels));
  out.commit();
  return 0;
}

// Counts the Markov chains up to the highest order asked for, on both strands of every file.
std::unique_ptr<score::MarkovChain> count_baseline(const EvalArgs& args, const std::vector<int>& orders) {
  const auto started = std::chrono::steady_clock::now();
  auto chain = std::make_unique<score::MarkovChain>(orders.back());
  for (const auto& path : args.baseline_train) chain->count_file(path);
  if (chain->bases_counted() == 0) throw Error("--baseline-train", "no A/C/G/T bases to count");
  if (args.common.verbose > 0)
    std::fprintf(stderr, "germ eval: Markov chains of order 0..%d counted on %lld bases (both strands) in %.1f s\n",
                 orders.back(), static_cast<long long>(chain->bases_counted()),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return chain;
}

int evaluate_causal_lm(const EvalArgs& args, const engine::ModelFile& file) {
  if (!args.data.empty()) throw Error(args.model_path, "is a causal LM: give FASTA files, not --data");
  if (args.inputs.empty()) throw Error(args.model_path, "is a causal LM: give the FASTA files to evaluate it on");
  if (args.output_type != "text" && args.output_type != "tsv" && args.output_type != "json")
    throw Error("-O/--output-type", "'" + args.output_type + "' is not text, tsv or json");
  if (args.baseline.empty() != args.baseline_train.empty())
    throw Error("--baseline", "--baseline and --baseline-train go together");
  score::LmEvalOptions options;
  options.inputs = args.inputs;
  for (const auto& text : args.regions) options.regions.push_back(io::parse_region(text));
  if (!args.baseline.empty()) options.baseline_orders = score::parse_markov_baseline(args.baseline);
  options.scoring.quiet = args.common.quiet;
  // Regions are checked before the model is loaded and the baseline counted: minutes saved.
  score::regions_per_input(options.inputs, options.regions);
  FocusGeometryArgs geometry_args;
  if (args.no_memory) geometry_args.memory_kind = "none";
  LoadedFocusModel loaded =
      load_focus_for_scoring(file, args.fake_quant, geometry_args, util::select_device(args.common.device));
  std::unique_ptr<score::MarkovChain> baseline;
  if (!options.baseline_orders.empty()) baseline = count_baseline(args, options.baseline_orders);
  options.scoring.jobs_per_batch = 0;
  score::LaneScorer scorer = make_lane_scorer(loaded, options.scoring.jobs_per_batch);
  score::LmEvalReport report = score::evaluate_language_model(scorer, baseline.get(), options);
  report.model_path = args.model_path;
  report.baseline_train = args.baseline_train;
  report.baseline_train_bases = baseline ? baseline->bases_counted() : 0;
  util::OutputFile out(args.common.output);
  out.write(args.output_type == "json" ? report.to_json()
            : args.output_type == "tsv" ? report.to_tsv()
                                        : report.to_text());
  out.commit();
  if (args.common.verbose > 0)
    std::fprintf(stderr, "germ eval: %lld bases scored in %.1f s\n", static_cast<long long>(report.total.bases),
                 report.seconds);
  return 0;
}

}  // namespace

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate a model. A classifier: MCC, macro F1, accuracy and confusion matrix on labelled sequences.\n"
               "A causal LM: bits/base and nats/base (-log P of each base given everything before it, as\n"
               "germ score computes it) per contig, per file and in total, optionally beside order-K Markov\n"
               "chains counted on --baseline-train (both strands, add-0.5) and scored on exactly the same bases.\n\n"
               "Examples:\n"
               "  germ eval -m coding.safetensors --data tasks/yeast_coding/test.csv -O json\n"
               "  germ eval -m clm.safetensors --baseline markov:6,8,10 --baseline-train train/*.fa.gz -- heldout.fa.gz",
               "germ eval"};
  EvalArgs args;
  add_common_options(app, args.common, kOutput | kThreads | kDevice | kVerbosity);
  app.add_option("inputs", args.inputs, "Causal LMs: FASTA/FASTQ files (plain, gzip, bgzip; '-' = stdin)");
  app.add_option("-m,--model", args.model_path, "Classifier (germ finetune) or causal LM (germ pretrain)")->required();
  app.add_option("--data", args.data, "Classifiers: GUE CSV (sequence,label) or a GUE directory (its test.csv)");
  app.add_option("-O,--output-type", args.output_type, "text | json; causal LMs also tsv")->capture_default_str();
  app.add_option("-r,--region", args.regions,
                 "Causal LMs: region chr:beg-end (1-based, inclusive); repeatable, each applies to the inputs "
                 "that have its contig")
      ->allow_extra_args(false);  // one region per -r, so inputs may follow
  app.add_flag("--no-memory", args.no_memory,
               "Causal LMs: score without the FOCUS memory (each window sees only its re-read context)");
  app.add_option("--baseline", args.baseline, "Causal LMs: markov:K[,K...] (orders 0..12)");
  app.add_option("--baseline-train", args.baseline_train, "FASTA files the Markov chains are counted on")
      ->expected(1, -1);
  app.add_option("--batch-size", args.batch_size, "Classifiers: sequences per forward pass")->capture_default_str();
  app.add_flag("--fake-quant", args.fake_quant, "Quantized model: quantise-dequantise in fp32 instead of integer GEMMs");
  return run_command(app, argc, argv, [&] {
    apply_common_options(args.common);
    const engine::ModelFile file(args.model_path);
    if (file.kind() == model::ModelKind::kClassifier) return evaluate_classifier(args, file);
    if (file.kind() == model::ModelKind::kCausalLm) return evaluate_causal_lm(args, file);
    throw Error(args.model_path, "is a masked-LM encoder, not a classifier or a causal LM (what germ eval takes)");
  });
}

}  // namespace germ::cli
