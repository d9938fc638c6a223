#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/model_store.hpp"
#include "model/token_batch.hpp"
#include "stats/model_summary.hpp"
#include "stats/outlier_collector.hpp"
#include "stats/outlier_format.hpp"
#include "stats/outlier_run.hpp"
#include "test_support.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

using namespace germ;
using namespace germ::stats;
using germ::io::SequenceSample;
using germ::io::sample_sequences;

namespace {

model::ModelConfig tiny_config(model::ModelKind kind, model::Normaliser normaliser) {
  model::ModelConfig c = model::ModelConfig::preset("tiny", kind);
  c.vocab = 10;
  c.dropout = 0.0;
  c.normaliser = normaliser;
  return c;
}

model::ModelBundle tiny_bundle(model::ModelKind kind, model::Normaliser normaliser) {
  at::manual_seed(7);
  model::ModelBundle bundle;
  bundle.model = model::GermModel(tiny_config(kind, normaliser), kind);
  bundle.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  bundle.model->eval();
  return bundle;
}

std::string random_dna(size_t length, uint32_t seed) {
  std::string s;
  uint32_t state = seed;
  for (size_t i = 0; i < length; ++i) {
    state = state * 1664525u + 1013904223u;
    s += "ACGT"[(state >> 24) & 3];
  }
  return s;
}

}  // namespace

TEST(Kurtosis, KnownDistributions) {
  at::manual_seed(1);
  // Gaussian: 3 (not excess). 64 tokens of 20,000 features: standard error ~0.035 per token.
  double gaussian = token_kurtosis(at::randn({64, 20000})).mean().item<double>();
  EXPECT_NEAR(gaussian, 3.0, 0.05);
  // Uniform: 9/5.
  double uniform = token_kurtosis(at::rand({64, 20000})).mean().item<double>();
  EXPECT_NEAR(uniform, 1.8, 0.03);
  // A symmetric two-point distribution has the smallest possible kurtosis, exactly 1.
  at::Tensor two_point = at::tensor({1.0, -1.0, 1.0, -1.0, 1.0, -1.0}).reshape({1, 6});
  EXPECT_NEAR(token_kurtosis(two_point).item<double>(), 1.0, 1e-12);
  // By hand: x = (0,0,0,4): mu 1, deviations (-1,-1,-1,3), m2 = 12/4 = 3, m4 = 84/4 = 21, 21/9.
  EXPECT_NEAR(token_kurtosis(at::tensor({0.0, 0.0, 0.0, 4.0}).reshape({1, 4})).item<double>(), 21.0 / 9.0, 1e-12);
  // One outlier among n-1 zeros: kurtosis n - 2 + 1/(n-1), the outlier signature the paper tracks.
  at::Tensor spike = at::zeros({1, 100});
  spike[0][17] = 50.0;
  EXPECT_NEAR(token_kurtosis(spike).item<double>(), 98.0 + 1.0 / 99.0, 1e-9);
  // A constant token has no kurtosis.
  EXPECT_TRUE(std::isnan(token_kurtosis(at::full({1, 8}, 2.5)).item<double>()));
}

TEST(InfNorm, HandExamples) {
  at::Tensor x = at::tensor({1.0, -5.0, 2.0, 0.5, 0.25, -0.125}).reshape({2, 3});
  at::Tensor n = token_inf_norm(x);
  EXPECT_DOUBLE_EQ(n[0].item<double>(), 5.0);
  EXPECT_DOUBLE_EQ(n[1].item<double>(), 0.5);
}

TEST(OutlierCollector, HooksCaptureTwoTensorsPerLayer) {
  for (auto normaliser : {model::Normaliser::kSoftmax, model::Normaliser::kSoftmax1}) {
    model::ModelBundle bundle = tiny_bundle(model::ModelKind::kEncoderMlm, normaliser);
    torch::NoGradGuard no_grad;
    const int64_t layers = bundle.model->config().layers;
    OutlierCollector collector(layers, bundle.model->config().heads, /*collect_null_mass=*/false);
    at::Tensor ids = at::randint(5, 10, {3, 12}, at::kLong);
    collector.set_batch_mask(at::ones({3, 12}, at::kLong));
    bundle.model->hidden_states(ids, {}, &collector);
    EXPECT_EQ(collector.observations(), 2 * layers);
    OutlierReport report;
    collector.finish(report);
    ASSERT_EQ(static_cast<int64_t>(report.layers.size()), layers);
    EXPECT_EQ(report.tokens, 36);
    EXPECT_EQ(report.histogram.total(), uint64_t(2 * layers * 36 * bundle.model->config().hidden));
    for (const auto& l : report.layers) {
      EXPECT_GT(l.ffn_output.mean_kurtosis, 1.0);  // kurtosis is at least 1 for any distribution
      EXPECT_GE(l.ffn_output.max_abs, l.ffn_output.mean_inf_norm);
      EXPECT_TRUE(l.null_mass_per_head.empty());
    }
  }
}

