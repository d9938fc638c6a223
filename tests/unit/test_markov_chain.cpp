// Order-K Markov baselines (counts, smoothing, back-off) and `germ eval`'s LM evaluation,
// which scores the same bases with the model and the chains.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "score/fasta_scorer.hpp"
#include "score/lm_evaluation.hpp"
#include "score/markov_chain.hpp"
#include "tiny_focus_model.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

const std::string kSmall = std::string(GERM_TEST_DATA_DIR) + "/small.fa";

// Two contigs, counted as "AACG" and "tta": forward and reverse-complement k-mers
//   1-mers  A 5, C 2, G 2, T 5             (AACG + CGTT + TTA + TAA)
//   2-mers  AA 2, AC 1, CG 2, GT 1, TT 2, TA 2
//   3-mers  AAC, ACG, CGT, GTT, TTA, TAA once each
score::MarkovChain hand_counted_chain() {
  score::MarkovChain chain(2);
  score::MarkovContext context = chain.new_context();
  chain.count("AACG", context);
  context.reset();
  chain.count("tta", context);
  return chain;
}

uint64_t kmer(const std::string& bases) {
  uint64_t code = 0;
  for (char base : bases) code = code * 4 + static_cast<uint64_t>(score::markov_base_code(base));
  return code;
}

score::MarkovContext context_of(const score::MarkovChain& chain, const std::string& bases) {
  score::MarkovContext context = chain.new_context();
  for (char base : bases) context.push(score::markov_base_code(base));
  return context;
}

}  // namespace

TEST(MarkovChain, CountsBothStrandsOfAHandExample) {
  score::MarkovChain chain = hand_counted_chain();
  EXPECT_EQ(chain.bases_counted(), 7);
  const std::vector<std::pair<std::string, uint32_t>> expected{
      {"A", 5},  {"C", 2},  {"G", 2},   {"T", 5},   {"AA", 2},  {"AC", 1},  {"CG", 2},  {"GT", 1},
      {"TT", 2}, {"TA", 2}, {"AAC", 1}, {"ACG", 1}, {"CGT", 1}, {"GTT", 1}, {"TTA", 1}, {"TAA", 1}};
  for (const auto& [bases, count] : expected)
    EXPECT_EQ(chain.kmer_count(static_cast<int>(bases.size()) - 1, kmer(bases)), count) << bases;
  // Nothing else: each order holds two k-mers (one per strand) per k-mer of the input.
  for (int order = 0; order <= 2; ++order) {
    uint64_t total = 0;
    for (uint64_t code = 0; code < (uint64_t{4} << (2 * order)); ++code) total += chain.kmer_count(order, code);
    EXPECT_EQ(total, uint64_t{2} * (7 - 2 * order)) << "order " << order;  // contigs of 4 and 3 bases
  }
}

TEST(MarkovChain, AddHalfSmoothingAndBackOff) {
  score::MarkovChain chain = hand_counted_chain();
  // Order 2 after "AA": n(AAC) = 1 of 1 -> (1 + 0.5) / (1 + 2).
  EXPECT_NEAR(chain.log2_probability(2, context_of(chain, "AA"), 1), std::log2(1.5 / 3.0), 1e-12);
  // An unseen context is uniform: 0.5 / 2 each.
  EXPECT_NEAR(chain.log2_probability(2, context_of(chain, "GG"), 0), -2.0, 1e-12);
  // One base of context: order 1, n(TA) = 2 of n(T.) = 4.
  EXPECT_NEAR(chain.log2_probability(2, context_of(chain, "T"), 0), std::log2(2.5 / 6.0), 1e-12);
  // After an N (and at a contig start) only order 0 is left: n(G) = 2 of 14.
  EXPECT_NEAR(chain.log2_probability(2, context_of(chain, "AAN"), 2), std::log2(2.5 / 16.0), 1e-12);
  EXPECT_NEAR(chain.log2_probability(2, context_of(chain, ""), 2), std::log2(2.5 / 16.0), 1e-12);
  // A lower order asked for uses only that many bases: order 1 after "GA" is P(C | A) = 1.5/5.
  EXPECT_NEAR(chain.log2_probability(1, context_of(chain, "GA"), 1), std::log2(1.5 / 5.0), 1e-12);
  // Bits/base of "AAC" from its second base on, order 2: P(A | A) = 2.5/5, P(C | AA) = 1.5/3.
  const double bits = -(std::log2(2.5 / 5.0) + std::log2(1.5 / 3.0)) / 2.0;
  EXPECT_NEAR(bits, 1.0, 1e-12);
  EXPECT_NEAR(-(chain.log2_probability(2, context_of(chain, "A"), 0) +
                chain.log2_probability(2, context_of(chain, "AA"), 1)) / 2.0,
              bits, 1e-12);
}

