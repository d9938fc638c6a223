// Per-read scoring: batched plain forwards must give what LaneScorer (and so `germ score` on a
// FASTA) gives the same sequence; classifier tiles are averaged.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "write/alignment_writer.hpp"
#include "model/focus.hpp"
#include "model/token_batch.hpp"
#include "score/fasta_scorer.hpp"
#include "score/read_scorer.hpp"
#include "test_support.hpp"
#include "tiny_focus_model.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

using test_support::TinyFocusModel;

std::string random_read(std::mt19937& rng, size_t length, double n_rate = 0.03) {
  std::uniform_real_distribution<double> unit(0, 1);
  std::string bases(length, 'A');
  for (char& base : bases) base = unit(rng) < n_rate ? 'N' : "ACGT"[rng() % 4];
  return bases;
}

int64_t bases_with_values(const std::string& read) {
  int64_t count = 0;
  for (size_t i = 1; i < read.size(); ++i) count += read[i] != 'N';
  return count;
}

// The mean LaneScorer gives a read scored on its own, as germ score scores a contig.
double lane_mean(TinyFocusModel& tiny, const std::string& read) {
  score::LaneScorer lanes(tiny.model, tiny.adapter, tiny.geometry, 1);
  std::vector<score::ScoreResult> result = lanes.run({score::ScoreJob{read, 0}});
  double sum = 0;
  int64_t count = 0;
  for (float value : result[0].log_likelihood)
    if (!std::isnan(value)) sum += value, ++count;
  return count ? sum / count : std::nan("");
}

// The mean of one unpadded causal forward over the read alone.
double unpadded_mean(TinyFocusModel& tiny, const std::string& read) {
  c10::InferenceMode inference;
  std::vector<int64_t> ids(read.size());
  tokenize::NucleotideTokenizer::encode_into(read, ids.data());
  at::Tensor hidden = tiny.model->hidden_states(at::tensor(ids, at::kLong).view({1, -1}));
  at::Tensor log_probs = model::base_log_probs(tiny.model, hidden)[0];
  double sum = 0;
  int64_t count = 0;
  for (size_t i = 1; i < read.size(); ++i) {
    int64_t column = tokenize::NucleotideTokenizer::id_of(read[i]) - tokenize::NucleotideTokenizer::kFirstBaseId;
    if (column < 0 || column >= 4) continue;
    sum += log_probs[i - 1][column].item<float>(), ++count;
  }
  return sum / count;
}

class ReadScorerFasta : public test_support::TempDirTest {};

}  // namespace

TEST(ReadScorer, PaddedBatchesMatchLaneScorerAndUnpaddedForward) {
  for (auto normaliser : {model::Normaliser::kSoftmax1, model::Normaliser::kSoftmax}) {
    TinyFocusModel tiny(normaliser);
    std::mt19937 rng(11);
    std::vector<std::string> reads;
    for (size_t length : {2, 3, 17, 50, 99, 100, 64, 64, 81, 33, 100, 7}) reads.push_back(random_read(rng, length));
    reads.push_back("NNNNACGTTG");
    // 150 tokens per forward: several batches, each padded to its longest read.
    score::ReadLikelihoodScorer scorer(tiny.model, tiny.adapter, tiny.geometry, 150);
    std::vector<score::ReadLikelihood> values = scorer.score(reads);
    ASSERT_EQ(values.size(), reads.size());
    EXPECT_GT(scorer.forwards_run(), 3);
    EXPECT_EQ(scorer.long_reads(), 0);
    for (size_t i = 0; i < reads.size(); ++i) {
      ASSERT_EQ(values[i].bases, bases_with_values(reads[i])) << reads[i];
      if (values[i].bases == 0) continue;  // an N after the first base of a 2-base read
      EXPECT_NEAR(values[i].mean_log_likelihood, lane_mean(tiny, reads[i]), 1e-4) << "read " << i;
      EXPECT_NEAR(values[i].mean_log_likelihood, unpadded_mean(tiny, reads[i]), 1e-4) << "read " << i;
      EXPECT_LT(values[i].mean_log_likelihood, 0.0);
    }
  }
}

