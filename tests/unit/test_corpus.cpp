// The packed genome corpus, sampling weights, held-out files, --time-limit and --precision.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <random>

#include "io/indexed_fasta.hpp"
#include "model/model_store.hpp"
#include "train/genome_corpus.hpp"
#include "train/packed_bases.hpp"
#include "train/precision.hpp"
#include "train/pretrain.hpp"
#include "train/sampling_weights.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

using namespace germ;

namespace {

std::string random_bases(size_t length, uint64_t seed, const char* alphabet = "ACGT", int letters = 4) {
  std::mt19937_64 rng(seed);
  std::string s(length, 'A');
  for (auto& c : s) c = alphabet[rng() % letters];
  return s;
}

class CorpusTest : public test_support::TempDirTest {
 protected:
  std::string write_fasta(const std::string& name, const std::vector<std::pair<std::string, std::string>>& records) {
    std::string file = path(name);
    std::ofstream out(file);
    for (const auto& [contig, bases] : records) out << '>' << contig << '\n' << bases << '\n';
    return file;
  }

  train::PretrainOptions tiny_clm(const std::string& genome) {
    train::PretrainOptions o;
    o.objective = "clm";
    o.inputs = {genome};
    o.output = path("out.safetensors");
    o.steps = 12;
    o.batch_size = 4;
    o.seq_len = 48;
    o.lr = 3e-3;
    o.eval_every = 4;
    o.eval_windows = 8;
    o.checkpoint_every = 0;
    o.seed = 11;
    o.quiet = true;
    return o;
  }
};

}  // namespace

TEST(PackedBases, ReadsBackEverySliceWithNRuns) {
  std::string bases = random_bases(1000, 1, "ACGTN", 5);
  bases.replace(100, 40, std::string(40, 'N'));
  train::PackedBases packed;
  // Appended in uneven chunks, so N runs and bytes straddle the chunk boundaries.
  for (size_t at = 0; at < bases.size(); at += 37) packed.append(std::string_view(bases).substr(at, 37));
  ASSERT_EQ(packed.size(), 1000);
  EXPECT_EQ(packed.read(0, 1000), bases);
  for (int64_t begin : {0, 1, 3, 99, 101, 139, 140, 997})
    for (int64_t length : {0, 1, 2, 5, 3}) {
      if (begin + length > 1000) continue;
      EXPECT_EQ(packed.read(begin, length), bases.substr(begin, length)) << begin << "+" << length;
      EXPECT_EQ(packed.count_n(begin, begin + length),
                std::count(bases.begin() + begin, bases.begin() + begin + length, 'N'));
    }
  EXPECT_THROW(packed.read(990, 20), Error);
  packed.shrink_to_fit();
  EXPECT_LT(packed.memory_bytes(), 250u + 16 * 220);  // 2 bits a base plus the N runs
}

TEST_F(CorpusTest, CorpusIsPackedAndSharedBetweenTrainAndHoldout) {
  std::string a = random_bases(40000, 2);
  train::GenomeCorpus corpus = train::load_corpus({write_fasta("g.fa", {{"a", a}})}, {});
  ASSERT_EQ(corpus.train.size(), 1u);
  ASSERT_EQ(corpus.holdout.size(), 1u);
  EXPECT_EQ(corpus.train[0].contig_bases, corpus.holdout[0].contig_bases);  // one packed copy
  EXPECT_EQ(corpus.holdout[0].read(0, corpus.holdout[0].length), a.substr(38000));
  EXPECT_LT(corpus.memory_bytes(), 40000u / 4 + 64);
}