TEST(MarkovChain, CountsAFastaFile) {
  score::MarkovChain chain(3);
  chain.count_file(kSmall);
  io::IndexedFasta fasta(kSmall);
  int64_t acgt = 0;
  for (const auto& [contig, length] : fasta.contigs())
    for (char base : io::normalize_bases(fasta.fetch(contig, 0, length))) acgt += base != 'N';
  EXPECT_EQ(chain.bases_counted(), acgt);
  uint64_t total = 0;
  for (uint64_t code = 0; code < 4; ++code) total += chain.kmer_count(0, code);
  EXPECT_EQ(total, 2 * static_cast<uint64_t>(acgt));
  // Both strands: every k-mer is as frequent as its reverse complement.
  EXPECT_EQ(chain.kmer_count(3, kmer("AACG")), chain.kmer_count(3, kmer("CGTT")));
  EXPECT_EQ(chain.kmer_count(1, kmer("AG")), chain.kmer_count(1, kmer("CT")));
}

TEST(MarkovChain, ParsesBaselineSpecifications) {
  EXPECT_EQ(score::parse_markov_baseline("markov:10,6,8,6"), (std::vector<int>{6, 8, 10}));
  EXPECT_EQ(score::parse_markov_baseline("markov:0"), (std::vector<int>{0}));
  for (const char* bad : {"markov:", "markov:13", "kmer:6", "markov:6,", "markov:-1", "markov:x"})
    EXPECT_THROW(score::parse_markov_baseline(bad), Error) << bad;
  EXPECT_THROW(score::MarkovChain(13), Error);
}

namespace {

// -log2 P of every base the model values, computed afresh from the contig: the context is
// the A/C/G/T run before the base, at most `order` bases.
double reference_bits(const score::MarkovChain& chain, int order, const std::string& bases, int64_t begin,
                      int64_t end, int64_t& count) {
  double bits = 0;
  for (int64_t pos = std::max<int64_t>(1, begin); pos < end; ++pos) {
    const int code = score::markov_base_code(bases[pos]);
    if (code < 0) continue;
    int64_t from = pos;
    while (from > 0 && pos - from < order && score::markov_base_code(bases[from - 1]) >= 0) --from;
    bits -= chain.log2_probability(order, context_of(chain, bases.substr(from, pos - from)), code);
    ++count;
  }
  return bits;
}

}  // namespace

