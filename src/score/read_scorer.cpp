#include "score/read_scorer.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "model/token_batch.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

using tokenize::NucleotideTokenizer;
constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// 0-3 for A, C, G, T (the columns of base_log_probs), -1 for anything else.
int base_column(char base) {
  int64_t column = NucleotideTokenizer::id_of(base) - NucleotideTokenizer::kFirstBaseId;
  return column >= 0 && column < 4 ? static_cast<int>(column) : -1;
}

}  // namespace

ReadLikelihoodScorer::ReadLikelihoodScorer(model::GermModel model, model::FocusAdapter adapter,
                                           model::FocusGeometry geometry, int64_t tokens_per_forward)
    : model_(model),
      lane_scorer_(model, std::move(adapter), geometry, /*lanes=*/8),
      window_(geometry.window),
      tokens_per_forward_(std::max<int64_t>(1, tokens_per_forward)) {
  model_->eval();
}

std::vector<ReadLikelihood> ReadLikelihoodScorer::score(const std::vector<std::string>& reads) {
  c10::InferenceMode inference;
  std::vector<ReadLikelihood> out(reads.size(), ReadLikelihood{kNoValue, 0});
  std::vector<size_t> short_reads, long_reads;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].size() < 2) continue;  // nothing before the only base: no value
    (static_cast<int64_t>(reads[i].size()) <= window_ ? short_reads : long_reads).push_back(i);
  }

  // Shortest first, so that each forward pads its reads only up to a similar length.
  auto length_of = [&](size_t i) { return static_cast<int64_t>(reads[i].size()); };
  std::stable_sort(short_reads.begin(), short_reads.end(),
                   [&](size_t a, size_t b) { return length_of(a) < length_of(b); });
  for (size_t begin = 0; begin < short_reads.size();) {
    size_t end = begin + 1;  // the batch's longest read is its last
    while (end < short_reads.size() &&
           static_cast<int64_t>(end - begin + 1) * length_of(short_reads[end]) <= tokens_per_forward_)
      ++end;
    score_together(reads, std::vector<size_t>(short_reads.begin() + begin, short_reads.begin() + end), out);
    begin = end;
  }

  if (long_reads.empty()) return out;
  std::vector<ScoreJob> jobs;
  for (size_t i : long_reads) jobs.push_back(ScoreJob{reads[i], 0});
  std::vector<ScoreResult> results = lane_scorer_.run(jobs);
  for (size_t j = 0; j < long_reads.size(); ++j) {
    double sum = 0;
    int64_t counted = 0;
    for (float value : results[j].log_likelihood)
      if (!std::isnan(value)) sum += value, ++counted;
    out[long_reads[j]] = ReadLikelihood{counted ? sum / counted : kNoValue, counted};
  }
  long_reads_ += static_cast<int64_t>(long_reads.size());
  return out;
}

void ReadLikelihoodScorer::score_together(const std::vector<std::string>& reads, const std::vector<size_t>& members,
                                          std::vector<ReadLikelihood>& out) {
  const int64_t batch = static_cast<int64_t>(members.size());
  int64_t length = 0;
  for (size_t i : members) length = std::max<int64_t>(length, static_cast<int64_t>(reads[i].size()));
  // Padding after a read's end is never seen by its own positions (causal mask); N is as good as any id.
  at::Tensor ids = at::full({batch, length}, NucleotideTokenizer::id_of('N'), at::kLong);
  for (int64_t b = 0; b < batch; ++b)
    NucleotideTokenizer::encode_into(reads[members[b]], ids.data_ptr<int64_t>() + b * length);
  // Row p predicts base p + 1; the last row predicts nothing that exists.
  at::Tensor hidden = model_->hidden_states(ids).slice(1, 0, length - 1);
  at::Tensor log_probs = model::base_log_probs(model_, hidden).contiguous();
  ++forwards_run_;
  auto lp = log_probs.accessor<float, 3>();
  for (int64_t b = 0; b < batch; ++b) {
    const std::string& bases = reads[members[b]];
    double sum = 0;
    int64_t counted = 0;
    for (size_t position = 1; position < bases.size(); ++position) {
      int observed = base_column(bases[position]);
      if (observed < 0) continue;
      sum += lp[b][position - 1][observed];
      ++counted;
    }
    out[members[b]] = ReadLikelihood{counted ? sum / counted : kNoValue, counted};
  }
}

