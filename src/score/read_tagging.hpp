#pragma once
// germ score on reads (docs/score_reads.md): every record of a SAM/BAM/CRAM/FASTQ gets aux tags
// from the model, in input order, everything else kept. The values come from read_scorer.hpp;
// this is the record loop around it, a bounded read -> tag -> write pipeline like score_fasta's.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/alignment_file.hpp"

namespace germ::score {

struct ReadTaggingOptions {
  std::string model_path;
  bool fake_quant = false;   // a quantized model: quantise-dequantise in fp32, not integer GEMMs
  std::string device;        // --device; classifiers run there, causal LMs on the CPU
  int64_t window = 0;        // classifier tile / causal window in bases (0: the model's)
  std::string class_name;    // classifiers: the class whose probability gp:f reports (empty: the predicted)
  bool quiet = false;        // no progress line
  // Records per batch: enough reads of similar length for full forwards, bounded memory.
  size_t reads_per_batch = 512;
  // One batch read or written while the model tags another.
  int64_t batches_in_flight = 2;
};

// The tags of one kind of model, set on a batch of records: a causal LM gives gl:f (mean
// per-base log-likelihood, nats) and gn:i (the bases it averages), a classifier gc:Z (the
// predicted class) and gp:f (the probability of the reported class). A record without a
// sequence (SEQ '*') gets none, and loses any left from an earlier run.
class ReadTagger {
 public:
  virtual ~ReadTagger() = default;
  void tag(io::AlignmentBatch& batch);
  // What the model ran, for germ score -v.
  virtual std::string summary() const = 0;

 protected:
  virtual std::vector<const char*> tags() const = 0;
  virtual void tag_reads(io::AlignmentBatch& batch, const std::vector<size_t>& records,
                         const std::vector<std::string>& reads) = 0;
};

// Opens options.model_path (engine/open_model.hpp) and the tagger for its kind; germ::Error for
// a model that is neither a causal LM nor a classifier, or a --class without a classifier.
std::unique_ptr<ReadTagger> open_read_tagger(const ReadTaggingOptions& options);

struct ReadTaggingSummary {
  int64_t reads = 0;
  double seconds = 0;
};

// Receives the tagged batches in input order (e.g. write::AlignmentWriter::write).
using TaggedBatchSink = std::function<void(const io::AlignmentBatch&)>;

// Streams every record of `reader` through `tagger` into `sink`: a TBB pipeline that reads the
// next batch and writes the previous one while the model tags, in input order, with at most
// batches_in_flight batches of records in memory.
ReadTaggingSummary tag_reads(io::AlignmentReader& reader, ReadTagger& tagger, const ReadTaggingOptions& options,
                             const TaggedBatchSink& sink);

}  // namespace germ::score