TEST(LmEvaluation, ModelAndBaselinesScoreTheSameBases) {
  test_support::TinyFocusModel tiny;
  score::LaneScorer scorer(tiny.model, tiny.adapter, tiny.geometry, 4);
  score::MarkovChain chain(4);
  chain.count_file(kSmall);
  io::IndexedFasta fasta(kSmall);
  for (const std::vector<io::Region>& regions :
       {std::vector<io::Region>{}, std::vector<io::Region>{{"chr1", 1500, 2600}, {"chr2", 0, 700}}}) {
    score::LmEvalOptions options;
    options.inputs = {kSmall};
    options.regions = regions;
    options.scoring.quiet = true;
    options.scoring.segment_windows = 4;
    options.baseline_orders = {2, 4};
    score::LmEvalReport report = score::evaluate_language_model(scorer, &chain, options);

    // The model's sums are those of germ score's per-base values.
    score::FastaScoreOptions scoring = options.scoring;
    scoring.input = kSmall;
    scoring.regions = regions;
    double nats = 0;
    int64_t values = 0;
    score::score_fasta(scorer, scoring, [&](const std::string&, int64_t, int64_t, float v) { nats -= v, ++values; });
    ASSERT_EQ(report.total.bases, values);
    EXPECT_NEAR(report.total.model_nats, nats, 1e-6 * std::abs(nats));
    ASSERT_EQ(report.files.size(), 1u);
    EXPECT_EQ(report.files[0].bases, values);

    // Each contig's baseline sums are those of the same bases scored afresh.
    ASSERT_EQ(report.contigs.size(), regions.empty() ? 3u : 2u);
    for (const auto& row : report.contigs) {
      const std::string bases = fasta.fetch(row.contig, 0, fasta.contig_length(row.contig));
      int64_t begin = 0, end = static_cast<int64_t>(bases.size());
      for (const auto& region : regions)
        if (region.contig == row.contig) begin = region.begin, end = region.end;
      for (size_t i = 0; i < options.baseline_orders.size(); ++i) {
        int64_t count = 0;
        const double bits = reference_bits(chain, options.baseline_orders[i], bases, begin, end, count);
        EXPECT_EQ(row.bases, count) << row.contig;
        EXPECT_NEAR(row.baseline_bits[i], bits, 1e-9 * std::abs(bits)) << row.contig;
      }
    }
  }
}

TEST(LmEvaluation, RegionsMustMatchTheInputs) {
  EXPECT_THROW(score::regions_per_input({kSmall}, {io::Region{"chrX", 0, 10}}), Error);
  auto assigned = score::regions_per_input({kSmall}, {io::Region{"chr2", 10, -1}});
  ASSERT_EQ(assigned.size(), 1u);
  ASSERT_EQ(assigned[0].size(), 1u);
  EXPECT_GT(assigned[0][0].end, 10);  // resolved to the contig's end
}

TEST(LmEvaluation, ReportRowsAndFormats) {
  score::LmEvalReport report;
  report.model_path = "m.safetensors";
  report.baseline_orders = {6};
  report.contigs = {{"a.fa", "c1", 2, 2 * std::log(2.0), {3.0}}, {"a.fa", "c2", 2, 2 * std::log(2.0), {1.0}},
                    {"b.fa", "c1", 4, 4 * std::log(2.0), {8.0}}};
  report.summarise();
  ASSERT_EQ(report.files.size(), 2u);
  EXPECT_EQ(report.files[0].bases, 4);
  EXPECT_NEAR(report.files[0].baseline_bits_per_base(0), 1.0, 1e-12);
  EXPECT_EQ(report.total.bases, 8);
  EXPECT_NEAR(report.total.bits_per_base(), 1.0, 1e-12);
  EXPECT_NEAR(report.total.nats_per_base(), std::log(2.0), 1e-12);
  EXPECT_NEAR(report.total.baseline_bits_per_base(0), 1.5, 1e-12);
  const std::string tsv = report.to_tsv();
  EXPECT_EQ(tsv.substr(0, tsv.find('\n')), "#scope\tfile\tcontig\tbases\tbits_per_base\tnats_per_base\tmarkov6_bits_per_base");
  EXPECT_NE(tsv.find("total\t.\t.\t8\t1.000000\t0.693147\t1.500000\n"), std::string::npos) << tsv;
  EXPECT_NE(report.to_json().find("\"markov:6\""), std::string::npos);
  EXPECT_NE(report.to_text().find("markov:6"), std::string::npos);
}
