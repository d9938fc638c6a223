#include "train/genome_corpus.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

#include "io/bases.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::train {

Segment Segment::from_bases(const std::string& source, const std::string& contig, const std::string& bases) {
  auto packed = std::make_shared<PackedBases>();
  packed->append(io::normalize_bases(bases));
  return {source, contig, 0, packed->size(), packed, 0};
}

int64_t GenomeCorpus::train_bases() const {
  int64_t n = 0;
  for (const auto& s : train) n += s.length;
  return n;
}

int64_t GenomeCorpus::holdout_bases() const {
  int64_t n = 0;
  for (const auto& s : holdout) n += s.length;
  return n;
}

size_t GenomeCorpus::memory_bytes() const {
  std::vector<const PackedBases*> contigs;
  for (const auto* part : {&train, &holdout})
    for (const auto& s : *part) contigs.push_back(s.contig_bases.get());
  std::sort(contigs.begin(), contigs.end());
  contigs.erase(std::unique(contigs.begin(), contigs.end()), contigs.end());
  size_t bytes = 0;
  for (const auto* c : contigs) bytes += c->memory_bytes();
  return bytes;
}

double n_fraction(const std::string& bases) {
  if (bases.empty()) return 1.0;
  return static_cast<double>(std::count(bases.begin(), bases.end(), 'N')) / bases.size();
}

namespace {

void add_segment(std::vector<Segment>& into, const Segment& contig, int64_t begin, int64_t end,
                 int64_t min_segment) {
  if (end - begin < min_segment) return;
  Segment piece = contig;
  piece.offset = contig.offset + begin;
  piece.length = end - begin;
  into.push_back(std::move(piece));
}

// Splits one contig into training and holdout parts.
void split_contig(const Segment& contig, const CorpusOptions& options, GenomeCorpus& corpus) {
  const int64_t length = contig.length;
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

// Streams one file and hands over each contig, packed, as a whole-contig segment: no contig is
// ever held as a string, only the reader's current chunk.
void for_each_contig(const std::string& path, size_t file, const std::function<void(const Segment&)>& use) {
  io::SequenceReader reader(path);
  io::SequenceChunk chunk;
  Segment contig;
  std::shared_ptr<PackedBases> packed;
  auto flush = [&] {
    if (packed) {
      packed->shrink_to_fit();
      contig.length = packed->size();
      contig.contig_bases = packed;
      use(contig);
    }
    packed.reset();
  };
  while (reader.next(chunk)) {
    if (chunk.contig_start) {
      flush();
      contig = Segment{path, chunk.contig, 0, 0, nullptr, file};
      packed = std::make_shared<PackedBases>();
    }
    io::normalize_bases_in_place(chunk.bases);
    if (packed) packed->append(chunk.bases);
    if (chunk.contig_end) flush();
  }
  flush();
}

}  // namespace

GenomeCorpus load_corpus(const std::vector<std::string>& paths, const CorpusOptions& options) {
  if (paths.empty()) throw Error("input", "no FASTA files given");
  if (options.holdout_fraction < 0 || options.holdout_fraction >= 1)
    throw Error("--holdout-fraction", "must be in [0, 1)");
  GenomeCorpus corpus;
  corpus.files = paths;
  for (size_t f = 0; f < paths.size(); ++f)
    for_each_contig(paths[f], f, [&](const Segment& contig) { split_contig(contig, options, corpus); });
  if (corpus.train.empty())
    throw Error(paths.front(), "no training sequence (inputs too short or all held out)");
  return corpus;
}

std::vector<Segment> load_whole_contigs(const std::string& path, int64_t min_segment) {
  std::vector<Segment> contigs;
  for_each_contig(path, 0, [&](const Segment& contig) { add_segment(contigs, contig, 0, contig.length, min_segment); });
  if (contigs.empty()) throw Error(path, "no sequence of at least " + std::to_string(min_segment) + " bases");
  return contigs;
}

WindowSampler::WindowSampler(const std::vector<Segment>& segments, int64_t window, uint64_t seed,
                             double max_n_fraction, const std::vector<double>& file_weights)
    : segments_(&segments), window_(window), max_n_fraction_(max_n_fraction), rng_(seed) {
  auto starts = [&](const Segment& s) { return std::max<int64_t>(0, s.length - window + 1); };
  std::vector<double> file_starts;
  for (const auto& s : segments) {
    if (s.file >= file_starts.size()) file_starts.resize(s.file + 1, 0.0);
    file_starts[s.file] += starts(s);
  }
  double total = 0;
  for (const auto& s : segments) {
    double weight = starts(s);
    if (!file_weights.empty() && weight > 0) weight *= file_weights.at(s.file) / file_starts[s.file];
    total += weight;
    cumulative_.push_back(total);
  }
  if (total <= 0)
    throw Error("training data", "no contig is as long as the window (" + std::to_string(window) +
                                     " bases); use a shorter --seq-len");
}

std::string WindowSampler::next() {
  std::uniform_real_distribution<double> pick(0.0, cumulative_.back());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    double at = pick(rng_);
    size_t index = std::upper_bound(cumulative_.begin(), cumulative_.end(), at) - cumulative_.begin();
    index = std::min(index, cumulative_.size() - 1);
    const Segment& segment = (*segments_)[index];
    if (segment.length < window_) continue;  // (rounding onto a zero-weight segment)
    std::uniform_int_distribution<int64_t> start_of(0, segment.length - window_);
    int64_t start = start_of(rng_);
    bool reverse = (rng_() & 1) != 0;
    if (segment.count_n(start, window_) > max_n_fraction_ * window_) continue;
    std::string window = segment.read(start, window_);
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
  // Tile positions first, so only the chosen windows are unpacked.
  std::vector<std::pair<const Segment*, int64_t>> tiles;
  for (const auto& s : segments)
    for (int64_t start = 0; start + window <= s.length; start += window)
      if (s.count_n(start, window) <= max_n_fraction * window) tiles.emplace_back(&s, start);
  // Spread the chosen windows over all holdout segments rather than taking the first ones.
  if (static_cast<int64_t>(tiles.size()) > max_windows) {
    decltype(tiles) spread;
    double step = static_cast<double>(tiles.size()) / max_windows;
    for (int64_t i = 0; i < max_windows; ++i) spread.push_back(tiles[static_cast<size_t>(i * step)]);
    tiles.swap(spread);
  }
  std::vector<std::string> windows;
  for (const auto& [segment, start] : tiles) windows.push_back(segment->read(start, window));
  return windows;
}

}  // namespace germ::train