TEST_F(CorpusTest, FileWeightsSetTheMixtureOfWindows) {
  // File 0 holds only A (windows A.. or T..), file 1 only C (C.. or G..) and is 16x longer.
  std::string small = write_fasta("small.fa", {{"s", std::string(2000, 'A')}});
  std::string large = write_fasta("large.fa", {{"l", std::string(32000, 'C')}});
  train::GenomeCorpus corpus = train::load_corpus({small, large}, {0.0, {}, 64});
  auto share_of_small = [&](const std::vector<double>& weights) {
    train::WindowSampler sampler(corpus.train, 100, 5, 0.1, weights);
    int from_small = 0;
    for (int i = 0; i < 4000; ++i) {
      char c = sampler.next()[0];
      from_small += c == 'A' || c == 'T';
    }
    return from_small / 4000.0;
  };
  EXPECT_NEAR(share_of_small({}), 1901.0 / (1901 + 31901), 0.015);  // by length
  train::SamplingWeights by_root = train::sampling_weights(corpus, "");
  EXPECT_NEAR(by_root.file_share[0], 0.2, 1e-9);  // sqrt(2000) : sqrt(32000) = 1 : 4
  EXPECT_NEAR(share_of_small(by_root.file_share), 0.2, 0.03);

  std::ofstream(path("w.tsv")) << "# group weights\nsmall*\t3\n*.fa\t1\n";
  train::SamplingWeights grouped = train::sampling_weights(corpus, path("w.tsv"));
  EXPECT_NEAR(grouped.file_share[0], 0.75, 1e-9);
  EXPECT_EQ(grouped.group[1], "*.fa");
  EXPECT_NEAR(share_of_small(grouped.file_share), 0.75, 0.03);
  EXPECT_NE(grouped.summary().find("small* 75%"), std::string::npos) << grouped.summary();
}

