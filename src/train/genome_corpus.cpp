#include "train/genome_corpus.hpp"

#include <algorithm>
#include <sstream>

#include "io/bases.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::train {

int64_t GenomeCorpus::train_bases() const {
  int64_t n = 0;
  for (const auto& s : train) n += s.bases.size();
  return n;
}

int64_t GenomeCorpus::holdout_bases() const {
  int64_t n = 0;
  for (const auto& s : holdout) n += s.bases.size();
  return n;
}

double n_fraction(const std::string& bases) {
  if (bases.empty()) return 1.0;
  return static_cast<double>(std::count(bases.begin(), bases.end(), 'N')) / bases.size();
}

namespace {

void add_segment(std::vector<Segment>& into, const Segment& from, int64_t begin, int64_t end,
                 int64_t min_segment) {
  if (end - begin < min_segment) return;
  into.push_back({from.source, from.contig, from.offset + begin, from.bases.substr(begin, end - begin)});
}

// Splits one contig into training and holdout parts.
void split_contig(const Segment& contig, const CorpusOptions& options, GenomeCorpus& corpus) {
  const int64_t length = contig.bases.size();
  if (options.holdout_regions.empty()) {
    int64_t cut = length - static_cast<int64_t>(length * options.holdout_fraction);
    add_segment(corpus.train, contig, 0, cut, options.min_segment);
    add_segment(corpus.holdout, contig, cut, length, options.min_segment);
    return;
  }
  int64_t cursor = 0;
  std::vector<io::Region> regions;
  for (const auto& r : options.holdout_regions)
    if (r.contig == contig.contig) regions.push_back(r);
  std::sort(regions.begin(), regions.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
  for (const auto& r : regions) {
    int64_t begin = std::clamp<int64_t>(r.begin, 0, length);
    int64_t end = r.end < 0 ? length : std::clamp<int64_t>(r.end, 0, length);
    if (begin < cursor) begin = cursor;
    if (end <= begin) continue;
    add_segment(corpus.train, contig, cursor, begin, options.min_segment);
    add_segment(corpus.holdout, contig, begin, end, options.min_segment);
    cursor = end;
  }
  add_segment(corpus.train, contig, cursor, length, options.min_segment);
}

}  // namespace

GenomeCorpus load_corpus(const std::vector<std::string>& paths, const CorpusOptions& options) {
  if (paths.empty()) throw Error("input", "no FASTA files given");
  if (options.holdout_fraction < 0 || options.holdout_fraction >= 1)
    throw Error("--holdout-fraction", "must be in [0, 1)");
  GenomeCorpus corpus;
  for (const auto& path : paths) {
    io::SequenceReader reader(path);
    io::SequenceChunk chunk;
    Segment contig;
    auto flush = [&] {
      if (!contig.contig.empty()) split_contig(contig, options, corpus);
      contig = Segment{};
    };
    while (reader.next(chunk)) {
      if (chunk.contig_start) {
        flush();
        contig.source = path;
        contig.contig = chunk.contig;
      }
      contig.bases += io::normalize_bases(chunk.bases);
      if (chunk.contig_end) flush();
    }
    flush();
  }
  if (corpus.train.empty())
    throw Error(paths.front(), "no training sequence (inputs too short or all held out)");
  return corpus;
}

WindowSampler::WindowSampler(const std::vector<Segment>& segments, int64_t window, uint64_t seed,
                             double max_n_fraction)
    : segments_(&segments), window_(window), max_n_fraction_(max_n_fraction), rng_(seed) {
  int64_t total = 0;
  for (const auto& s : segments) {
    total += std::max<int64_t>(0, static_cast<int64_t>(s.bases.size()) - window + 1);
    cumulative_.push_back(total);
  }
  if (total == 0)
    throw Error("training data", "no contig is as long as the window (" + std::to_string(window) +
                                     " bases); use a shorter --seq-len");
}

std::string WindowSampler::next() {
  std::uniform_int_distribution<int64_t> pick(0, cumulative_.back() - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int64_t at = pick(rng_);
    size_t index = std::upper_bound(cumulative_.begin(), cumulative_.end(), at) - cumulative_.begin();
    int64_t start = at - (index == 0 ? 0 : cumulative_[index - 1]);
    std::string window = (*segments_)[index].bases.substr(start, window_);
    bool reverse = (rng_() & 1) != 0;
    if (n_fraction(window) > max_n_fraction_) continue;
    return reverse ? reverse_complement(window) : window;
  }
  throw Error("training data", "could not find windows with at most 10% N after 1000 draws");
}

std::string WindowSampler::state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

void WindowSampler::restore(const std::string& state) {
  std::istringstream in(state);
  in >> rng_;
  if (!in) throw Error("checkpoint", "corrupt data-sampler state");
}

std::vector<std::string> validation_windows(const std::vector<Segment>& segments, int64_t window,
                                            int64_t max_windows, double max_n_fraction) {
  std::vector<std::string> windows;
  for (const auto& s : segments)
    for (int64_t start = 0; start + window <= static_cast<int64_t>(s.bases.size()); start += window) {
      std::string w = s.bases.substr(start, window);
      if (n_fraction(w) <= max_n_fraction) windows.push_back(std::move(w));
    }
  // Spread the chosen windows over all holdout segments rather than taking the first ones.
  if (static_cast<int64_t>(windows.size()) > max_windows) {
    std::vector<std::string> spread;
    double step = static_cast<double>(windows.size()) / max_windows;
    for (int64_t i = 0; i < max_windows; ++i) spread.push_back(windows[static_cast<size_t>(i * step)]);
    windows.swap(spread);
  }
  return windows;
}

}  // namespace germ::train