TEST(OutlierCollector, PaddingIsExcluded) {
  model::ModelBundle bundle = tiny_bundle(model::ModelKind::kEncoderMlm, model::Normaliser::kSoftmax1);
  std::vector<std::string> sequences{random_dna(40, 1), random_dna(15, 2)};
  // Measured together (the short one padded) or one at a time, token-weighted means agree.
  OutlierReport together = measure_outliers(bundle, "m", sequences, /*batch_size=*/2);
  OutlierReport first = measure_outliers(bundle, "m", {sequences[0]}, 1);
  OutlierReport second = measure_outliers(bundle, "m", {sequences[1]}, 1);
  EXPECT_EQ(together.tokens, first.tokens + second.tokens);
  EXPECT_EQ(together.tokens, 40 + 2 + 15 + 2);  // [CLS] + bases + [SEP]
  for (size_t i = 0; i < together.layers.size(); ++i) {
    auto weighted = [&](auto pick) {
      return (pick(first.layers[i]) * first.tokens + pick(second.layers[i]) * second.tokens) /
             (first.tokens + second.tokens);
    };
    EXPECT_NEAR(together.layers[i].layer_output.mean_kurtosis,
                weighted([](const LayerStats& l) { return l.layer_output.mean_kurtosis; }), 1e-4);
    EXPECT_NEAR(together.layers[i].ffn_output.mean_inf_norm,
                weighted([](const LayerStats& l) { return l.ffn_output.mean_inf_norm; }), 1e-4);
    EXPECT_NEAR(together.layers[i].ffn_output.max_abs,
                std::max(first.layers[i].ffn_output.max_abs, second.layers[i].ffn_output.max_abs), 1e-5);
    // Softmax_1 leaves mass on "nothing", between 0 and 1, per head.
    ASSERT_EQ(together.layers[i].null_mass_per_head.size(), size_t(bundle.model->config().heads));
    for (size_t h = 0; h < together.layers[i].null_mass_per_head.size(); ++h) {
      double m = together.layers[i].null_mass_per_head[h];
      EXPECT_GT(m, 0.0);
      EXPECT_LT(m, 1.0);
      double expected = (first.layers[i].null_mass_per_head[h] * first.tokens +
                         second.layers[i].null_mass_per_head[h] * second.tokens) /
                        (first.tokens + second.tokens);
      EXPECT_NEAR(m, expected, 1e-5);
    }
  }
}

