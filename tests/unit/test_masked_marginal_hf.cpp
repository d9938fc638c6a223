// Parity of the masked-marginal LLR with PyTorch: the DNABERT-2 fixture of
// tests/hf/make_dnabert2_checkpoint.py, imported by germ, against
// tests/hf/masked_marginal_reference.py, which lays out the same definition with the
// fixture's own BPE and DNABERT-2 forward, one unpadded input at a time.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include "io/indexed_fasta.hpp"
#include "model/hf_import.hpp"
#include "score/masked_marginal.hpp"
#include "test_support.hpp"

using namespace germ;
using score::Variant;

namespace {

constexpr int64_t kContext = 120;

// DNA with the fixture's training motifs, so that its BPE makes long tokens here too.
std::string motif_dna(int64_t length, unsigned seed) {
  const std::vector<std::string> motifs = {"TATAAA", "GGGCGG", "CACGTG", "TTGACA", "AATAAA", "CCAAT", "GATC"};
  std::mt19937 rng(seed);
  std::string dna;
  while (static_cast<int64_t>(dna.size()) < length) {
    if (rng() % 10 < 4) {
      dna += motifs[rng() % motifs.size()];
    } else {
      for (unsigned n = 1 + rng() % 8; n > 0; --n) dna += "ACGT"[rng() % 4];
    }
  }
  return dna.substr(0, length);
}

class MaskedMarginalHf : public test_support::TempDirTest {};

TEST_F(MaskedMarginalHf, MatchesThePyTorchReferenceOnTheDnabert2Fixture) {
  const std::string python = test_support::python_with_torch();
  if (python.empty()) GTEST_SKIP() << "python3 with torch (Debian python3-torch) is not installed";
  const std::string scripts = std::string(GERM_TEST_DATA_DIR) + "/../tests/hf/";
  std::string command = python + " " + scripts + "make_dnabert2_checkpoint.py " + path("hf") + " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  const std::string contig = motif_dna(600, 17);
  {
    std::ofstream fasta(path("ref.fa"));
    fasta << ">c1\n";
    for (size_t i = 0; i < contig.size(); i += 60) fasta << contig.substr(i, 60) << "\n";
  }
  auto other = [&](int64_t p) { return std::string(1, contig[p] == 'A' ? 'G' : 'A'); };
  const std::vector<Variant> variants = {
      {"c1", 5, contig.substr(5, 1), {other(5)}},                             // left flank clipped
      {"c1", 100, contig.substr(100, 1), {other(100), "T", "C"}},             // multi-ALT (one may be REF)
      {"c1", 211, contig.substr(211, 1), {other(211)}},
      {"c1", 300, contig.substr(300, 1), {contig.substr(300, 1) + "TATAAA"}},  // insertion of a motif
      {"c1", 350, contig.substr(350, 5), {contig.substr(350, 1)}},            // deletion
      {"c1", 402, contig.substr(402, 3), {"GGC"}},                            // MNV
      {"c1", 470, contig.substr(470, 2), {"CACGTGA"}},                        // complex
      {"c1", 597, contig.substr(597, 1), {other(597)}}};                      // right flank clipped
  {
    std::ofstream tsv(path("variants.tsv"));
    for (const Variant& v : variants)
      for (const std::string& alt : v.alts) tsv << v.contig << "\t" << v.position << "\t" << v.ref << "\t" << alt << "\n";
  }
  command = python + " " + scripts + "masked_marginal_reference.py " + path("hf") + " " + path("ref.fa") + " " +
            path("variants.tsv") + " " + std::to_string(kContext) + " " + path("reference.tsv");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream reference_values(path("reference.tsv"));

  model::HfImport imported = model::import_hf_checkpoint(path("hf/mlm"));
  score::MaskedMarginalScorer scorer(imported.bundle, {kContext, 4096, "dnabert2-fixture"});
  io::IndexedFasta reference(path("ref.fa"));
  const auto scores = scorer.score(variants, reference);
  int64_t compared = 0, nonzero = 0;
  for (size_t v = 0; v < variants.size(); ++v) {
    for (size_t a = 0; a < variants[v].alts.size(); ++a) {
      double expected = NAN;
      ASSERT_TRUE(reference_values >> expected) << "the reference has too few values";
      EXPECT_NEAR(scores[v].llr[a], expected, 1e-4) << variants[v].position << " " << variants[v].ref << ">"
                                                     << variants[v].alts[a];
      ++compared;
      nonzero += std::abs(expected) > 0.1;
    }
  }
  EXPECT_EQ(compared, 10);
  EXPECT_GE(nonzero, 8);
  EXPECT_EQ(scores[0].flags, std::vector<std::string>{"EDGE"});
  EXPECT_EQ(scores[7].flags, std::vector<std::string>{"EDGE"});
}

}  // namespace
