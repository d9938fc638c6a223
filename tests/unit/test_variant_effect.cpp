// Variant effects: the shared-prefix scorer must equal scoring each variant from scratch and a
// hand-built pair of sequences; flags, strands and the region-file reader.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "io/vcf_reader.hpp"
#include "score/lane_scorer.hpp"
#include "score/site_llr.hpp"
#include "score/variant_effect.hpp"
#include "test_support.hpp"
#include "tiny_focus_model.hpp"
#include "util/error.hpp"

using namespace germ;
using score::Variant;

namespace {

constexpr int64_t kContigLength = 3000;

class VariantEffect : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::mt19937 rng(11);
    contig_.resize(kContigLength);
    for (char& base : contig_) base = "ACGT"[rng() % 4];
    for (int64_t i = 2000; i < 2150; ++i) contig_[i] = 'N';  // a gap longer than a model window
    fasta_ = path("ref.fa");
    write_fasta(fasta_, "c1", contig_);
  }

  static void write_fasta(const std::string& file, const std::string& name, const std::string& bases) {
    std::ofstream out(file);
    out << ">" << name << "\n";
    for (size_t i = 0; i < bases.size(); i += 60) out << bases.substr(i, 60) << "\n";
    out << ">short\nACGTACGTAC\n";
  }

  std::vector<score::VariantScore> score(const std::vector<Variant>& variants, score::VariantScoreOptions options,
                                         const std::string& fasta = "") {
    score::LaneWorkers workers(tiny_.model, tiny_.adapter, tiny_.geometry, workers_);
    score::VariantScorer scorer(workers, options);
    io::IndexedFasta reference(fasta.empty() ? fasta_ : fasta);
    return scorer.score(variants, reference);
  }

  // The same definition built by hand: the lane starts on the grid, reads the reference or
  // the ALT haplotype to the window end, and the log-likelihoods from the variant on are summed.
  double brute_force_llr(const Variant& v, const std::string& alt, const score::VariantScoreOptions& options) {
    const int64_t model_window = tiny_.geometry.window, half = options.window / 2;
    score::LaneWorkers workers(tiny_.model, tiny_.adapter, tiny_.geometry);
    const int64_t lead = score::VariantScorer(workers, options).lead_bases();
    const int64_t segment = v.position / model_window / options.segment_windows;
    const int64_t lane_start = std::max<int64_t>(0, segment * options.segment_windows * model_window - lead);
    const int64_t r = static_cast<int64_t>(v.ref.size());
    const int64_t end = std::min<int64_t>(kContigLength, v.position + r / 2 + half);
    const std::string reference = contig_.substr(lane_start, end - lane_start);
    const int64_t at = v.position - lane_start;
    const std::string haplotype = reference.substr(0, at) + alt + reference.substr(at + r);
    score::LaneScorer lanes(tiny_.model, tiny_.adapter, tiny_.geometry, 2);
    auto results = lanes.run({score::ScoreJob{reference, 0}, score::ScoreJob{haplotype, 0}});
    auto sum_from = [&](const std::vector<float>& values) {
      double sum = 0;
      for (size_t i = at; i < values.size(); ++i)
        if (!std::isnan(values[i])) sum += values[i];
      return sum;
    };
    return sum_from(results[1].log_likelihood) - sum_from(results[0].log_likelihood);
  }

  Variant snv(int64_t position, char alt) const {
    return Variant{"c1", position, contig_.substr(position, 1), {std::string(1, alt == contig_[position] ? 'T' : alt)}};
  }

  test_support::TinyFocusModel tiny_;
  std::string contig_, fasta_;
  int64_t workers_ = 1;  // threads the scorer under test runs its lanes on
};

score::VariantScoreOptions small_window() {
  score::VariantScoreOptions options;
  options.window = 300;
  options.segment_windows = 2;
  options.lanes = 3;
  return options;
}

}  // namespace

TEST_F(VariantEffect, SharedPrefixEqualsScoringEachVariantFromScratch) {
  std::vector<Variant> variants = {snv(700, 'A'), snv(701, 'C'), snv(745, 'G'),
                                   Variant{"c1", 800, contig_.substr(800, 3), {contig_.substr(800, 1)}},  // deletion
                                   Variant{"c1", 810, contig_.substr(810, 1), {contig_.substr(810, 1) + "GGA"}},
                                   Variant{"c1", 950, contig_.substr(950, 2), {"TT", "GC"}},  // MNVs, 2 ALTs
                                   snv(1400, 'C')};
  auto options = small_window();
  auto shared = score(variants, options);
  options.prefix_reuse = false;
  auto scratch = score(variants, options);
  ASSERT_EQ(shared.size(), variants.size());
  for (size_t v = 0; v < variants.size(); ++v) {
    ASSERT_EQ(shared[v].llr.size(), variants[v].alts.size());
    for (size_t a = 0; a < shared[v].llr.size(); ++a) {
      ASSERT_FALSE(std::isnan(shared[v].llr[a])) << v;
      EXPECT_NEAR(shared[v].llr[a], scratch[v].llr[a], 2e-4) << "variant " << v << " alt " << a;
    }
    EXPECT_TRUE(shared[v].flags.empty()) << v;
  }
}

