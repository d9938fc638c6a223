#include "score/read_tagging.hpp"

#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "engine/classifier_file.hpp"
#include "engine/open_model.hpp"
#include "score/read_scorer.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/runtime.hpp"

namespace germ::score {
namespace {

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
    std::vector<ReadLikelihood> values = scorer_.score(reads);
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
  ReadLikelihoodScorer scorer_;
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
    std::vector<ReadClass> classes = classifier_.classify(reads);
    for (size_t j = 0; j < records.size(); ++j) {
      batch.set_tag(records[j], "gc", labels_[classes[j].label]);
      batch.set_tag(records[j], "gp", classes[j].probability);
    }
  }

 private:
  std::vector<std::string> labels_;
  int64_t tile_bases_;
  ReadClassifier classifier_;
};

std::unique_ptr<ReadTagger> open_class_tagger(const engine::ModelFile& file, const ReadTaggingOptions& options,
                                              quant::Execution execution) {
  const c10::Device device = util::select_device(options.device);
  engine::LoadedModel classifier = engine::open_model(file, {execution, device});
  const model::ModelBundle& bundle = classifier.bundle;
  int64_t tiles = options.window > 0 ? options.window : engine::classifier_sequence_bases(bundle, 200);
  int64_t reported = options.class_name.empty() ? -1 : engine::class_index(bundle, options.class_name);
  return std::make_unique<ClassTagger>(bundle, tiles, reported, device);
}

// Reads within a window need no adapter; longer ones without one get plain windowed scoring.
std::unique_ptr<ReadTagger> open_likelihood_tagger(const engine::ModelFile& file, const ReadTaggingOptions& options,
                                                   quant::Execution execution) {
  model::FocusModel focus = engine::open_model(file, {execution}).focus_model();
  model::FocusGeometry geometry = focus.geometry;
  if (options.window > 0) geometry.window = options.window;
  if (!focus.has_adapter) geometry.kind = model::MemoryKind::kNone;
  geometry.validate();
  return std::make_unique<LikelihoodTagger>(focus, geometry);
}

// The batches of records in flight: owned here, lent to the pipeline's stages as pointers, so
// that an exception in any stage loses none of them.
class BatchPool {
 public:
  io::AlignmentBatch* take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) {
      owned_.push_back(std::make_unique<io::AlignmentBatch>());
      return owned_.back().get();
    }
    io::AlignmentBatch* batch = free_.back();
    free_.pop_back();
    return batch;
  }
  void give_back(io::AlignmentBatch* batch) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(batch);
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<io::AlignmentBatch>> owned_;
  std::vector<io::AlignmentBatch*> free_;
};

}  // namespace

void ReadTagger::tag(io::AlignmentBatch& batch) {
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

std::unique_ptr<ReadTagger> open_read_tagger(const ReadTaggingOptions& options) {
  const quant::Execution execution = options.fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
  const engine::ModelFile file(options.model_path);
  if (file.kind() == model::ModelKind::kClassifier) return open_class_tagger(file, options, execution);
  if (file.kind() != model::ModelKind::kCausalLm)
    throw Error(options.model_path, std::string("is a ") + model::to_string(file.kind()) +
                                        " model; reads are scored with a causal LM or a classifier");
  if (!options.class_name.empty())
    throw Error("--class", "is for classifier models; " + options.model_path + " is not one");
  return open_likelihood_tagger(file, options, execution);
}

ReadTaggingSummary tag_reads(io::AlignmentReader& reader, ReadTagger& tagger, const ReadTaggingOptions& options,
                             const TaggedBatchSink& sink) {
  const auto start = std::chrono::steady_clock::now();
  util::Progress progress("score", 0, "reads", options.quiet ? util::Progress::Mode::kQuiet : util::Progress::Mode::kAuto);
  BatchPool pool;
  ReadTaggingSummary summary;
  using Batch = io::AlignmentBatch;
  tbb::parallel_pipeline(
      static_cast<size_t>(std::max<int64_t>(1, options.batches_in_flight)),
      tbb::make_filter<void, Batch*>(tbb::filter_mode::serial_in_order,
                                     [&](tbb::flow_control& control) -> Batch* {
                                       Batch* batch = pool.take();
                                       if (reader.read(*batch, options.reads_per_batch)) return batch;
                                       pool.give_back(batch);
                                       control.stop();
                                       return nullptr;
                                     }) &
          tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::serial_in_order,
                                           [&](Batch* batch) {
                                             tagger.tag(*batch);
                                             return batch;
                                           }) &
          tbb::make_filter<Batch*, void>(tbb::filter_mode::serial_in_order, [&](Batch* batch) {
            sink(*batch);
            summary.reads += static_cast<int64_t>(batch->size());
            progress.update(static_cast<uint64_t>(summary.reads));
            pool.give_back(batch);
          }));
  progress.finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace germ::score
