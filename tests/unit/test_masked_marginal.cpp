// Masked-marginal variant LLRs under encoder models (src/score/masked_marginal.*): the
// invariants of the definition (REF == ALT gives 0, swapping REF and ALT negates, a
// nucleotide vocabulary gives the log-odds at the masked base), flags, and batching.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "io/indexed_fasta.hpp"
#include "model/config.hpp"
#include "score/masked_marginal.hpp"
#include "test_support.hpp"
#include "tokenize/hf_bpe_tokenizer.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "tokenize/sentencepiece_bpe_tokenizer.hpp"
#include "util/error.hpp"

using namespace germ;
using score::Variant;

namespace {

constexpr int64_t kContigLength = 600;

// A BPE vocabulary whose merges make tokens of 1 to 6 bases, so spans often grow past REF.
std::shared_ptr<const tokenize::Tokenizer> bpe_tokenizer() {
  const std::vector<std::string> merges = {"A C", "G T", "AC GT", "T A", "C C", "G G", "TA TA", "A A",
                                           "C A", "G A", "T T", "ACGT A", "CC G", "T G", "AA T"};
  std::vector<std::string> tokens = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "A", "C", "G", "T", "N"};
  for (const auto& merge : merges) {
    std::string joined = merge.substr(0, merge.find(' ')) + merge.substr(merge.find(' ') + 1);
    if (std::find(tokens.begin(), tokens.end(), joined) == tokens.end()) tokens.push_back(joined);
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  nlohmann::json file = {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Whitespace"}}},
      {"post_processor", nullptr},
      {"model", {{"type", "BPE"}, {"unk_token", "[UNK]"}, {"fuse_unk", false}, {"vocab", vocab}, {"merges", merges}}}};
  return std::make_shared<tokenize::HfBpeTokenizer>(tokenize::HfBpeTokenizer::from_tokenizer_json(file.dump()));
}

// A tiny encoder with weights large enough that its predictions are far from uniform (the
// default initialisation gives LLRs near 0, which would make every check pass trivially).
model::GermModel tiny_encoder(int64_t vocab) {
  torch::manual_seed(5);
  model::ModelConfig config = model::ModelConfig::preset("tiny", model::ModelKind::kEncoderMlm);
  config.vocab = vocab;
  model::GermModel model(config, model::ModelKind::kEncoderMlm);
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->parameters())
    if (parameter.dim() == 2) parameter.normal_(0.0, 0.25);
  return model;
}

class MaskedMarginal : public test_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::mt19937 rng(3);
    contig_.resize(kContigLength);
    for (char& base : contig_) base = "ACGT"[rng() % 4];
    contig_.replace(200, 12, "ACGTACGTACGT");  // long tokens around a variant
    for (int64_t i = 500; i < 510; ++i) contig_[i] = 'N';
    fasta_ = write_fasta("ref.fa", contig_);
  }

  std::string write_fasta(const std::string& name, const std::string& bases) const {
    std::ofstream out(path(name));
    out << ">c1\n";
    for (size_t i = 0; i < bases.size(); i += 60) out << bases.substr(i, 60) << "\n";
    out << ">short\nACGTACGTAC\n";
    return path(name);
  }

  std::vector<score::VariantScore> score_with(score::MaskedMarginalScorer& scorer, const std::vector<Variant>& variants,
                                              const std::string& fasta = "") const {
    io::IndexedFasta reference(fasta.empty() ? fasta_ : fasta);
    return scorer.score(variants, reference);
  }

  std::string contig_, fasta_;
};

TEST_F(MaskedMarginal, RefEqualsAltGivesExactlyZero) {
  auto tokenizer = bpe_tokenizer();
  score::MaskedMarginalScorer scorer(tiny_encoder(tokenizer->vocab_size()), tokenizer, {80, 4096, "tiny"});
  std::vector<Variant> variants = {{"c1", 100, contig_.substr(100, 1), {contig_.substr(100, 1)}},
                                   {"c1", 203, contig_.substr(203, 3), {"G", contig_.substr(203, 3)}},
                                   {"c1", 2, contig_.substr(2, 2), {contig_.substr(2, 2)}}};
  auto scores = score_with(scorer, variants);
  EXPECT_EQ(scores[0].llr[0], 0.0f);
  EXPECT_TRUE(std::isfinite(scores[1].llr[0]));
  EXPECT_NE(scores[1].llr[0], 0.0f);
  EXPECT_EQ(scores[1].llr[1], 0.0f);
  EXPECT_EQ(scores[2].llr[0], 0.0f);
}