// --llr site with non-SNV records: the window method's reference lanes are the site method's
// forward lanes (one grid, one lead). Sharing them changes no value of either method and
// reads fewer lanes than the two methods apart.
TEST_F(VariantEffect, SiteAndWindowMethodsSharingLanesEqualEachAlone) {
  std::vector<Variant> sites = {snv(640, 'A'), snv(702, 'C'), snv(1390, 'G'), snv(1900, 'T')};
  // In the site segments (200 bases: 3 and 6), so their reference lanes are site lanes.
  std::vector<Variant> others = {Variant{"c1", 660, contig_.substr(660, 3), {contig_.substr(660, 1)}},
                                 Variant{"c1", 1380, contig_.substr(1380, 2), {"TT", "GC"}}};
  auto window_options = small_window();
  window_options.downstream = 40;
  score::LaneWorkers workers(tiny_.model, tiny_.adapter, tiny_.geometry);
  score::SiteLlrOptions site_options;
  site_options.segment_windows = window_options.segment_windows;
  site_options.lead_windows = score::VariantScorer(workers, window_options).lead_bases() / tiny_.geometry.window;
  site_options.lanes = window_options.lanes;
  io::IndexedFasta reference(fasta_);

  score::SiteLlrScorer site_alone(workers, site_options);
  score::VariantScorer window_alone(workers, window_options);
  const auto site_values = site_alone.score(sites, reference);
  const auto window_values = window_alone.score(others, reference);

  score::SiteLlrScorer site(workers, site_options);
  score::VariantScorer window(workers, window_options);
  score::SharedLanes lanes;
  site.plan(sites, reference, lanes);
  window.plan(others, reference, lanes);
  // Site lanes: a forward and a reverse lane for segments 3, 6 and 9; the window method's two
  // reference lanes are the forward lanes of 3 and 6.
  int64_t windows = 0;
  lanes.run(workers, site_options.lanes, &windows);
  const auto shared_sites = site.collect(lanes);
  const auto shared_windows = window.finish(lanes);
  EXPECT_EQ(lanes.lanes(), 6u);
  for (size_t v = 0; v < sites.size(); ++v) {
    ASSERT_FALSE(std::isnan(site_values[v].mean[0])) << v;
    EXPECT_NEAR(shared_sites[v].forward[0], site_values[v].forward[0], 1e-4) << v;
    EXPECT_NEAR(shared_sites[v].reverse[0], site_values[v].reverse[0], 1e-4) << v;
  }
  for (size_t v = 0; v < others.size(); ++v)
    for (size_t a = 0; a < others[v].alts.size(); ++a) {
      ASSERT_FALSE(std::isnan(window_values[v].llr[a])) << v;
      EXPECT_NEAR(shared_windows[v].llr[a], window_values[v].llr[a], 1e-4) << v << " alt " << a;
    }
}

TEST_F(VariantEffect, WorkerThreadsDoNotChangeScores) {
  std::vector<Variant> variants;
  for (int64_t p = 620; p < 1700; p += 53) variants.push_back(snv(p, 'G'));
  variants.push_back(Variant{"c1", 950, contig_.substr(950, 2), {"TT", "GC"}});
  auto options = small_window();
  auto one = score(variants, options);
  for (int64_t workers : {2, 3}) {
    workers_ = workers;
    auto many = score(variants, options);
    for (size_t v = 0; v < variants.size(); ++v)
      for (size_t a = 0; a < one[v].llr.size(); ++a)
        EXPECT_NEAR(many[v].llr[a], one[v].llr[a], 1e-4) << workers << " workers, variant " << v << " alt " << a;
  }
}

TEST_F(VariantEffect, EqualsTheHandBuiltHaplotypePair) {
  auto options = small_window();
  std::vector<Variant> variants = {snv(1234, 'G'),
                                   Variant{"c1", 1500, contig_.substr(1500, 4), {contig_.substr(1500, 1)}},
                                   Variant{"c1", 1610, contig_.substr(1610, 1), {contig_.substr(1610, 1) + "ACGTA"}}};
  auto scores = score(variants, options);
  for (size_t v = 0; v < variants.size(); ++v) {
    double expected = brute_force_llr(variants[v], variants[v].alts[0], options);
    EXPECT_NEAR(scores[v].llr[0], expected, 2e-3 * std::max(1.0, std::abs(expected))) << "variant " << v;
    EXPECT_GT(std::abs(expected), 1e-3);  // the tiny model does react to the change
  }
}

TEST_F(VariantEffect, AScoreDoesNotDependOnTheOtherRecords) {
  auto options = small_window();
  Variant target = snv(1111, 'A');
  float alone = score({target}, options)[0].llr[0];
  std::vector<Variant> crowd;
  for (int64_t p = 1000; p < 1300; p += 7) crowd.push_back(snv(p, 'C'));
  crowd.push_back(target);
  float among = score(crowd, options).back().llr[0];
  EXPECT_NEAR(alone, among, 1e-4);
  // A REF identical to the ALT changes nothing.
  Variant same{"c1", 1111, contig_.substr(1111, 1), {contig_.substr(1111, 1)}};
  EXPECT_NEAR(score({same}, options)[0].llr[0], 0.0, 1e-5);
}

