// germ score on reads: every record of a SAM/BAM/CRAM/FASTQ gets aux tags from the model, in
// input order, everything else kept (docs/score_reads.md).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "germ/version.hpp"
#include "io/alignment_file.hpp"
#include "model/focus_store.hpp"
#include "quant/quantized_store.hpp"
#include "score/read_scorer.hpp"
#include "score_modes.hpp"
#include "train/finetune.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/runtime.hpp"

namespace germ::cli {

bool looks_like_reads(const std::string& path) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const char* suffix : {".sam", ".bam", ".cram", ".fq", ".fastq", ".fq.gz", ".fastq.gz"})
    if (ends_with(suffix)) return true;
  return false;
}

namespace {

// Records per batch: enough reads of similar length for full forwards, bounded memory.
constexpr size_t kReadsPerBatch = 512;

// The tags of one kind of model, set on a batch of records.
class ReadTagger {
 public:
  virtual ~ReadTagger() = default;
  void tag(io::AlignmentBatch& batch) {
    std::vector<std::string> reads;
    std::vector<size_t> records;
    for (size_t i = 0; i < batch.size(); ++i) {
      std::string bases = batch.sequenced_bases(i);
      // SEQ '*' (secondary alignments often have none): no tags, and none left from an earlier run.
      if (bases.empty()) {
        for (const char* tag : tags()) batch.remove_tag(i, tag);
        continue;
      }
      reads.push_back(std::move(bases));
      records.push_back(i);
    }
    if (!reads.empty()) tag_reads(batch, records, reads);
  }
  virtual std::string summary() const = 0;

 protected:
  virtual std::vector<const char*> tags() const = 0;
  virtual void tag_reads(io::AlignmentBatch& batch, const std::vector<size_t>& records,
                         const std::vector<std::string>& reads) = 0;
};

// gl:f mean per-base log-likelihood (nats), gn:i the bases it averages.
class LikelihoodTagger : public ReadTagger {
 public:
  LikelihoodTagger(model::FocusModel& focus, const model::FocusGeometry& geometry)
      : scorer_(focus.bundle.model, focus.adapter, geometry) {}
  std::string summary() const override {
    return std::to_string(scorer_.forwards_run()) + " batched forwards, " + std::to_string(scorer_.long_reads()) +
           " reads longer than a window";
  }

 protected:
  std::vector<const char*> tags() const override { return {"gl", "gn"}; }
  void tag_reads(io::AlignmentBatch& batch, const std::vector<size_t>& records,
                 const std::vector<std::string>& reads) override {
    std::vector<score::ReadLikelihood> values = scorer_.score(reads);
    for (size_t j = 0; j < records.size(); ++j) {
      // No base with a value (one base, or all N): gn:i:0 and no gl.
      if (values[j].bases > 0)
        batch.set_tag(records[j], "gl", static_cast<float>(values[j].mean_log_likelihood));
      else
        batch.remove_tag(records[j], "gl");
      batch.set_tag(records[j], "gn", values[j].bases);
    }
  }

 private:
  score::ReadLikelihoodScorer scorer_;
};

// gc:Z the predicted class, gp:f the probability of the reported class.
class ClassTagger : public ReadTagger {
 public:
  ClassTagger(model::ModelBundle classifier, int64_t tile_bases, int64_t reported_class, c10::Device device)
      : labels_(classifier.labels),
        tile_bases_(tile_bases),
        classifier_(classifier.model, classifier.tokenizer, tile_bases, reported_class, device) {}
  std::string summary() const override {
    return std::to_string(classifier_.tiles_run()) + " tiles of up to " + std::to_string(tile_bases_) + " bases";
  }

 protected:
  std::vector<const char*> tags() const override { return {"gc", "gp"}; }
  void tag_reads(io::AlignmentBatch& batch, const std::vector<size_t>& records,
                 const std::vector<std::string>& reads) override {
    std::vector<score::ReadClass> classes = classifier_.classify(reads);
    for (size_t j = 0; j < records.size(); ++j) {
      batch.set_tag(records[j], "gc", labels_[classes[j].label]);
      batch.set_tag(records[j], "gp", classes[j].probability);
    }
  }

 private:
  std::vector<std::string> labels_;
  int64_t tile_bases_;
  score::ReadClassifier classifier_;
};

std::unique_ptr<ReadTagger> make_tagger(const ReadScoreArgs& args) {
  const quant::Execution execution = args.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
  const model::ModelKind kind = model::peek_model_kind(args.model_path);
  if (kind == model::ModelKind::kClassifier) {
    model::ModelBundle classifier = train::load_classifier(args.model_path, execution);
    int64_t tiles = args.window > 0 ? args.window : train::classifier_sequence_bases(classifier, 200);
    int64_t reported = args.class_name.empty() ? -1 : train::class_index(classifier, args.class_name);
    return std::make_unique<ClassTagger>(std::move(classifier), tiles, reported,
                                         util::select_device(args.common.device));
  }
  if (kind != model::ModelKind::kCausalLm)
    throw Error(args.model_path, std::string("is a ") + model::to_string(kind) +
                                     " model; reads are scored with a causal LM or a classifier");
  if (!args.class_name.empty()) throw Error("--class", "is for classifier models; " + args.model_path + " is not one");
  model::FocusModel focus = model::load_focus_model(args.model_path);
  quant::attach_stored_quantization(focus.bundle, args.model_path, execution);
  model::FocusGeometry geometry = focus.geometry;
  if (args.window > 0) geometry.window = args.window;
  // Reads within a window need no adapter; longer ones without one get plain windowed scoring.
  if (!focus.has_adapter) geometry.kind = model::MemoryKind::kNone;
  geometry.validate();
  return std::make_unique<LikelihoodTagger>(focus, geometry);
}

}  // namespace

int score_reads(const ReadScoreArgs& args) {
  const io::AlignmentFormat format = io::parse_alignment_format(args.output_type, args.common.output);
  io::AlignmentReader reader(args.input, args.reference);
  std::unique_ptr<ReadTagger> tagger = make_tagger(args);
  io::ProgramRecord program;
  program.version = kVersion;
  program.command_line = args.command_line;
  io::AlignmentWriter writer(args.common.output, format, reader, program, args.reference);

  const auto start = std::chrono::steady_clock::now();
  util::Progress progress("score", 0, "reads", args.common.quiet ? util::Progress::Mode::kQuiet
                                                                 : util::Progress::Mode::kAuto);
  io::AlignmentBatch batch;
  while (reader.read(batch, kReadsPerBatch)) {
    tagger->tag(batch);
    writer.write(batch);
    progress.update(static_cast<uint64_t>(reader.records_read()));
  }
  writer.commit();
  progress.finish();
  if (args.common.verbose > 0) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::fprintf(stderr, "germ score: %lld reads in %.2f s (%.0f reads/s), %s, peak RSS %.1f MiB\n",
                 static_cast<long long>(reader.records_read()), seconds, reader.records_read() / std::max(1e-9, seconds),
                 tagger->summary().c_str(), usage.ru_maxrss / 1024.0);
  }
  return 0;
}

}  // namespace germ::cli