// The alt->ref change on the reference that carries ALT: same flanks, spans swapped.
TEST_F(MaskedMarginal, SwappingRefAndAltNegates) {
  auto tokenizer = bpe_tokenizer();
  struct Change {
    int64_t position;
    int64_t ref_length;
    std::string alt;
  };
  const std::vector<Change> changes = {{150, 1, "T"}, {204, 1, "G"}, {205, 1, "TTGA"}, {201, 5, "C"},
                                       {300, 3, "GGT"}, {10, 1, "ACGTA"}, {590, 1, "C"}};
  int widened = 0, uneven = 0;  // the cases the span rule exists for
  for (const Change& change : changes) {
    const std::string ref = contig_.substr(change.position, change.ref_length);
    std::string carrier = contig_;
    carrier.replace(change.position, change.ref_length, change.alt);
    const std::string carrier_fasta = write_fasta("carrier.fa", carrier);

    // The layouts mirror each other token for token.
    const std::string window = contig_.substr(change.position - 10, 30 + change.ref_length);
    const std::string carrier_window = carrier.substr(change.position - 10, 30 + change.alt.size());
    auto forward = score::layout_masked_pair(*tokenizer, window, 10, change.ref_length, change.alt);
    auto back = score::layout_masked_pair(*tokenizer, carrier_window, 10, change.alt.size(), ref);
    widened += forward.span_end - forward.span_begin > change.ref_length;
    uneven += forward.ref_span.size() != forward.alt_span.size();
    EXPECT_EQ(forward.left, back.left);
    EXPECT_EQ(forward.right, back.right);
    EXPECT_EQ(forward.ref_span, back.alt_span);
    EXPECT_EQ(forward.alt_span, back.ref_span);

    score::MaskedMarginalScorer scorer(tiny_encoder(tokenizer->vocab_size()), tokenizer, {80, 4096, "tiny"});
    const float there = score_with(scorer, {{"c1", change.position, ref, {change.alt}}})[0].llr[0];
    const float back_again = score_with(scorer, {{"c1", change.position, change.alt, {ref}}}, carrier_fasta)[0].llr[0];
    ASSERT_TRUE(std::isfinite(there)) << change.position;
    EXPECT_NE(there, 0.0f) << change.position;
    EXPECT_NEAR(back_again, -there, test_support::float_tolerance(there)) << change.position;
  }
  EXPECT_GE(widened, 3);
  EXPECT_GE(uneven, 3);
}

// Single-base tokens: one [MASK] on the variant base, both alleles read from the same input.
TEST_F(MaskedMarginal, NucleotideVocabularyGivesTheLogOddsAtTheMaskedBase) {
  auto tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  model::GermModel model = tiny_encoder(tokenize::NucleotideTokenizer::kVocabSize);
  score::MaskedMarginalScorer scorer(model, tokenizer, {60, 4096, "tiny"});
  for (int64_t position : {40, 333, 420}) {
    const char alt = contig_[position] == 'A' ? 'G' : 'A';
    const float llr = score_with(scorer, {{"c1", position, contig_.substr(position, 1), {std::string(1, alt)}}})[0].llr[0];

    std::vector<int64_t> ids = {tokenize::kClsId};
    for (int64_t i = position - 30; i <= position + 30; ++i)
      ids.push_back(i == position ? tokenize::kMaskId : tokenize::NucleotideTokenizer::id_of(contig_[i]));
    ids.push_back(tokenize::kSepId);
    torch::NoGradGuard no_grad;
    at::Tensor log_probs = torch::log_softmax(model->forward(torch::tensor(ids).unsqueeze(0))[0][31], -1);
    const double expected = log_probs[tokenize::NucleotideTokenizer::id_of(alt)].item<double>() -
                            log_probs[tokenize::NucleotideTokenizer::id_of(contig_[position])].item<double>();
    EXPECT_NEAR(llr, expected, test_support::float_tolerance(expected)) << position;
    EXPECT_GT(std::abs(expected), 1e-3);
  }
  EXPECT_EQ(scorer.forwards_run(), 3);
  EXPECT_EQ(scorer.inputs_run(), 3);  // REF and ALT share their one masked input
}

