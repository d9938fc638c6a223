#include "stats/sequence_stats.hpp"

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "io/sequence_chunk.hpp"

namespace germ::stats {
namespace {

// Each byte's contribution is one 64-bit word of eight 8-bit counters, so counting is one
// table load and one add per byte with no branch, and several bytes can be summed in a
// register before the counters are spread into int64s.
enum Field { kA, kC, kG, kT, kN, kOther, kSoftMasked, kFieldCount };
static_assert(kFieldCount <= 8, "one 8-bit counter per field in a 64-bit word");

constexpr uint64_t one_in(Field field) { return uint64_t{1} << (8 * field); }

constexpr std::array<uint64_t, 256> build_increment_table() {
  std::array<uint64_t, 256> table{};
  for (auto& entry : table) entry = one_in(kOther);
  constexpr std::pair<char, Field> bases[] = {{'A', kA}, {'C', kC}, {'G', kG}, {'T', kT},
                                              {'U', kT}, {'N', kN}, {'X', kN}};
  for (const auto& [upper, field] : bases) table[static_cast<unsigned char>(upper)] = one_in(field);
  for (char upper = 'A'; upper <= 'Z'; ++upper) {
    auto lower = static_cast<unsigned char>(upper - 'A' + 'a');
    table[lower] = table[static_cast<unsigned char>(upper)] + one_in(kSoftMasked);
  }
  return table;
}

constexpr std::array<uint64_t, 256> kIncrement = build_increment_table();

// Bytes per block: each of the kLanes accumulators takes every kLanes-th byte, and an 8-bit
// counter holds at most 255 before it must be spread out. Independent accumulators keep the
// adds from waiting on one another.
constexpr size_t kLanes = 4;
constexpr size_t kBlockBytes = 255 * kLanes;

// Sums the lanes in 16-bit counters (even and odd fields apart, so 4 x 255 cannot overflow)
// and adds them to the composition.
void spread(const uint64_t (&lanes)[kLanes], ContigComposition& counts) {
  constexpr uint64_t kEvenBytes = 0x00ff00ff00ff00ffULL;
  uint64_t even = 0, odd = 0;
  for (uint64_t lane : lanes) {
    even += lane & kEvenBytes;
    odd += (lane >> 8) & kEvenBytes;
  }
  auto field = [&](Field f) -> int64_t {
    uint64_t word = f % 2 == 0 ? even : odd;
    return static_cast<int64_t>((word >> (16 * (f / 2))) & 0xffff);
  };
  counts.a += field(kA);
  counts.c += field(kC);
  counts.g += field(kG);
  counts.t += field(kT);
  counts.n += field(kN);
  counts.other += field(kOther);
  counts.soft_masked += field(kSoftMasked);
}

void count_block(const unsigned char* bytes, size_t size, ContigComposition& counts) {
  uint64_t lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= size; i += kLanes) {
    for (size_t lane = 0; lane < kLanes; ++lane) lanes[lane] += kIncrement[bytes[i + lane]];
  }
  // The tail keeps the rotation: a lane given every leftover byte could pass 255.
  for (; i < size; ++i) lanes[i % kLanes] += kIncrement[bytes[i]];
  spread(lanes, counts);
}

double ratio(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// What a row is called: the contig for a whole record or whole-contig region, else the
// region with its end resolved, as samtools writes it.
std::string region_row_name(const io::Region& asked, int64_t begin, int64_t length) {
  if (asked.whole_contig()) return asked.contig;
  return io::Region{asked.contig, begin, begin + length}.to_string();
}

// printf into a string, for the short fixed-shape pieces of a row (never a name).
std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...) {
  char buffer[256];
  va_list args;
  va_start(args, pattern);
  int size = std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  return std::string(buffer, static_cast<size_t>(std::min<int>(size, sizeof buffer - 1)));
}

std::string tsv_fields(const ContigComposition& row) {
  return format("\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t%.4f\t%.4f\t%.4f\n",
                static_cast<long long>(row.length), static_cast<long long>(row.a),
                static_cast<long long>(row.c), static_cast<long long>(row.g),
                static_cast<long long>(row.t), static_cast<long long>(row.n),
                static_cast<long long>(row.other), static_cast<long long>(row.soft_masked),
                row.gc_fraction(), row.n_fraction(), row.soft_masked_fraction());
}

nlohmann::ordered_json json_counts(const ContigComposition& row) {
  return {{"length", row.length},
          {"A", row.a},
          {"C", row.c},
          {"G", row.g},
          {"T", row.t},
          {"N", row.n},
          {"other", row.other},
          {"soft_masked", row.soft_masked},
          {"gc", row.gc_fraction()},
          {"n_fraction", row.n_fraction()},
          {"soft_masked_fraction", row.soft_masked_fraction()}};
}

constexpr const char* kNameHeading = "contig";

}  // namespace