std::vector<int64_t> tile_starts(int64_t length, int64_t tile_bases) {
  if (length <= tile_bases) return {0};
  const int64_t tiles = (length + tile_bases - 1) / tile_bases, last = length - tile_bases;
  std::vector<int64_t> starts(tiles);
  for (int64_t i = 0; i < tiles; ++i) starts[i] = (i * last + (tiles - 1) / 2) / (tiles - 1);
  return starts;
}

ReadClassifier::ReadClassifier(model::GermModel model, std::shared_ptr<tokenize::Tokenizer> tokenizer,
                               int64_t tile_bases, int64_t reported_class, c10::Device device, int64_t batch_size)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      tile_bases_(tile_bases),
      reported_class_(reported_class),
      device_(device),
      batch_size_(std::max<int64_t>(1, batch_size)) {
  if (tile_bases_ < 1) throw Error("--window", "a classifier's read tiles must be at least 1 base");
  if (reported_class_ >= model_->config().num_labels) throw Error("--class", "not a class of the model");
  model_->to(device_);
}

std::vector<ReadClass> ReadClassifier::classify(const std::vector<std::string>& reads) {
  std::vector<std::vector<int64_t>> tiles;
  std::vector<size_t> read_of_tile;
  const int64_t max_tokens = model_->config().max_length;
  for (size_t i = 0; i < reads.size(); ++i) {
    const int64_t length = static_cast<int64_t>(reads[i].size());
    for (int64_t start : tile_starts(length, tile_bases_)) {
      std::string_view tile = std::string_view(reads[i]).substr(start, tile_bases_);
      tiles.push_back(model::frame_sequence(*tokenizer_, model::ModelKind::kClassifier, tile, max_tokens));
      read_of_tile.push_back(i);
    }
  }
  // Batches pad to their longest tile: group tiles of similar token counts.
  std::vector<size_t> order(tiles.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tiles[a].size() < tiles[b].size(); });
  std::vector<std::vector<int64_t>> sorted;
  sorted.reserve(tiles.size());
  for (size_t t : order) sorted.push_back(std::move(tiles[t]));
  at::Tensor probabilities = model::class_probabilities(model_, sorted, batch_size_, device_);
  tiles_run_ += static_cast<int64_t>(sorted.size());

  const int64_t classes = model_->config().num_labels;
  at::Tensor sums = at::zeros({static_cast<int64_t>(reads.size()), classes}, at::kDouble);
  at::Tensor counts = at::zeros({static_cast<int64_t>(reads.size()), 1}, at::kDouble);
  std::vector<int64_t> owner_of_row(order.size());
  for (size_t j = 0; j < order.size(); ++j) owner_of_row[j] = static_cast<int64_t>(read_of_tile[order[j]]);
  at::Tensor owners = at::tensor(owner_of_row, at::kLong);
  sums.index_add_(0, owners, probabilities.to(at::kDouble));
  counts.index_add_(0, owners, at::ones({static_cast<int64_t>(order.size()), 1}, at::kDouble));
  at::Tensor mean = (sums / counts).contiguous();
  auto view = mean.accessor<double, 2>();

  std::vector<ReadClass> out(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (view[i][c] > view[i][best]) best = c;
    out[i].label = best;
    out[i].probability = static_cast<float>(view[i][reported_class_ >= 0 ? reported_class_ : best]);
  }
  return out;
}

}  // namespace germ::score