TEST_F(MaskedMarginal, FlagsMatchTheCausalScorer) {
  auto tokenizer = bpe_tokenizer();
  score::MaskedMarginalScorer scorer(tiny_encoder(tokenizer->vocab_size()), tokenizer, {80, 4096, "tiny"});
  const std::string wrong(1, contig_[100] == 'A' ? 'C' : 'A');
  const std::vector<Variant> variants = {
      {"chrZ", 10, "A", {"C"}},                                        // 0
      {"c1", 100, wrong, {"G"}},                                       // 1 REF mismatch
      {"c1", 100, contig_.substr(100, 1), {"<DEL>", "T", "*"}},        // 2 symbolic + scored
      {"c1", 100, contig_.substr(100, 1), {"R"}},                      // 3
      {"c1", 505, "N", {"A"}},                                         // 4
      {"c1", 20, contig_.substr(20, 1), {"T"}},                        // 5 left flank clipped
      {"c1", 300, contig_.substr(300, 1), {std::string(41, 'A')}},     // 6 longer than W/2
      {"c1", 560, contig_.substr(560, 1), {"T"}},                      // 7 right flank clipped
      {"c1", 599, "AC", {"A"}},                                        // 8
      {"c1", 300, contig_.substr(300, 1), {"C", std::string(41, 'A')}}};  // 9 one TOO_LONG ALT
  auto scores = score_with(scorer, variants);
  using V = std::vector<std::string>;
  EXPECT_EQ(scores[0].flags, V{"CONTIG_MISSING"});
  EXPECT_EQ(scores[1].flags, V{"REF_MISMATCH"});
  EXPECT_EQ(scores[2].flags, V{"SYMBOLIC_ALT"});
  EXPECT_EQ(scores[3].flags, V{"NON_ACGT_ALT"});
  EXPECT_EQ(scores[4].flags, V{"NON_ACGT_REF"});
  EXPECT_EQ(scores[5].flags, V{"EDGE"});
  EXPECT_EQ(scores[6].flags, V{"TOO_LONG"});
  EXPECT_EQ(scores[7].flags, V{"EDGE"});
  EXPECT_EQ(scores[8].flags, V{"PAST_CONTIG_END"});
  EXPECT_EQ(scores[9].flags, V{"TOO_LONG"});
  for (size_t v : {0, 1, 3, 4, 6, 8}) EXPECT_TRUE(std::isnan(scores[v].llr[0])) << v;
  EXPECT_TRUE(std::isnan(scores[2].llr[0]) && std::isnan(scores[2].llr[2]));
  for (float value : {scores[2].llr[1], scores[5].llr[0], scores[7].llr[0], scores[9].llr[0]})
    EXPECT_TRUE(std::isfinite(value));
  EXPECT_TRUE(std::isnan(scores[9].llr[1]));
  // EDGE means a flank is clipped: W/2 = 40 bases after a 10-base REF at 552 run past 600,
  // though a window centred on that REF (the causal scorer's) would not.
  EXPECT_EQ(score_with(scorer, {{"c1", 552, contig_.substr(552, 10), {"A"}}})[0].flags, V{"EDGE"});
  EXPECT_EQ(score_with(scorer, {{"c1", 550, contig_.substr(550, 10), {"A"}}})[0].flags, V{});
}