TEST(OutlierFormat, TextTsvJsonAndComparison) {
  OutlierReport a, b;
  a.label = "germ.safetensors", a.normaliser = "softmax1", a.sequences = 2, a.tokens = 10;
  b.label = "vanilla.safetensors", b.normaliser = "softmax", b.sequences = 2, b.tokens = 10;
  for (double k : {4.0, 6.0}) {
    LayerStats l;
    l.ffn_output = {k, 2.0, 3.0, 10};
    l.layer_output = {k, 1.0, 2.0, 10};
    l.null_mass_per_head = {0.25, 0.5};
    a.layers.push_back(l);
    l.ffn_output = {10 * k, 20.0, 30.0, 10};
    l.layer_output = {10 * k, 8.0, 9.0, 10};
    l.null_mass_per_head.clear();
    b.layers.push_back(l);
  }
  // a: average kurtosis 5, max inf-norm 2; b: 50 and 20 -> -90% each.
  nlohmann::json j = nlohmann::json::parse(format_outliers_json({a, b}));
  ASSERT_EQ(j["models"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["models"][0]["summary"]["average_kurtosis"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(j["models"][1]["summary"]["max_inf_norm"].get<double>(), 20.0);
  EXPECT_NEAR(j["comparison"]["average_kurtosis_change_percent"].get<double>(), -90.0, 1e-9);
  EXPECT_NEAR(j["comparison"]["max_inf_norm_change_percent"].get<double>(), -90.0, 1e-9);
  EXPECT_EQ(j["models"][0]["layers"][1]["null_mass_per_head"][1].get<double>(), 0.5);
  EXPECT_FALSE(j["models"][1]["layers"][0].contains("null_mass_per_head"));

  std::string tsv = format_outliers_tsv({a, b});
  EXPECT_EQ(std::count(tsv.begin(), tsv.end(), '\n'), 1 + 4 + 2);
  EXPECT_NE(tsv.find("germ.safetensors\tsoftmax1\t2\t6.0000\t2.0000\t3.0000\t6.0000\t1.0000\t2.0000\t0.3750\t0.250,0.500\n"),
            std::string::npos);
  EXPECT_NE(tsv.find("#summary\tvanilla.safetensors\taverage_kurtosis=50.0000\tmax_inf_norm=20.0000"), std::string::npos);

  std::string text = format_outliers_text({a, b});
  EXPECT_NE(text.find("germ.safetensors vs vanilla.safetensors: average kurtosis -90.00%, max inf-norm -90.00%"),
            std::string::npos);
}

TEST(TokenBatch, FramingAndPadding) {
  tokenize::NucleotideTokenizer tokenizer;
  auto encoder = model::frame_sequence(tokenizer, model::ModelKind::kEncoderMlm, "ACGTACGT", 6);
  ASSERT_EQ(encoder.size(), 6u);
  EXPECT_EQ(encoder.front(), tokenize::kClsId);
  EXPECT_EQ(encoder.back(), tokenize::kSepId);
  EXPECT_EQ(encoder[1], tokenizer.encode("A")[0]);
  auto causal = model::frame_sequence(tokenizer, model::ModelKind::kCausalLm, "ACGTACGT", 5);
  EXPECT_EQ(causal, tokenizer.encode("ACGTA"));
  model::TokenBatch batch = model::pad_token_batch({{5, 6, 7}, {8}});
  EXPECT_TRUE(at::equal(batch.ids, at::tensor({5, 6, 7, 8, 3, 3}, at::kLong).reshape({2, 3})));
  EXPECT_TRUE(at::equal(batch.attention_mask, at::tensor({1, 1, 1, 1, 0, 0}, at::kLong).reshape({2, 3})));
}

class SampleSequences : public test_support::TempDirTest {};

TEST_F(SampleSequences, FastaTilesSkipGapsAndAreReproducible) {
  std::ofstream(path("a.fa")) << ">one\n" << random_dna(1000, 3) << std::string(100, 'N') << random_dna(350, 4)
                              << "\n>two\n" << random_dna(120, 5) << "\n";
  SequenceSample sample;
  sample.window_bases = 100;
  sample.count = 1000;
  // one: 14 tiles of 100 (tile 10 is all N, tile 11..14 fine) + a 50-base tail (kept: >= half);
  // two: 1 tile + a 20-base tail (dropped).
  auto all = sample_sequences(path("a.fa"), sample);
  EXPECT_EQ(all.size(), 10u + 3u + 1u + 1u);
  for (const auto& s : all) EXPECT_EQ(s.find('N'), std::string::npos);
  sample.count = 5;
  auto five = sample_sequences(path("a.fa"), sample);
  EXPECT_EQ(five.size(), 5u);
  EXPECT_EQ(five, sample_sequences(path("a.fa"), sample));
  sample.seed = 43;
  EXPECT_NE(five, sample_sequences(path("a.fa"), sample));
}

TEST_F(SampleSequences, GueDirectoryUsesTestSplit) {
  std::filesystem::create_directories(path("gue"));
  std::ofstream(path("gue/test.csv")) << "sequence,label\nACGTAC,0\nggccaa,1\n";
  SequenceSample sample;
  auto rows = sample_sequences(path("gue"), sample);
  EXPECT_EQ(rows, (std::vector<std::string>{"ACGTAC", "GGCCAA"}));
  EXPECT_THROW(sample_sequences(path("missing_dir/x.csv"), sample), Error);
}

class ModelSummary : public test_support::TempDirTest {};

TEST_F(ModelSummary, DescribesWhatTheFileHolds) {
  model::ModelBundle bundle = tiny_bundle(model::ModelKind::kCausalLm, model::Normaliser::kSoftmax1);
  model::save_model(path("m.safetensors"), bundle);
  nlohmann::json j = nlohmann::json::parse(describe_model_file(path("m.safetensors"), "json"));
  EXPECT_EQ(j["kind"], "causal-lm");
  EXPECT_EQ(j["parameters"].get<int64_t>(), bundle.model->parameter_count());
  EXPECT_EQ(j["config"]["layers"].get<int64_t>(), 2);
  EXPECT_EQ(j["tokenizer"]["kind"], "nucleotide");
  EXPECT_EQ(j["file_bytes"].get<int64_t>(), int64_t(std::filesystem::file_size(path("m.safetensors"))));
  std::string text = describe_model_file(path("m.safetensors"), "text");
  EXPECT_NE(text.find("parameters    " + std::to_string(bundle.model->parameter_count())), std::string::npos);
  std::ofstream(path("bad.safetensors")) << "not a model";
  EXPECT_THROW(describe_model_file(path("bad.safetensors"), "text"), ModelCorrupted);
}
