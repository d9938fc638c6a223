#include "score/markov_chain.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "io/sequence_reader.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

constexpr std::array<int8_t, 256> make_code_table() {
  std::array<int8_t, 256> table{};
  for (auto& code : table) code = -1;
  table['A'] = table['a'] = 0;
  table['C'] = table['c'] = 1;
  table['G'] = table['g'] = 2;
  table['T'] = table['t'] = table['U'] = table['u'] = 3;  // U as T, as io::normalize_bases reads it
  return table;
}
constexpr std::array<int8_t, 256> kCode = make_code_table();

// Each counted base adds 2 to an order's total (both strands); uint32 holds 2^32 - 1.
constexpr int64_t kMaxBasesCounted = std::numeric_limits<uint32_t>::max() / 2;

}  // namespace

int markov_base_code(char base) { return kCode[static_cast<unsigned char>(base)]; }

void MarkovContext::push(int code) {
  if (code < 0) {
    run_ = 0;
    return;
  }
  forward_ = (forward_ << 2) | static_cast<uint64_t>(code);
  reverse_ = (reverse_ >> 2) | (static_cast<uint64_t>(3 - code) << (2 * (span_ - 1)));
  ++run_;
}

MarkovChain::MarkovChain(int max_order) : max_order_(max_order) {
  if (max_order < 0 || max_order > kMaxOrder)
    throw Error("--baseline", "Markov order " + std::to_string(max_order) + " is outside 0.." +
                                  std::to_string(MarkovChain::kMaxOrder));
  for (int order = 0; order <= max_order; ++order) counts_.emplace_back(size_t{4} << (2 * order), 0u);
}

void MarkovChain::count(std::string_view bases, MarkovContext& context) {
  const int64_t longest = max_order_ + 1;
  for (char base : bases) {
    const int code = markov_base_code(base);
    context.push(code);
    if (code < 0) continue;
    ++bases_counted_;
    const int lengths = static_cast<int>(std::min(context.run(), longest));
    for (int length = 1; length <= lengths; ++length) {
      std::vector<uint32_t>& table = counts_[length - 1];
      ++table[context.forward(length)];
      ++table[context.reverse(length)];
    }
  }
}

void MarkovChain::count_file(const std::string& path) {
  io::SequenceReader reader(path);
  io::SequenceChunk chunk;
  MarkovContext context = new_context();
  while (reader.next(chunk)) {
    if (chunk.contig_start) context.reset();
    count(chunk.bases, context);
    if (bases_counted_ > kMaxBasesCounted)
      throw Error(path, "Markov baseline training data over " + std::to_string(kMaxBasesCounted) +
                            " bases: the uint32 counts would overflow");
  }
}

double MarkovChain::log2_probability(int order, const MarkovContext& context, int base) const {
  const int used = static_cast<int>(std::min<int64_t>({order, max_order_, context.run()}));
  const uint32_t* row = counts_[used].data() + (context.forward(used) << 2);
  const double total = static_cast<double>(row[0]) + row[1] + row[2] + row[3];
  return std::log2((row[base] + 0.5) / (total + 2.0));
}

std::vector<int> parse_markov_baseline(const std::string& text) {
  const std::string prefix = "markov:";
  if (text.rfind(prefix, 0) != 0 || text.size() == prefix.size())
    throw Error("--baseline", "'" + text + "' is not markov:K[,K...]");
  std::vector<int> orders;
  size_t from = prefix.size();
  while (from <= text.size()) {
    size_t comma = std::min(text.find(',', from), text.size());
    const std::string item = text.substr(from, comma - from);
    const bool digits = std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (item.empty() || item.size() > 2 || !digits)
      throw Error("--baseline", "'" + text + "': '" + item + "' is not an order 0.." + std::to_string(MarkovChain::kMaxOrder));
    const int order = std::stoi(item);
    if (order > MarkovChain::kMaxOrder)
      throw Error("--baseline", "'" + text + "': order " + item + " is over " + std::to_string(MarkovChain::kMaxOrder) +
                                    " (the counts of order K take 4^(K+1) * 4 bytes)");
    orders.push_back(order);
    from = comma + 1;
  }
  std::sort(orders.begin(), orders.end());
  orders.erase(std::unique(orders.begin(), orders.end()), orders.end());
  return orders;
}

}  // namespace germ::score
