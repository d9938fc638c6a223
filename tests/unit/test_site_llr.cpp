// The site variant method: its values are the per-base values of germ score's lane layout
// (forward and reverse), they depend on nothing but the reference, the model and the options,
// and swapping REF and ALT negates them.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "score/lane_scorer.hpp"
#include "score/site_llr.hpp"
#include "test_support.hpp"
#include "tiny_focus_model.hpp"

using namespace germ;
using score::Variant;

namespace {

constexpr int64_t kContigLength = 2500;

class SiteLlr : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::mt19937 rng(23);
    contig_.resize(kContigLength);
    for (char& base : contig_) base = "ACGT"[rng() % 4];
    fasta_ = path("ref.fa");
    write_fasta(fasta_, contig_);
  }

  static void write_fasta(const std::string& file, const std::string& bases) {
    std::ofstream out(file);
    out << ">c1\n";
    for (size_t i = 0; i < bases.size(); i += 60) out << bases.substr(i, 60) << "\n";
  }

  score::SiteLlrOptions options() const {
    score::SiteLlrOptions o;
    o.segment_windows = 4;  // 400 bases; the lead is the geometry's warm-up, 3 windows
    o.lanes = 3;
    return o;
  }

  std::vector<score::SiteScore> score(const std::vector<Variant>& variants, int64_t workers = 1,
                                      const std::string& fasta = "") {
    score::LaneWorkers lane_workers(tiny_.model, tiny_.adapter, tiny_.geometry, workers);
    score::SiteLlrScorer scorer(lane_workers, options());
    io::IndexedFasta reference(fasta.empty() ? fasta_ : fasta);
    return scorer.score(variants, reference);
  }

  Variant snv(int64_t position, char alt) const {
    const char ref = contig_[position];
    return Variant{"c1", position, std::string(1, ref), {std::string(1, alt == ref ? "ACGT"[(alt - 'A' + 1) % 4] : alt)}};
  }

  test_support::TinyFocusModel tiny_;
  std::string contig_, fasta_;
};

void expect_same(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i])) {
      EXPECT_TRUE(std::isnan(a[i])) << what << " " << i;
    } else {
      EXPECT_NEAR(a[i], b[i], test_support::float_tolerance(b[i])) << what << " " << i;
    }
  }
}

}  // namespace

TEST_F(SiteLlr, EqualsGermScoresLaneValuesOnBothStrands) {
  // germ score's layout for the segment [400, 800): the forward lane from 400 - 300, the
  // reverse lane from 800 + 300 read right to left (fasta_scorer.cpp). Scoring the reference
  // and the sequence carrying the ALT that way gives log P(ref) and log P(alt) at the site.
  const int64_t lead = 300, segment_begin = 400, segment_end = 800;
  score::LaneScorer lanes(tiny_.model, tiny_.adapter, tiny_.geometry, 4);
  for (int64_t p : {400, 517, 799}) {
    const Variant v = snv(p, 'G');
    std::string carrier = contig_;
    carrier[p] = v.alts[0][0];
    const int64_t forward_begin = segment_begin - lead, reverse_end = segment_end + lead;
    auto forward = lanes.run({{contig_.substr(forward_begin, p + 1 - forward_begin), 0},
                              {carrier.substr(forward_begin, p + 1 - forward_begin), 0}});
    auto reverse = lanes.run({{io::reverse_complement(contig_.substr(p, reverse_end - p)), 0},
                              {io::reverse_complement(carrier.substr(p, reverse_end - p)), 0}});
    const size_t f = static_cast<size_t>(p - forward_begin), r = static_cast<size_t>(reverse_end - 1 - p);
    const float expected_forward = forward[1].log_likelihood[f] - forward[0].log_likelihood[f];
    const float expected_reverse = reverse[1].log_likelihood[r] - reverse[0].log_likelihood[r];
    auto site = score({v});
    EXPECT_NEAR(site[0].forward[0], expected_forward, test_support::float_tolerance(expected_forward)) << p;
    EXPECT_NEAR(site[0].reverse[0], expected_reverse, test_support::float_tolerance(expected_reverse)) << p;
    EXPECT_NEAR(site[0].mean[0], 0.5f * (expected_forward + expected_reverse), 1e-4) << p;
    EXPECT_GT(std::abs(site[0].forward[0] - site[0].reverse[0]), 1e-4) << "the strands read different contexts";
  }
}

TEST_F(SiteLlr, AValueDependsOnlyOnTheReferenceModelAndOptions) {
  const Variant probe = snv(1234, 'A');
  auto alone = score({probe});
  std::vector<Variant> crowd = {snv(1500, 'C'), snv(90, 'T'), probe, snv(1235, 'G'),
                                Variant{"c1", 1236, contig_.substr(1236, 2), {contig_.substr(1236, 1)}}};
  for (int64_t workers : {1, 3}) {
    auto together = score(crowd, workers);
    expect_same(together[2].forward, alone[0].forward, "forward");
    expect_same(together[2].reverse, alone[0].reverse, "reverse");
    expect_same(together[2].mean, alone[0].mean, "mean");
  }
}

TEST_F(SiteLlr, SwappingRefAndAltNegates) {
  // The distribution at a site reads only the other bases, so on the genome carrying the ALT
  // the reverse change has exactly the opposite value.
  const Variant v = snv(1777, 'C');
  std::string carrier = contig_;
  carrier[1777] = v.alts[0][0];
  const std::string carrier_fasta = path("carrier.fa");
  write_fasta(carrier_fasta, carrier);
  auto there = score({v});
  auto back = score({Variant{"c1", 1777, v.alts[0], {v.ref}}}, 1, carrier_fasta);
  EXPECT_NEAR(back[0].forward[0], -there[0].forward[0], 1e-5);
  EXPECT_NEAR(back[0].reverse[0], -there[0].reverse[0], 1e-5);
  EXPECT_NEAR(back[0].mean[0], -there[0].mean[0], 1e-5);
}

TEST_F(SiteLlr, OnlySingleBaseSubstitutionsGetValues) {
  const std::string ref = contig_.substr(600, 1);
  std::vector<Variant> variants = {
      Variant{"c1", 600, ref, {ref + "A", std::string(1, ref[0] == 'C' ? 'G' : 'C'), "<DEL>"}},  // ins, SNV, symbolic
      Variant{"c1", 700, contig_.substr(700, 2), {"AA"}},                                          // MNV
      Variant{"c1", 800, std::string(1, contig_[800] == 'A' ? 'C' : 'A'), {"T"}},                  // REF mismatch
      Variant{"c2", 10, "A", {"C"}},                                                              // no such contig
      Variant{"c1", 0, contig_.substr(0, 1), {contig_[0] == 'A' ? "C" : "A"}}};                    // contig start
  auto scores = score(variants);
  EXPECT_TRUE(std::isnan(scores[0].mean[0]));
  EXPECT_FALSE(std::isnan(scores[0].mean[1]));
  EXPECT_TRUE(std::isnan(scores[0].mean[2]));
  EXPECT_TRUE(std::isnan(scores[1].mean[0]));
  EXPECT_TRUE(std::isnan(scores[2].mean[0]));
  EXPECT_TRUE(std::isnan(scores[3].mean[0]));
  // The first base has no left context: no forward value, the mean is the reverse value.
  EXPECT_TRUE(std::isnan(scores[4].forward[0]));
  EXPECT_FALSE(std::isnan(scores[4].reverse[0]));
  EXPECT_FLOAT_EQ(scores[4].mean[0], scores[4].reverse[0]);
}