TEST_F(CorpusTest, BadWeightFilesAreClearErrors) {
  std::string a = write_fasta("a.fa", {{"a", random_bases(1000, 3)}});
  std::string b = write_fasta("b.fa", {{"b", random_bases(1000, 4)}});
  train::GenomeCorpus corpus = train::load_corpus({a, b}, {});
  auto message = [&](const std::string& text) {
    std::ofstream(path("w.tsv")) << text;
    try {
      train::sampling_weights(corpus, path("w.tsv"));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("a.fa\t1\n").find("no line matches input"), std::string::npos);
  EXPECT_NE(message("*\t1\nzzz*\t2\n").find("matches no input file"), std::string::npos);
  EXPECT_NE(message("*\t-1\n").find("line 1"), std::string::npos);
  EXPECT_NE(message("*\tmany\n").find("line 1"), std::string::npos);
  EXPECT_NE(message("*\t0\n").find("zero"), std::string::npos);
  EXPECT_THROW(train::sampling_weights(corpus, path("missing.tsv")), Error);
}

TEST_F(CorpusTest, HeldoutFilesAreEvaluatedOneByOneAndLogged) {
  train::PretrainOptions o = tiny_clm(write_fasta("train.fa", {{"t", random_bases(6000, 5)}}));
  o.heldout_files = {write_fasta("first.fa", {{"h1", random_bases(2000, 6)}}),
                     write_fasta("second.fa", {{"h2", random_bases(2000, 7)}})};
  train::PretrainResult r = train::pretrain(o);
  ASSERT_EQ(r.heldout_loss.size(), 2u);
  EXPECT_EQ(r.heldout_loss[0].first, "first");
  // Random bases: close to the uniform 2 bits (ln 4 nats) whatever a few steps learnt.
  for (const auto& [name, loss] : r.heldout_loss) EXPECT_NEAR(loss, std::log(4.0), 0.15) << name;
  std::ifstream log(o.output + ".log.tsv");
  std::string header;
  std::getline(log, header);
  EXPECT_NE(header.find("\tfirst_bits_per_base\tsecond_bits_per_base"), std::string::npos) << header;
  o.corpus.holdout_regions = {{"t", 0, 100}};
  EXPECT_THROW(train::pretrain(o), Error);
}

TEST_F(CorpusTest, TimeLimitStopsWithACheckpointThatResumesExactly) {
  std::string genome = write_fasta("g.fa", {{"a", random_bases(8000, 8)}, {"b", random_bases(3000, 9)}});
  train::PretrainOptions full = tiny_clm(genome);
  full.output = path("full.safetensors");
  train::pretrain(full);

  train::PretrainOptions piece = tiny_clm(genome);
  piece.output = path("piece.safetensors");
  piece.stop_after_step = 5;  // the time-limit exit, at a known step
  train::PretrainResult stopped = train::pretrain(piece);
  EXPECT_TRUE(stopped.stopped_by_time_limit);
  EXPECT_EQ(stopped.steps, 5);
  EXPECT_FALSE(std::filesystem::exists(piece.output));  // no partial model, only the checkpoint
  ASSERT_TRUE(std::filesystem::exists(stopped.checkpoint));
  piece.stop_after_step = 0;
  piece.resume = stopped.checkpoint;
  train::PretrainResult resumed = train::pretrain(piece);
  EXPECT_FALSE(resumed.stopped_by_time_limit);
  EXPECT_EQ(resumed.steps, 12);

  model::ModelBundle a = model::load_model(full.output), b = model::load_model(piece.output);
  auto pb = b.model->named_parameters();
  for (const auto& item : a.model->named_parameters())
    EXPECT_LE((item.value() - pb[item.key()]).abs().max().item<float>(), 1e-6) << item.key();
}

TEST(Precision, Bf16AutocastCastsMatmulsOnlyInsideTheScope) {
  EXPECT_EQ(train::parse_precision("bf16"), train::Precision::kBf16);
  EXPECT_THROW(train::parse_precision("fp8"), Error);
  torch::nn::Linear linear(8, 4);
  at::Tensor x = torch::randn({2, 8});
  {
    train::AutocastScope scope(train::Precision::kBf16, c10::Device(c10::kCPU));
    EXPECT_EQ(linear(x).scalar_type(), at::kBFloat16);
    EXPECT_EQ(linear->weight.scalar_type(), at::kFloat);  // master weights stay fp32
  }
  EXPECT_EQ(linear(x).scalar_type(), at::kFloat);
  {
    train::AutocastScope scope(train::Precision::kFp32, c10::Device(c10::kCPU));
    EXPECT_EQ(linear(x).scalar_type(), at::kFloat);
  }
}

TEST_F(CorpusTest, Bf16PretrainingRunsOnTheCpuWithFp32Weights) {
  train::PretrainOptions o = tiny_clm(write_fasta("g.fa", {{"a", random_bases(6000, 10)}}));
  o.steps = 4;
  o.output = path("fp32.safetensors");
  train::PretrainResult fp32 = train::pretrain(o);
  o.output = path("bf16.safetensors");
  o.precision = train::Precision::kBf16;
  train::PretrainResult bf16 = train::pretrain(o);
  // The same run in bf16 products: the loss agrees to bf16's ~3 significant digits, not exactly.
  EXPECT_TRUE(std::isfinite(bf16.validation_loss));
  EXPECT_NEAR(bf16.validation_loss, fp32.validation_loss, 0.02 * fp32.validation_loss);
  EXPECT_NE(bf16.validation_loss, fp32.validation_loss);  // bf16 really ran
  model::ModelBundle saved = model::load_model(o.output);
  for (const auto& p : saved.model->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
  EXPECT_NE(saved.provenance_json.find("\"precision\":\"bf16\""), std::string::npos);
}

// Real corpus files (../shared/data/corpus): every packed contig reads back what faidx fetches,
// N runs included (the fly file has 18 kb of N, the cat file 234 contigs).
TEST(PackedBases, CorpusFilesReadBackLikeFaidx) {
  const std::filesystem::path train_dir = std::filesystem::path(GERM_SHARED_DATA_DIR) / "corpus" / "train";
  if (!std::filesystem::is_directory(train_dir)) GTEST_SKIP() << "corpus not found at " << train_dir;
  std::vector<std::string> files;
  for (const char* name : {"phages_phiX174-like_evo2.fa.gz", "fly_Dmel_1pct_korflab.fa.gz", "cat_CAT_ensembl-compara.fa.gz"})
    files.push_back((train_dir / name).string());
  train::GenomeCorpus corpus = train::load_corpus(files, {0.0, {}, 1});
  std::mt19937_64 rng(3);
  int64_t bases = 0, compared = 0;
  for (const auto& segment : corpus.train) {
    io::IndexedFasta fasta(segment.source);
    bases += segment.length;
    for (int i = 0; i < 4; ++i) {
      int64_t length = std::min<int64_t>(segment.length, 1 + rng() % 3000);
      int64_t start = i == 0 ? segment.length - length : static_cast<int64_t>(rng() % (segment.length - length + 1));
      ASSERT_EQ(segment.read(start, length), io::normalize_bases(fasta.fetch(segment.contig, start, start + length)))
          << segment.contig << ":" << start;
      ++compared;
    }
  }
  EXPECT_EQ(corpus.train.size(), 26u + 7u + 234u);
  EXPECT_EQ(bases, 139914 + 1357505 + 17972 + 710004);  // ACGT + N from the corpus README
  EXPECT_LT(corpus.memory_bytes(), static_cast<size_t>(bases / 4 + 64 * corpus.train.size() + 16 * 4096));
  EXPECT_EQ(compared, 4 * static_cast<int64_t>(corpus.train.size()));
}