TEST(ReadScorer, ReadsLongerThanAWindowGoThroughLanes) {
  TinyFocusModel tiny;
  std::mt19937 rng(12);
  std::vector<std::string> reads{random_read(rng, 250), random_read(rng, 40), random_read(rng, 301, 0.0)};
  score::ReadLikelihoodScorer scorer(tiny.model, tiny.adapter, tiny.geometry);
  std::vector<score::ReadLikelihood> values = scorer.score(reads);
  EXPECT_EQ(scorer.long_reads(), 2);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(values[i].bases, bases_with_values(reads[i]));
    EXPECT_NEAR(values[i].mean_log_likelihood, lane_mean(tiny, reads[i]), 1e-5) << "read " << i;
  }
  // Past the first window FOCUS memory replaces full attention, so the plain forward differs.
  EXPECT_GT(std::abs(values[2].mean_log_likelihood - unpadded_mean(tiny, reads[2])), 1e-4);
}

TEST(ReadScorer, AReadScoresTheSameAloneAndInABatch) {
  TinyFocusModel tiny;
  std::mt19937 rng(13);
  std::vector<std::string> crowd;
  for (int i = 0; i < 40; ++i) crowd.push_back(random_read(rng, 60 + (i * 7) % 41));
  score::ReadLikelihoodScorer scorer(tiny.model, tiny.adapter, tiny.geometry, 100000);
  std::vector<score::ReadLikelihood> together = scorer.score(crowd);
  for (size_t i : {0, 17, 39}) {
    score::ReadLikelihood alone = scorer.score({crowd[i]})[0];
    EXPECT_NEAR(alone.mean_log_likelihood, together[i].mean_log_likelihood, 1e-5) << "read " << i;
  }
}

TEST(ReadScorer, ThreadsDoNotChangeTheValues) {
  // -@ 1 and -@ 2 (LibTorch's intra-op threads) give every read the same value.
  TinyFocusModel tiny;
  std::mt19937 rng(14);
  std::vector<std::string> reads;
  for (int i = 0; i < 60; ++i) reads.push_back(random_read(rng, 20 + (i * 13) % 90));
  const int threads_before = at::get_num_threads();
  at::set_num_threads(1);
  score::ReadLikelihoodScorer one(tiny.model, tiny.adapter, tiny.geometry, 300);
  std::vector<score::ReadLikelihood> alone = one.score(reads);
  at::set_num_threads(2);
  score::ReadLikelihoodScorer two(tiny.model, tiny.adapter, tiny.geometry, 300);
  std::vector<score::ReadLikelihood> shared = two.score(reads);
  at::set_num_threads(threads_before);
  EXPECT_GT(two.forwards_run(), 4);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(shared[i].bases, alone[i].bases) << i;
    EXPECT_NEAR(shared[i].mean_log_likelihood, alone[i].mean_log_likelihood, 1e-5) << "read " << i;
  }
}

TEST(ReadScorer, ReadsWithoutScoredBasesHaveNoValue) {
  TinyFocusModel tiny;
  score::ReadLikelihoodScorer scorer(tiny.model, tiny.adapter, tiny.geometry);
  std::vector<score::ReadLikelihood> values = scorer.score({"", "A", "NNNN", "AN", "ANC", "ACGT"});
  for (size_t i : {0, 1, 2, 3}) {
    EXPECT_EQ(values[i].bases, 0) << i;
    EXPECT_TRUE(std::isnan(values[i].mean_log_likelihood)) << i;
  }
  EXPECT_EQ(values[4].bases, 1);  // only C: A is the first base, N is not scored
  EXPECT_EQ(values[5].bases, 3);
  EXPECT_TRUE(std::isfinite(values[5].mean_log_likelihood));
}

TEST_F(ReadScorerFasta, AReadEqualsAOneRecordFasta) {
  TinyFocusModel tiny;
  std::mt19937 rng(14);
  for (size_t length : {90, 100}) {
    std::string read = random_read(rng, length);
    std::ofstream(path("read.fa")) << ">read\n" << read << "\n";
    score::FastaScoreOptions options;
    options.input = path("read.fa");
    options.quiet = true;
    score::LaneScorer lanes(tiny.model, tiny.adapter, tiny.geometry, 4);
    double weighted = 0;
    int64_t covered = 0;
    score::score_fasta(lanes, options, [&](const std::string&, int64_t begin, int64_t end, float value) {
      weighted += value * static_cast<double>(end - begin), covered += end - begin;
    });
    score::ReadLikelihoodScorer scorer(tiny.model, tiny.adapter, tiny.geometry);
    score::ReadLikelihood value = scorer.score({read})[0];
    EXPECT_EQ(value.bases, covered);
    EXPECT_NEAR(value.mean_log_likelihood, weighted / covered, 1e-4) << "length " << length;
  }
}