TEST_F(VariantEffect, FlagsNameWhyAnAltHasNoScore) {
  auto options = small_window();
  std::string ref_at_500 = contig_.substr(500, 1);
  char wrong = ref_at_500 == "A" ? 'C' : 'A';
  std::vector<Variant> variants = {
      Variant{"chrZ", 10, "A", {"G"}},                                        // 0 contig missing
      Variant{"c1", 500, std::string(1, wrong), {"G"}},                      // 1 REF mismatch
      Variant{"c1", 500, ref_at_500, {"<DEL>", "*", "G]c1:100]", "T"}},      // 2 symbolic + one scored
      Variant{"c1", 500, ref_at_500, {"N", "R"}},                            // 3 non-ACGT ALT
      Variant{"c1", 2010, "N", {"A"}},                                       // 4 REF in the gap
      Variant{"c1", 5, contig_.substr(5, 1), {"A"}},                         // 5 edge: scored, flagged
      Variant{"c1", 900, contig_.substr(900, 1), {std::string(200, 'A')}},   // 6 too long for 300
      Variant{"c1", kContigLength - 1, contig_.substr(kContigLength - 1), {"AC"}},  // 7 edge at the end
      Variant{"c1", kContigLength - 1, contig_.substr(kContigLength - 1) + "A", {"A"}},  // 8 past the end
  };
  auto scores = score(variants, options);
  using V = std::vector<std::string>;
  EXPECT_EQ(scores[0].flags, V{"CONTIG_MISSING"});
  EXPECT_EQ(scores[1].flags, V{"REF_MISMATCH"});
  EXPECT_EQ(scores[2].flags, V{"SYMBOLIC_ALT"});
  EXPECT_TRUE(std::isnan(scores[2].llr[0]) && std::isnan(scores[2].llr[1]) && std::isnan(scores[2].llr[2]));
  EXPECT_FALSE(std::isnan(scores[2].llr[3]));
  EXPECT_EQ(scores[3].flags, V{"NON_ACGT_ALT"});
  EXPECT_EQ(scores[4].flags, V{"NON_ACGT_REF"});
  EXPECT_EQ(scores[5].flags, V{"EDGE"});
  EXPECT_FALSE(std::isnan(scores[5].llr[0]));
  EXPECT_EQ(scores[6].flags, V{"TOO_LONG"});
  EXPECT_EQ(scores[7].flags, V{"EDGE"});
  EXPECT_FALSE(std::isnan(scores[7].llr[0]));
  EXPECT_EQ(scores[8].flags, V{"PAST_CONTIG_END"});
  for (size_t v : {0, 1, 3, 4, 6, 8})
    for (float value : scores[v].llr) EXPECT_TRUE(std::isnan(value)) << v;
}

TEST_F(VariantEffect, BothStrandsAveragesTheMirroredVariantOnTheReverseComplement) {
  auto options = small_window();
  std::vector<Variant> variants = {snv(1303, 'G'),
                                   Variant{"c1", 1700, contig_.substr(1700, 3), {contig_.substr(1700, 1)}}};
  const std::string reversed = io::reverse_complement(contig_);
  const std::string mirror_fasta = path("mirror.fa");
  write_fasta(mirror_fasta, "c1", reversed);
  std::vector<Variant> mirrored;
  for (const Variant& v : variants) {
    const int64_t r = static_cast<int64_t>(v.ref.size());
    mirrored.push_back(Variant{"c1", kContigLength - v.position - r, io::reverse_complement(v.ref),
                               {io::reverse_complement(v.alts[0])}});
  }
  auto forward = score(variants, options);
  auto reverse = score(mirrored, options, mirror_fasta);
  options.both_strands = true;
  auto both = score(variants, options);
  for (size_t v = 0; v < variants.size(); ++v)
    EXPECT_NEAR(both[v].llr[0], (forward[v].llr[0] + reverse[v].llr[0]) / 2, 2e-4) << v;
}

TEST_F(VariantEffect, RegionsFilesAreBedOrOneBased) {
  std::ofstream(path("r.bed")) << "track name=x\n# comment\nc1\t0\t100\nc1\t200\t300\r\n";
  std::ofstream(path("r.txt")) << "c1\t1\t100\n";
  auto bed = io::read_regions_file(path("r.bed"));
  ASSERT_EQ(bed.size(), 2u);
  EXPECT_EQ(bed[0], (io::Region{"c1", 0, 100}));
  EXPECT_EQ(bed[1], (io::Region{"c1", 200, 300}));
  EXPECT_EQ(io::read_regions_file(path("r.txt"))[0], (io::Region{"c1", 0, 100}));
  std::ofstream(path("bad.bed")) << "c1\t10\n";
  std::ofstream(path("backwards.bed")) << "c1\t10\t5\n";
  std::ofstream(path("zero.txt")) << "c1\t0\t5\n";
  for (const char* name : {"bad.bed", "backwards.bed", "zero.txt", "missing.bed"}) {
    try {
      io::read_regions_file(path(name));
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}