double ContigComposition::gc_fraction() const { return ratio(g + c, a + c + g + t); }
double ContigComposition::n_fraction() const { return ratio(n, length); }
double ContigComposition::soft_masked_fraction() const { return ratio(soft_masked, length); }

void ContigComposition::merge(const ContigComposition& other_row) {
  length += other_row.length;
  a += other_row.a;
  c += other_row.c;
  g += other_row.g;
  t += other_row.t;
  n += other_row.n;
  other += other_row.other;
  soft_masked += other_row.soft_masked;
}

bool ContigComposition::operator==(const ContigComposition& o) const {
  return name == o.name && length == o.length && a == o.a && c == o.c && g == o.g && t == o.t &&
         n == o.n && other == o.other && soft_masked == o.soft_masked;
}

void CompositionCounter::add(std::string_view bases) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(bases.data());
  for (size_t done = 0; done < bases.size(); done += kBlockBytes)
    count_block(bytes + done, std::min(kBlockBytes, bases.size() - done), counts_);
  counts_.length += static_cast<int64_t>(bases.size());
}

void CompositionCounter::reset(std::string name) {
  counts_ = ContigComposition{};
  counts_.name = std::move(name);
}

void summarise_sequences(const std::string& path, const std::vector<io::Region>& regions,
                         const std::function<void(const ContigComposition&)>& sink,
                         size_t chunk_bases) {
  io::SequenceReader reader = regions.empty() ? io::SequenceReader(path, chunk_bases)
                                              : io::SequenceReader(path, regions, chunk_bases);
  CompositionCounter counter;
  io::SequenceChunk chunk;
  size_t regions_done = 0;
  int64_t begin = 0;
  while (reader.next(chunk)) {
    if (chunk.contig_start) {
      counter.reset(chunk.contig);
      begin = chunk.offset;
    }
    counter.add(chunk.bases);
    if (!chunk.contig_end) continue;
    if (regions.empty()) {
      sink(counter.counts());
    } else {
      // The reader covers the regions one after another, in the order given.
      ContigComposition row = counter.counts();
      row.name = region_row_name(regions[regions_done++], begin, row.length);
      sink(row);
    }
  }
}

ContigComposition total_composition(const std::vector<ContigComposition>& rows) {
  ContigComposition total;
  total.name = "total";
  for (const ContigComposition& row : rows) total.merge(row);
  return total;
}

CompositionTextFormat::CompositionTextFormat(size_t name_width)
    : name_width_(std::max(name_width, std::string_view(kNameHeading).size())) {}

std::string CompositionTextFormat::header() const {
  return format("%-*s %12s %8s %8s %12s\n", static_cast<int>(name_width_), kNameHeading, "length", "GC",
                "N", "soft-masked");
}

std::string CompositionTextFormat::row(const ContigComposition& composition) const {
  std::string name = composition.name;
  if (name.size() < name_width_) name.append(name_width_ - name.size(), ' ');
  return name + format(" %12lld %8.4f %8.4f %12.4f\n", static_cast<long long>(composition.length),
                composition.gc_fraction(), composition.n_fraction(),
                composition.soft_masked_fraction());
}

std::string composition_tsv_header() {
  return "#contig\tlength\tA\tC\tG\tT\tN\tother\tsoft_masked\tgc\tn_fraction\tsoft_masked_fraction\n";
}

std::string composition_tsv_row(const ContigComposition& composition) {
  return composition.name + tsv_fields(composition);
}

std::string composition_tsv_total_row(const ContigComposition& total) {
  return "#total" + tsv_fields(total);
}

std::string format_composition_text(const std::vector<ContigComposition>& rows,
                                    const ContigComposition& total) {
  size_t name_width = std::max(CompositionTextFormat::kDefaultNameWidth, total.name.size());
  for (const ContigComposition& row : rows) name_width = std::max(name_width, row.name.size());
  CompositionTextFormat text(name_width);
  std::string out = text.header();
  for (const ContigComposition& row : rows) out += text.row(row);
  return out + text.row(total);
}

std::string format_composition_tsv(const std::vector<ContigComposition>& rows,
                                   const ContigComposition& total) {
  std::string out = composition_tsv_header();
  for (const ContigComposition& row : rows) out += composition_tsv_row(row);
  return out + composition_tsv_total_row(total);
}

std::string format_composition_json(const std::vector<ContigComposition>& rows,
                                    const ContigComposition& total) {
  nlohmann::ordered_json contigs = nlohmann::ordered_json::array();
  for (const ContigComposition& row : rows) {
    nlohmann::ordered_json entry = {{"name", row.name}};
    entry.update(json_counts(row));
    contigs.push_back(std::move(entry));
  }
  nlohmann::ordered_json summary = {{"contigs", rows.size()}};
  summary.update(json_counts(total));
  nlohmann::ordered_json document = {{"contigs", std::move(contigs)}, {"total", std::move(summary)}};
  // Names are bytes from the file; invalid UTF-8 must not turn into a JSON library exception.
  return document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace germ::stats
