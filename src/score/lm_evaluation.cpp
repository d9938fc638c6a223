#include "score/lm_evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "io/indexed_fasta.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

// Walks one input in step with the model's values (which come in input order, positions
// rising within a contig) and scores each valued base with every baseline order. It reads the
// same contigs or regions, the latter from up to K bases earlier so a region's first bases
// have the context they have in the whole contig.
class BaselineCursor {
 public:
  BaselineCursor(const score::MarkovChain& chain, const std::vector<int>& orders, const std::string& path,
                 const std::vector<io::Region>& regions)
      : chain_(chain), orders_(orders), path_(path), reader_(open(path, regions, chain.max_order())),
        context_(chain.new_context()) {}

  // Adds -log2 P(base at contig:pos) of each order to bits[i].
  void score(const std::string& contig, int64_t pos, std::vector<double>& bits) {
    while (contig != chunk_.contig || pos >= chunk_end()) {
      if (contig == chunk_.contig) feed_until(chunk_end());
      if (!reader_.next(chunk_))
        throw Error(path_, "the Markov baseline lost track of the model's bases at " + contig + ":" +
                               std::to_string(pos + 1));
      if (chunk_.contig_start) context_.reset();
      next_ = chunk_.offset;
    }
    if (pos < next_) throw Error(path_, "the model's bases are out of order at " + contig);
    feed_until(pos);
    const int code = score::markov_base_code(chunk_.bases[pos - chunk_.offset]);
    if (code < 0) throw Error(path_, "the model scored a base that is not A/C/G/T at " + contig);
    for (size_t i = 0; i < orders_.size(); ++i) bits[i] -= chain_.log2_probability(orders_[i], context_, code);
    context_.push(code);
    next_ = pos + 1;
  }

 private:
  static io::SequenceReader open(const std::string& path, const std::vector<io::Region>& regions, int max_order) {
    if (regions.empty()) return io::SequenceReader(path);
    std::vector<io::Region> widened = regions;
    for (auto& region : widened) region.begin = std::max<int64_t>(0, region.begin - max_order);
    return io::SequenceReader(path, widened);
  }

  int64_t chunk_end() const { return chunk_.offset + static_cast<int64_t>(chunk_.bases.size()); }

  void feed_until(int64_t end) {
    for (; next_ < end; ++next_) context_.push(score::markov_base_code(chunk_.bases[next_ - chunk_.offset]));
  }

  const score::MarkovChain& chain_;
  const std::vector<int>& orders_;
  std::string path_;
  io::SequenceReader reader_;
  score::MarkovContext context_;
  io::SequenceChunk chunk_;
  int64_t next_ = 0;  // contig position of the next base the context has not seen
};

}  // namespace

std::vector<std::vector<io::Region>> regions_per_input(const std::vector<std::string>& inputs,
                                                       const std::vector<io::Region>& regions) {
  std::vector<std::vector<io::Region>> assigned(inputs.size());
  if (regions.empty()) return assigned;
  std::vector<bool> used(regions.size(), false);
  for (size_t f = 0; f < inputs.size(); ++f) {
    io::IndexedFasta fasta(inputs[f]);
    for (size_t r = 0; r < regions.size(); ++r) {
      if (!fasta.has_contig(regions[r].contig)) continue;
      assigned[f].push_back(fasta.resolve(regions[r]));
      used[r] = true;
    }
    if (assigned[f].empty()) throw Error(inputs[f], "has none of the contigs of the -r regions");
  }
  for (size_t r = 0; r < regions.size(); ++r)
    if (!used[r]) throw Error("-r/--region " + regions[r].to_string(), "the contig is in none of the inputs");
  return assigned;
}

LmEvalReport evaluate_language_model(LaneScorer& scorer, const score::MarkovChain* baseline,
                                     const LmEvalOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (baseline && !options.baseline_orders.empty() && options.baseline_orders.back() > baseline->max_order())
    throw Error("--baseline", "the Markov chain was counted up to order " + std::to_string(baseline->max_order()));
  const std::vector<int> orders = baseline ? options.baseline_orders : std::vector<int>{};
  if (baseline && std::find(options.inputs.begin(), options.inputs.end(), "-") != options.inputs.end())
    throw Error("-", "the Markov baseline reads each input beside the model; give a file, not stdin");
  const auto regions = regions_per_input(options.inputs, options.regions);
  LmEvalReport report;
  report.geometry = scorer.geometry();
  report.baseline_orders = orders;
  for (size_t f = 0; f < options.inputs.size(); ++f) {
    FastaScoreOptions scoring = options.scoring;
    scoring.input = options.inputs[f];
    scoring.regions = regions[f];
    scoring.track = TrackKind::kLogLikelihood;
    scoring.bits = false;
    scoring.bin = 1;
    std::unique_ptr<BaselineCursor> cursor;
    if (baseline) cursor = std::make_unique<BaselineCursor>(*baseline, orders, scoring.input, regions[f]);
    // One record per valued base (bin 1), in input order.
    score_fasta(scorer, scoring, [&](const std::string& contig, int64_t begin, int64_t, float value) {
      if (report.contigs.empty() || report.contigs.back().file != scoring.input ||
          report.contigs.back().contig != contig) {
        report.contigs.push_back(LmEvalTally{scoring.input, contig, 0, 0.0, std::vector<double>(orders.size(), 0.0)});
      }
      LmEvalTally& tally = report.contigs.back();
      ++tally.bases;
      tally.model_nats -= value;
      if (cursor) cursor->score(contig, begin, tally.baseline_bits);
    });
  }
  report.summarise();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace germ::score