TEST_F(MaskedMarginal, ValuesDoNotDependOnTheBlockOrTheBatch) {
  auto tokenizer = bpe_tokenizer();
  model::GermModel model = tiny_encoder(tokenizer->vocab_size());
  std::vector<Variant> variants;
  for (int64_t p = 60; p < 480; p += 37)
    variants.push_back({"c1", p, contig_.substr(p, 2), {contig_.substr(p, 1), "TT", contig_.substr(p, 2) + "A"}});
  score::MaskedMarginalScorer together(model, tokenizer, {80, 1 << 20, "tiny"});
  score::MaskedMarginalScorer one_row(model, tokenizer, {80, 1, "tiny"});
  auto block = score_with(together, variants);
  EXPECT_EQ(together.forwards_run(), 1);
  for (size_t v = 0; v < variants.size(); ++v) {
    auto alone = score_with(one_row, {variants[v]});
    for (size_t a = 0; a < 3; ++a)
      EXPECT_NEAR(block[v].llr[a], alone[0].llr[a], test_support::float_tolerance(alone[0].llr[a])) << v << " " << a;
  }
}

// germ's pretraining corpus has no N, so its SentencePiece vocabulary has none: a run of N in
// the context is a run of [UNK], one per base, and the layout must still place the variant.
TEST(MaskedMarginalSetup, UnknownBasesKeepTheLayout) {
  auto tokenizer = tokenize::SentencePieceBpeTokenizer::train(
      {std::string(200, 'A') + std::string(200, 'C') + "ACACGTGT"}, 20);
  const std::string window = "NNACACGTGTNNNNCCCCAAAACACGTNNAC";
  const auto ids = tokenizer.encode(window);
  ASSERT_EQ(std::count(ids.begin(), ids.end(), tokenize::kUnkId), 3);  // one [UNK] per run of N
  auto pair = score::layout_masked_pair(tokenizer, window, 14, 1, "T");  // C>T just after NNNN
  EXPECT_EQ(pair.span_begin, 14);
  EXPECT_EQ(pair.left, tokenizer.encode(window.substr(0, 14)));
  EXPECT_EQ(tokenizer.decode(pair.ref_span), window.substr(14, pair.span_end - 14));
  EXPECT_EQ(pair.right, tokenizer.encode(window.substr(pair.span_end)));
  // An ALT that extends the N run moves the span's start to the run's.
  EXPECT_EQ(score::layout_masked_pair(tokenizer, window, 14, 1, "NT").span_begin, 10);
}

TEST(MaskedMarginalSetup, DefaultContextFitsTheModelLength) {
  tokenize::NucleotideTokenizer nucleotides;
  EXPECT_DOUBLE_EQ(score::probe_bases_per_token(nucleotides), 1.0);
  EXPECT_EQ(score::default_context_bases(nucleotides, 128), 118);  // 128 - [CLS] - [SEP] - 8
  auto bpe = bpe_tokenizer();
  const double bases_per_token = score::probe_bases_per_token(*bpe);
  EXPECT_GT(bases_per_token, 1.2);
  const int64_t context = score::default_context_bases(*bpe, 512);
  EXPECT_EQ(context % 2, 0);
  EXPECT_NEAR(context, bases_per_token * 502, 2.0);

  score::MaskedMarginalScorer scorer(tiny_encoder(bpe->vocab_size()), bpe, {0, 4096, "tiny.safetensors"});
  EXPECT_EQ(scorer.context_bases(), score::default_context_bases(*bpe, 128));
  EXPECT_NE(scorer.describe().find("tiny.safetensors"), std::string::npos);
  EXPECT_NE(scorer.describe().find("masked-marginal"), std::string::npos);
}

TEST(MaskedMarginalSetup, RefusesModelsWithoutAnMlmHead) {
  auto tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  model::ModelConfig config = model::ModelConfig::preset("tiny", model::ModelKind::kCausalLm);
  model::GermModel causal(config, model::ModelKind::kCausalLm);
  try {
    score::MaskedMarginalScorer scorer(causal, tokenizer, {0, 4096, "lm.safetensors"});
    FAIL() << "a causal LM was accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("lm.safetensors: masked-marginal scoring needs an encoder-mlm"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
