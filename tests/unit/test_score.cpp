// Streaming FASTA scoring: record layout, regions, strands and bins on the project's test data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>
#include <tuple>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "model/focus.hpp"
#include "score/fasta_scorer.hpp"
#include "tiny_focus_model.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

struct Record {
  std::string contig;
  int64_t begin, end;
  float value;
};

// Seed 31, weights x4, adapter noise 0.3; k 25, window 100, memory 8, context 25.
struct Fixture : test_support::TinyFocusModel {
  Fixture() : TinyFocusModel(model::Normaliser::kSoftmax1, 31, 4.0, 0.3) {
    geometry.k = 25, geometry.window = 100, geometry.memory = 8, geometry.context = 25;
  }
};

std::vector<Record> run(Fixture& f, score::FastaScoreOptions o) {
  o.quiet = true;
  score::LaneScorer scorer(f.model, f.adapter, f.geometry, 4);
  std::vector<Record> out;
  score::score_fasta(scorer, o, [&](const std::string& c, int64_t b, int64_t e, float v) { out.push_back({c, b, e, v}); });
  return out;
}

score::FastaScoreOptions options_for(const std::string& input) {
  score::FastaScoreOptions o;
  o.input = input;
  o.segment_windows = 4;  // small segments: many lanes and warm-ups even on 3 kb contigs
  return o;
}

const std::string kSmall = std::string(GERM_TEST_DATA_DIR) + "/small.fa";

}  // namespace

TEST(ScoreFasta, RecordsAreSortedContiguousAndSkipN) {
  Fixture f;
  auto records = run(f, options_for(kSmall));
  io::IndexedFasta fasta(kSmall);
  std::map<std::string, std::vector<Record>> by_contig;
  std::vector<std::string> order;
  for (const auto& r : records) {
    if (by_contig[r.contig].empty()) order.push_back(r.contig);
    by_contig[r.contig].push_back(r);
  }
  ASSERT_EQ(order, (std::vector<std::string>{"chr1", "chr2", "HLA-A*01:01"}));  // input order
  for (const auto& [contig, list] : by_contig) {
    std::string bases = fasta.fetch(contig, 0, fasta.contig_length(contig));
    int64_t expected = 0;
    for (const auto& r : list) {
      ASSERT_EQ(r.end, r.begin + 1);  // per-base records
      // Every base from 1 on that is not N has a record, in order, and nothing else does.
      while (expected < fasta.contig_length(contig) && (expected == 0 || std::toupper(bases[expected]) == 'N'))
        ++expected;
      ASSERT_EQ(r.begin, expected) << contig;
      ASSERT_TRUE(std::isfinite(r.value));
      ASSERT_LE(r.value, 0.0f);
      ++expected;
    }
    while (expected < fasta.contig_length(contig) && std::toupper(bases[expected]) == 'N') ++expected;
    EXPECT_EQ(expected, fasta.contig_length(contig)) << contig;
  }
}

TEST(ScoreFasta, RegionEqualsTheSliceOfAWholeContigRun) {
  Fixture f;
  auto whole = run(f, options_for(kSmall));
  for (auto region : {io::Region{"chr1", 1234, 2750}, io::Region{"chr1", 0, 77}, io::Region{"chr2", 399, 2500}}) {
    auto o = options_for(kSmall);
    o.regions = {region};
    auto part = run(f, o);
    std::vector<Record> slice;
    for (const auto& r : whole)
      if (r.contig == region.contig && r.begin >= region.begin && r.end <= region.end) slice.push_back(r);
    ASSERT_EQ(part.size(), slice.size()) << region.to_string();
    for (size_t i = 0; i < part.size(); ++i) {
      ASSERT_EQ(part[i].begin, slice[i].begin);
      ASSERT_NEAR(part[i].value, slice[i].value, 1e-5) << region.to_string() << " at " << part[i].begin;
    }
  }
}

TEST(ScoreFasta, BinsAreMeansOfTheirBases) {
  Fixture f;
  auto base = run(f, options_for(kSmall));
  auto o = options_for(kSmall);
  o.bin = 100;
  auto binned = run(f, o);
  std::map<std::pair<std::string, int64_t>, std::pair<double, int>> sums;
  for (const auto& r : base) {
    auto& s = sums[{r.contig, r.begin / 100}];
    s.first += r.value, s.second += 1;
  }
  ASSERT_EQ(binned.size(), sums.size());
  for (const auto& r : binned) {
    auto s = sums.at({r.contig, r.begin / 100});
    EXPECT_NEAR(r.value, s.first / s.second, 1e-4);
    EXPECT_EQ(r.end / 100 - (r.end % 100 == 0 ? 1 : 0), r.begin / 100);  // never crosses a bin edge
  }
}

TEST(ScoreFasta, BothStrandsIsSymmetricUnderReverseComplement) {
  // Scoring a contig on both strands must give, at each base, the same value as scoring its
  // reverse complement on both strands at the mirrored base.
  Fixture f;
  io::IndexedFasta fasta(kSmall);
  std::string bases = io::normalize_bases(fasta.fetch("chr1", 0, 3000));
  std::string path = ::testing::TempDir() + "/both_strands.fa";
  {
    std::ofstream out(path);
    out << ">fwd\n" << bases << "\n>rev\n" << io::reverse_complement(bases) << "\n";
  }
  auto o = options_for(path);
  o.both_strands = true;
  o.segment_windows = 100;  // one segment per contig: both lanes see the whole contig
  auto records = run(f, o);
  std::map<std::string, std::map<int64_t, float>> v;
  for (const auto& r : records) v[r.contig][r.begin] = r.value;
  ASSERT_EQ(v["fwd"].size(), 3000u);  // the reverse pass gives base 0 a value
  double worst = 0;
  for (int64_t p = 0; p < 3000; ++p) worst = std::max(worst, double(std::abs(v["fwd"][p] - v["rev"][2999 - p])));
  EXPECT_LT(worst, 1e-4);
}

TEST(ScoreFasta, UnitsAndTracks) {
  Fixture f;
  auto nats = run(f, options_for(kSmall));
  auto o = options_for(kSmall);
  o.bits = true;
  auto bits = run(f, o);
  ASSERT_EQ(nats.size(), bits.size());
  for (size_t i = 0; i < nats.size(); i += 97) EXPECT_NEAR(bits[i].value, nats[i].value / std::log(2.0), 1e-5);
  o.track = score::TrackKind::kEntropy;
  for (const auto& r : run(f, o)) {
    ASSERT_GE(r.value, 0.0f);
    ASSERT_LE(r.value, 2.0f + 1e-5);  // at most log2(4) bits
  }
  EXPECT_THROW(score::parse_track_kind("gc"), germ::Error);
}

TEST(ScoreFasta, RegionsMustBeSortedAndDisjoint) {
  Fixture f;
  auto o = options_for(kSmall);
  o.regions = {io::Region{"chr1", 100, 500}, io::Region{"chr1", 400, 600}};
  EXPECT_THROW(run(f, o), germ::Error);
}
