#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "model/model_store.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "train/batches.hpp"
#include "train/genome_corpus.hpp"
#include "train/pretrain.hpp"
#include "train/schedule.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace germ;

namespace {

// A learnable genome: an order-2 Markov chain whose next base is fixed with probability 0.85,
// so a model can get far below the 2-bit uniform baseline.
std::string markov_sequence(size_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  const char* bases = "ACGT";
  std::string s = "AC";
  while (s.size() < length) {
    int a = std::string("ACGT").find(s[s.size() - 2]), b = std::string("ACGT").find(s[s.size() - 1]);
    int preferred = (a * 3 + b * 2 + 1) % 4;
    s += unit(rng) < 0.85 ? bases[preferred] : bases[rng() % 4];
  }
  return s;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("germ-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string write_genome(const TempDir& dir, size_t length = 40000) {
  std::string path = dir.file("genome.fa");
  std::ofstream out(path);
  out << ">chrA\n" << markov_sequence(length, 1) << "\n>chrB\n" << markov_sequence(length / 2, 2) << "\n";
  return path;
}

train::PretrainOptions tiny_options(const std::string& objective, const std::string& genome, const TempDir& dir) {
  train::PretrainOptions o;
  o.objective = objective;
  o.size = "tiny";
  o.inputs = {genome};
  o.output = dir.file(objective + ".safetensors");
  o.steps = 50;
  o.batch_size = 8;
  o.seq_len = objective == "clm" ? 64 : 32;
  o.lr = 3e-3;
  o.vocab = 64;
  o.eval_every = 10;
  o.eval_windows = 16;
  o.checkpoint_every = 0;
  o.seed = 7;
  return o;
}

}  // namespace

TEST(Schedule, WarmupThenDecay) {
  train::LrSchedule s{1.0, 10, 110, "linear"};
  EXPECT_NEAR(s.at(0), 0.1, 1e-12);
  EXPECT_NEAR(s.at(9), 1.0, 1e-12);
  EXPECT_NEAR(s.at(60), 0.5, 1e-12);
  EXPECT_NEAR(s.at(110), 0.0, 1e-12);
  train::LrSchedule c{1.0, 0, 100, "cosine"};
  EXPECT_NEAR(c.at(50), 0.5, 1e-12);
  EXPECT_THROW((train::LrSchedule{1.0, 0, 10, "zigzag"}.at(5)), Error);
}

TEST(Corpus, HoldoutIsSplitByPosition) {
  TempDir dir("corpus");
  std::string genome = write_genome(dir, 10000);
  train::CorpusOptions options;
  options.holdout_fraction = 0.1;
  train::GenomeCorpus corpus = train::load_corpus({genome}, options);
  ASSERT_EQ(corpus.holdout.size(), 2u);
  EXPECT_EQ(corpus.holdout[0].offset, 9000);
  EXPECT_EQ(corpus.train[0].length, 9000);
  EXPECT_EQ(corpus.holdout[0].read(0, 50), corpus.train[0].contig_bases->read(9000, 50));
  EXPECT_EQ(corpus.train_bases() + corpus.holdout_bases(), 15000);
  options.holdout_regions = {{"chrA", 1000, 2000}};
  corpus = train::load_corpus({genome}, options);
  ASSERT_EQ(corpus.holdout.size(), 1u);
  EXPECT_EQ(corpus.holdout[0].offset, 1000);
  EXPECT_EQ(corpus.train.size(), 3u);  // chrA before and after the region, all of chrB
}

TEST(Corpus, SamplerDrawsBothStrandsSkipsNAndResumes) {
  std::vector<train::Segment> segments = {
      train::Segment::from_bases("x", "c", std::string(500, 'A') + std::string(500, 'N'))};
  train::WindowSampler sampler(segments, 50, 3);
  int forward = 0, reverse = 0;
  for (int i = 0; i < 200; ++i) {
    std::string w = sampler.next();
    EXPECT_LE(train::n_fraction(w), 0.10);
    if (w.find('A') != std::string::npos) ++forward;
    if (w.find('T') != std::string::npos) ++reverse;
  }
  EXPECT_GT(forward, 50);
  EXPECT_GT(reverse, 50);
  std::string state = sampler.state();
  std::string a = sampler.next();
  sampler.restore(state);
  EXPECT_EQ(sampler.next(), a);
}

TEST(Batches, ClmShiftsAndIgnoresN) {
  tokenize::NucleotideTokenizer tokenizer;
  train::Batch b = train::make_clm_batch({"ACGTN", "TTTTA"}, tokenizer);
  EXPECT_EQ(b.input_ids.sizes(), (at::IntArrayRef{2, 4}));
  EXPECT_EQ(b.labels[0][0].item<int64_t>(), tokenizer.encode("C")[0]);
  EXPECT_EQ(b.labels[0][3].item<int64_t>(), train::kIgnoreLabel);  // N is never a target
  EXPECT_EQ(b.tokens, 7);
}

TEST(Batches, MlmMasksAboutFifteenPercent) {
  tokenize::NucleotideTokenizer tokenizer;
  std::mt19937_64 rng(1);
  std::vector<std::string> windows(64, markov_sequence(200, 5));
  train::Batch b = train::make_mlm_batch(windows, tokenizer, 202, 0.15, rng);
  double fraction = static_cast<double>(b.tokens) / (64 * 200);
  EXPECT_NEAR(fraction, 0.15, 0.02);
  at::Tensor masked = (b.labels != train::kIgnoreLabel);
  double mask_token_share = ((b.input_ids == tokenize::kMaskId) & masked).sum().item<double>() / b.tokens;
  EXPECT_NEAR(mask_token_share, 0.8, 0.03);
  EXPECT_EQ(b.input_ids[0][0].item<int64_t>(), tokenize::kClsId);
  EXPECT_EQ(b.input_ids[0][201].item<int64_t>(), tokenize::kSepId);
}

TEST(Pretrain, TinyClmLearns) {
  TempDir dir("clm");
  train::PretrainOptions o = tiny_options("clm", write_genome(dir), dir);
  train::PretrainResult r = train::pretrain(o);
  // Uniform is ln 4 = 1.386 nats; the chain's entropy is ~0.7 nats.
  EXPECT_LT(r.last_train_loss, r.first_train_loss - 0.2);
  EXPECT_LT(r.validation_loss, 1.25);
  model::ModelBundle saved = model::load_model(o.output);
  EXPECT_EQ(saved.model->kind(), model::ModelKind::kCausalLm);
  EXPECT_NE(saved.provenance_json.find("\"objective\":\"clm\""), std::string::npos);
}

TEST(Pretrain, TinyMlmLearns) {
  TempDir dir("mlm");
  train::PretrainOptions o = tiny_options("mlm", write_genome(dir), dir);
  o.steps = 100;
  o.batch_size = 16;
  o.eval_every = 20;
  train::PretrainResult r = train::pretrain(o);
  EXPECT_LT(r.last_train_loss, r.first_train_loss - 0.3);
  model::ModelBundle saved = model::load_model(o.output);
  EXPECT_EQ(saved.tokenizer->kind(), "sentencepiece-bpe");
  EXPECT_EQ(saved.model->config().vocab, 64);
}

TEST(Pretrain, ResumeReproducesUninterruptedRun) {
  TempDir dir("resume");
  std::string genome = write_genome(dir, 20000);
  train::PretrainOptions full = tiny_options("clm", genome, dir);
  full.steps = 20;
  full.output = dir.file("full.safetensors");
  train::pretrain(full);

  train::PretrainOptions first = full;
  first.output = dir.file("part.safetensors");
  first.checkpoint_every = 10;
  first.steps = 20;
  first.checkpoint = dir.file("part.ckpt");
  // Simulate an interruption after the step-10 checkpoint: run to step 10 only, keep the checkpoint.
  train::PretrainOptions interrupted = first;
  interrupted.steps = 20;
  interrupted.output = dir.file("ignored.safetensors");
  train::pretrain(interrupted);  // writes part.ckpt at step 10
  train::PretrainOptions resumed = first;
  resumed.resume = first.checkpoint;
  train::pretrain(resumed);

  model::ModelBundle a = model::load_model(full.output), b = model::load_model(first.output);
  auto pa = a.model->named_parameters(), pb = b.model->named_parameters();
  for (const auto& item : pa)
    EXPECT_LT((item.value() - pb[item.key()]).abs().max().item<float>(), 1e-5) << item.key();
}

TEST(Pretrain, GermTChangesOnlyTheNormaliser) {
  TempDir dir("germt");
  std::string genome = write_genome(dir, 20000);
  train::PretrainOptions vanilla = tiny_options("mlm", genome, dir);
  vanilla.attention = "softmax";
  vanilla.steps = 5;
  vanilla.output = dir.file("vanilla.safetensors");
  train::pretrain(vanilla);
  train::PretrainOptions germ_t = vanilla;
  germ_t.attention = "softmax1";
  germ_t.init_from = vanilla.output;
  germ_t.steps = 1;
  germ_t.lr = 1e-12;  // (almost) no update: the weights must be the vanilla ones
  germ_t.output = dir.file("germ_t.safetensors");
  train::pretrain(germ_t);
  model::ModelBundle a = model::load_model(vanilla.output), b = model::load_model(germ_t.output);
  EXPECT_EQ(a.model->config().normaliser, model::Normaliser::kSoftmax);
  EXPECT_EQ(b.model->config().normaliser, model::Normaliser::kSoftmax1);
  model::ModelConfig ca = a.model->config(), cb = b.model->config();
  cb.normaliser = ca.normaliser;
  EXPECT_EQ(ca, cb);
  auto pb = b.model->named_parameters();
  for (const auto& item : a.model->named_parameters())
    EXPECT_LT((item.value() - pb[item.key()]).abs().max().item<float>(), 1e-6) << item.key();
  EXPECT_NE(b.provenance_json.find("GERM-T"), std::string::npos);
  EXPECT_EQ(a.tokenizer->serialize(), b.tokenizer->serialize());
}

TEST(Pretrain, BadInputsAreClearErrors) {
  TempDir dir("bad");
  std::string empty = dir.file("empty.fa");
  std::ofstream(empty).close();
  train::PretrainOptions o = tiny_options("clm", empty, dir);
  EXPECT_THROW(train::pretrain(o), Error);
  o.inputs = {dir.file("missing.fa")};
  EXPECT_THROW(train::pretrain(o), Error);
  o.inputs = {write_genome(dir, 2000)};
  o.objective = "gan";
  EXPECT_THROW(train::pretrain(o), Error);
  EXPECT_FALSE(fs::exists(o.output));
}

TEST(Schedule, DefaultPretrainLrFollowsTheWidth) {
  // Causal LMs (docs/pretrain.md): 5e-3 at width 64, DNABERT-2's 5e-4 at 768, a power law between
  // them, capped at 5e-3 below 64.
  const auto clm = model::ModelKind::kCausalLm;
  EXPECT_NEAR(train::default_pretrain_lr(64, clm), 5e-3, 5e-3 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(768, clm), 5e-4, 5e-4 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(32, clm), 5e-3, 5e-3 * 1e-9);
  const double at192 = train::default_pretrain_lr(192, clm), at256 = train::default_pretrain_lr(256, clm);
  EXPECT_NEAR(at192, 5e-4 * std::pow(4.0, std::log(10.0) / std::log(12.0)), 1e-12);
  EXPECT_GT(at192, at256);
  EXPECT_GT(at256, train::default_pretrain_lr(768, clm));
  EXPECT_THROW(train::default_pretrain_lr(0, clm), Error);
}

TEST(Schedule, DefaultPretrainLrOfMaskedLmsPassesThroughTheMeasuredWidths) {
  // Masked LMs: 5e-3 measured best at 64, 5e-4 at 256 (1.4e-3 kept a small Softmax_1 encoder on
  // the plateau), flat to 768, then the causal rule; log-log interpolation between 64 and 256.
  const auto mlm = model::ModelKind::kEncoderMlm;
  EXPECT_NEAR(train::default_pretrain_lr(32, mlm), 5e-3, 5e-3 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(64, mlm), 5e-3, 5e-3 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(128, mlm), std::sqrt(5e-3 * 5e-4), 1e-12);
  EXPECT_NEAR(train::default_pretrain_lr(256, mlm), 5e-4, 5e-4 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(512, mlm), 5e-4, 5e-4 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(768, mlm), 5e-4, 5e-4 * 1e-9);
  EXPECT_NEAR(train::default_pretrain_lr(1536, mlm), train::default_pretrain_lr(1536, model::ModelKind::kCausalLm),
              1e-15);
  EXPECT_LT(train::default_pretrain_lr(1536, mlm), 5e-4);
  EXPECT_LT(train::default_pretrain_lr(256, mlm), train::default_pretrain_lr(256, model::ModelKind::kCausalLm));
}