TEST(ReadScorerTiles, FewestTilesSpreadFromFirstToLastBase) {
  EXPECT_EQ(score::tile_starts(50, 80), (std::vector<int64_t>{0}));
  EXPECT_EQ(score::tile_starts(80, 80), (std::vector<int64_t>{0}));
  EXPECT_EQ(score::tile_starts(150, 80), (std::vector<int64_t>{0, 70}));
  EXPECT_EQ(score::tile_starts(240, 80), (std::vector<int64_t>{0, 80, 160}));
  std::vector<int64_t> starts = score::tile_starts(241, 80);
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(starts.front(), 0);
  EXPECT_EQ(starts.back(), 161);
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_LE(starts[i] - starts[i - 1], 80);  // no gap
}

TEST(ReadScorerClassifier, ClassProbabilitiesAreMeansOverTiles) {
  at::manual_seed(21);
  model::ModelConfig config = model::ModelConfig::preset("tiny", model::ModelKind::kClassifier);
  config.vocab = 10, config.num_labels = 3;
  model::GermModel classifier(config, model::ModelKind::kClassifier);
  {
    at::NoGradGuard no_grad;
    for (auto& parameter : classifier->parameters()) parameter.mul_(4.0);  // confident, distinct classes
  }
  auto tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  std::mt19937 rng(22);
  std::vector<std::string> reads{random_read(rng, 30, 0.0), random_read(rng, 100, 0.0), random_read(rng, 40, 0.0)};

  auto probabilities_of = [&](const std::string& bases) {
    std::vector<int64_t> tokens = model::frame_sequence(*tokenizer, model::ModelKind::kClassifier, bases, 512);
    return model::class_probabilities(classifier, {tokens}, 1, c10::Device(c10::kCPU))[0];
  };
  std::vector<at::Tensor> expected{probabilities_of(reads[0]),
                                   (probabilities_of(reads[1].substr(0, 40)) + probabilities_of(reads[1].substr(30, 40)) +
                                    probabilities_of(reads[1].substr(60, 40))) / 3,
                                   probabilities_of(reads[2])};

  score::ReadClassifier predicted(classifier, tokenizer, 40, -1, c10::Device(c10::kCPU), 2);
  std::vector<score::ReadClass> classes = predicted.classify(reads);
  EXPECT_EQ(predicted.tiles_run(), 5);
  score::ReadClassifier fixed(classifier, tokenizer, 40, 2, c10::Device(c10::kCPU));
  std::vector<score::ReadClass> class_two = fixed.classify(reads);
  for (size_t i = 0; i < reads.size(); ++i) {
    int64_t best = expected[i].argmax().item<int64_t>();
    EXPECT_EQ(classes[i].label, best) << i;
    EXPECT_NEAR(classes[i].probability, expected[i][best].item<float>(), 1e-5) << i;
    EXPECT_EQ(class_two[i].label, best) << i;
    EXPECT_NEAR(class_two[i].probability, expected[i][2].item<float>(), 1e-5) << i;
  }
  EXPECT_THROW(score::ReadClassifier(classifier, tokenizer, 40, 3, c10::Device(c10::kCPU)), Error);
}

TEST(ReadScorerFormats, OutputTypeOverridesTheNameWhichOverridesSam) {
  using write::AlignmentFormat;
  EXPECT_EQ(write::parse_alignment_format("", "out.bam"), AlignmentFormat::kBam);
  EXPECT_EQ(write::parse_alignment_format("", "out.cram"), AlignmentFormat::kCram);
  EXPECT_EQ(write::parse_alignment_format("", "out.sam"), AlignmentFormat::kSam);
  EXPECT_EQ(write::parse_alignment_format("", "-"), AlignmentFormat::kSam);
  EXPECT_EQ(write::parse_alignment_format("", "out.txt"), AlignmentFormat::kSam);
  EXPECT_EQ(write::parse_alignment_format("BAM", "out.sam"), AlignmentFormat::kBam);
  EXPECT_EQ(write::parse_alignment_format("cram", "-"), AlignmentFormat::kCram);
  EXPECT_THROW(write::parse_alignment_format("bedgraph", "out.bam"), Error);
}
