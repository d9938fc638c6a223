#include "io/sequence_sample.hpp"

#include <algorithm>
#include <filesystem>
#include <random>

#include "io/bases.hpp"
#include "io/labelled_sequences.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::io {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_csv_input(const std::string& path) {
  return std::filesystem::is_directory(path) || ends_with(path, ".csv") || ends_with(path, ".csv.gz");
}

// Algorithm R: after n offers every item has been kept with probability count/n.
class Reservoir {
 public:
  Reservoir(int64_t count, uint64_t seed) : count_(count), rng_(seed) {}
  void offer(std::string item) {
    ++offered_;
    if (static_cast<int64_t>(kept_.size()) < count_) {
      kept_.emplace_back(offered_, std::move(item));
      return;
    }
    std::uniform_int_distribution<int64_t> pick(0, offered_ - 1);
    int64_t slot = pick(rng_);
    if (slot < count_) kept_[slot] = {offered_, std::move(item)};
  }
  std::vector<std::string> take() {
    std::sort(kept_.begin(), kept_.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::vector<std::string> items;
    for (auto& k : kept_) items.push_back(std::move(k.second));
    return items;
  }

 private:
  int64_t count_;
  int64_t offered_ = 0;
  std::mt19937_64 rng_;
  std::vector<std::pair<int64_t, std::string>> kept_;
};

void offer_tiles(const std::string& path, const SequenceSample& sample, Reservoir& reservoir) {
  SequenceReader reader = sample.regions.empty() ? SequenceReader(path)
                                                     : SequenceReader(path, sample.regions);
  SequenceChunk chunk;
  std::string tile;
  auto offer = [&] {
    auto n = std::count(tile.begin(), tile.end(), 'N');
    if (n <= sample.max_n_fraction * static_cast<double>(tile.size())) reservoir.offer(tile);
    tile.clear();
  };
  while (reader.next(chunk)) {
    if (chunk.contig_start) tile.clear();
    std::string bases = normalize_bases(chunk.bases);
    size_t used = 0;
    while (used < bases.size()) {
      size_t take = std::min(bases.size() - used, static_cast<size_t>(sample.window_bases) - tile.size());
      tile.append(bases, used, take);
      used += take;
      if (static_cast<int64_t>(tile.size()) == sample.window_bases) offer();
    }
    // A contig's last partial tile is kept only if it is at least half a tile.
    if (chunk.contig_end && static_cast<int64_t>(tile.size()) * 2 >= sample.window_bases) offer();
    if (chunk.contig_end) tile.clear();
  }
}

}  // namespace

std::vector<std::string> sample_sequences(const std::string& path, const SequenceSample& sample,
                                          const std::string& split) {
  if (sample.count <= 0) throw Error("-n", "must be positive");
  if (sample.window_bases <= 0) throw Error("--length", "must be positive");
  Reservoir reservoir(sample.count, sample.seed);
  if (is_csv_input(path)) {
    if (!sample.regions.empty()) throw Error("-r/--region", "applies to FASTA input, not " + path);
    LabelledSet set = read_labelled_split(path, split);
    for (auto& row : set.rows) reservoir.offer(normalize_bases(row.bases));
  } else {
    offer_tiles(path, sample, reservoir);
  }
  std::vector<std::string> sequences = reservoir.take();
  if (sequences.empty())
    throw Error(path, "no sequence to measure (tiles of " + std::to_string(sample.window_bases) +
                          " bases with at most " + std::to_string(int(sample.max_n_fraction * 100)) + "% N)");
  return sequences;
}

}  // namespace germ::io
