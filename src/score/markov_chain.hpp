#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace germ::score {

// 0-3 for A, C, G, T (upper or lower case; U as T), -1 for anything else.
int markov_base_code(char base);

// The bases read so far on one strand of one contig, as a rolling 2-bit code: the newest base
// in the lowest bits (forward) and, complemented, in the highest of `span` slots (reverse,
// which reads the same bases as the other strand does). `run` counts the A/C/G/T bases since
// the contig start or the last other character, so a context never crosses an N.
class MarkovContext {
 public:
  explicit MarkovContext(int span) : span_(span) {}
  void reset() { run_ = 0; }
  // A base code 0-3, or -1 (N, IUPAC), which ends the run.
  void push(int code);
  int64_t run() const { return run_; }
  // The code of the newest `length` bases (length <= run(), <= span): the k-mer itself, and
  // its reverse complement.
  uint64_t forward(int length) const { return forward_ & mask(length); }
  uint64_t reverse(int length) const { return reverse_ >> (2 * (span_ - length)); }

 private:
  static uint64_t mask(int length) { return (uint64_t{1} << (2 * length)) - 1; }
  int span_;
  int64_t run_ = 0;
  uint64_t forward_ = 0, reverse_ = 0;
};

// Order-0..K Markov chains over A/C/G/T counted on both strands (every (j+1)-mer of A/C/G/T
// bases inside a contig, and its reverse complement), with add-0.5 smoothing:
//   P(b | c) = (n(c b) + 0.5) / (n(c A) + n(c C) + n(c G) + n(c T) + 2).
// Every order up to K is kept, so a base with a shorter context (the start of a contig, or
// after an N) is predicted by the longest order it has. Counts are dense uint32 arrays of
// 4^(j+1) entries per order: 4/3 * 4^(K+1) * 4 bytes in all (K = 10: 22 MB; K = 12: 358 MB).
class MarkovChain {
 public:
  static constexpr int kMaxOrder = 12;
  explicit MarkovChain(int max_order);

  // Counts `bases` (any case; non-ACGT characters end the context), continuing `context`,
  // which belongs to one contig: reset it at each contig start.
  void count(std::string_view bases, MarkovContext& context);
  // Counts every contig of a FASTA/FASTQ (plain, gzip, bgzip), streamed.
  void count_file(const std::string& path);
  MarkovContext new_context() const { return MarkovContext(max_order_ + 1); }

  int max_order() const { return max_order_; }
  // A/C/G/T bases counted, one strand (each also counted as its reverse complement).
  int64_t bases_counted() const { return bases_counted_; }
  // n(kmer): the (order+1)-mer's code, first base in the highest bits (A=0 C=1 G=2 T=3).
  uint32_t kmer_count(int order, uint64_t kmer) const { return counts_.at(order).at(kmer); }
  // log2 P(base | the newest min(order, context.run()) bases of context).
  double log2_probability(int order, const MarkovContext& context, int base) const;

 private:
  int max_order_;
  int64_t bases_counted_ = 0;
  std::vector<std::vector<uint32_t>> counts_;  // [order][context * 4 + base]
};

// Parses "markov:K[,K...]" into the orders (each 0..kMaxOrder, sorted, distinct).
std::vector<int> parse_markov_baseline(const std::string& text);

}  // namespace germ::score
