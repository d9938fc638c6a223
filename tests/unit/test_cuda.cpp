// CPU against CUDA, run where a GPU and a CUDA build of germ exist (the H200 machine, docs/gpu.md);
// skipped elsewhere. Tolerances: fp32 1e-4 absolute, bf16 1e-2 relative to the output's scale.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <ATen/ATen.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "cuda/attention_glue.hpp"
#include "model/attention.hpp"
#include "model/config.hpp"
#include "model/focus.hpp"
#include "model/transformer.hpp"
#include "score/lane_scorer.hpp"

namespace {

bool gpu_ready() { return torch::cuda::is_available(); }

struct AttentionCase {
  bool causal, softmax1;
  int64_t dim;
};
// Printable, so that test names listed for ctest do not carry the struct's raw (padding) bytes.
void PrintTo(const AttentionCase& c, std::ostream* os) { *os << (c.causal ? "causal" : "bidirectional") << (c.softmax1 ? " softmax1" : " softmax") << " D=" << c.dim; }


class CudaAttention : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(CudaAttention, FusedKernelMatchesTheCpuReference) {
  if (!gpu_ready() || !germ::cuda::cuda_kernels_built()) GTEST_SKIP() << "needs a GPU and -DGERM_CUDA=ON";
  const AttentionCase c = GetParam();
  at::manual_seed(5);
  const int64_t batch = 2, heads = 4, length = 300;
  at::Tensor q = at::randn({batch, heads, length, c.dim}), k = at::randn({batch, heads, length, c.dim});
  at::Tensor v = at::randn({batch, heads, length, c.dim});
  at::Tensor slopes = germ::model::alibi_slopes(heads);
  at::Tensor positions = at::arange(length, at::kFloat);
  at::Tensor keep = at::ones({batch, length}, at::kByte);
  keep[1].narrow(0, 250, 50).zero_();  // the second sequence is padded
  at::Tensor bias = germ::model::alibi_bias(slopes, length, c.causal).unsqueeze(0) +
                    germ::model::padding_bias(keep.to(at::kLong), at::kFloat);
  const auto normaliser = c.softmax1 ? germ::model::Normaliser::kSoftmax1 : germ::model::Normaliser::kSoftmax;
  at::Tensor expected = germ::model::attend_reference(q, k, v, bias, normaliser);
  const at::Device gpu(at::kCUDA);
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    at::Tensor got = germ::cuda::fused_attention(q.to(gpu, dtype), k.to(gpu, dtype), v.to(gpu, dtype), slopes.to(gpu),
                                                 positions.to(gpu), positions.to(gpu), keep.to(gpu), c.causal,
                                                 c.softmax1)
                         .to(at::kCPU, at::kFloat);
    const float error = (got - expected).abs().max().item<float>();
    if (dtype == at::kFloat)
      EXPECT_LT(error, 1e-4f) << "fp32";
    else
      EXPECT_LT(error, 1e-2f * std::max(1.0f, expected.abs().max().item<float>())) << "bf16";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaAttention,
                         ::testing::Values(AttentionCase{false, true, 32}, AttentionCase{true, true, 64},
                                           AttentionCase{false, false, 64}, AttentionCase{true, true, 128}),
                         [](const ::testing::TestParamInfo<AttentionCase>& info) {
                           return std::string(info.param.causal ? "Causal" : "Bidirectional") +
                                  (info.param.softmax1 ? "Softmax1" : "Softmax") + "D" + std::to_string(info.param.dim);
                         });

TEST(CudaModel, EncoderAndCausalLmAgreeWithTheCpu) {
  if (!gpu_ready()) GTEST_SKIP() << "needs a GPU";
  for (auto kind : {germ::model::ModelKind::kEncoderMlm, germ::model::ModelKind::kCausalLm}) {
    germ::model::ModelConfig config = germ::model::ModelConfig::preset("tiny", kind);
    config.vocab = 32;
    config.dropout = 0.0;
    germ::model::GermModel model(config, kind);
    model->eval();
    at::Tensor ids = at::randint(5, 32, {3, 200}, at::kLong);
    at::Tensor on_cpu = model->forward(ids);
    model->to(at::Device(at::kCUDA));
    at::Tensor on_gpu = model->forward(ids.to(at::kCUDA)).to(at::kCPU);
    EXPECT_LT((on_gpu - on_cpu).abs().max().item<float>(), 1e-4f);
  }
}

TEST(CudaModel, FocusScoringAgreesWithTheCpu) {
  if (!gpu_ready()) GTEST_SKIP() << "needs a GPU";
  using namespace germ::model;
  ModelConfig config = ModelConfig::preset("tiny", ModelKind::kCausalLm);
  config.vocab = 10;
  config.dropout = 0.0;
  GermModel model(config, ModelKind::kCausalLm);
  model->eval();
  FocusAdapter adapter(config);
  adapter->initialise_from(model);
  FocusGeometry geometry;
  geometry.k = 10, geometry.window = 40, geometry.memory = 6, geometry.context = 10;
  at::manual_seed(9);
  at::Tensor codes = at::randint(0, 4, {700}, at::kLong);
  std::string bases;
  for (int64_t i = 0; i < codes.size(0); ++i) bases += "ACGT"[codes[i].item<int64_t>()];
  bases.replace(300, 50, std::string(50, 'N'));  // a gap resets the memory
  std::vector<germ::score::ScoreJob> jobs{{bases, 80}, {bases.substr(100), 0}};
  germ::score::LaneScorer on_cpu(model, adapter, geometry, 2);
  std::vector<germ::score::ScoreResult> expected = on_cpu.run(jobs);
  model->to(at::Device(at::kCUDA));
  germ::score::LaneScorer on_gpu(model, adapter, geometry, 2);
  std::vector<germ::score::ScoreResult> got = on_gpu.run(jobs);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t j = 0; j < got.size(); ++j) {
    ASSERT_EQ(got[j].log_likelihood.size(), expected[j].log_likelihood.size());
    for (size_t i = 0; i < got[j].log_likelihood.size(); ++i) {
      const float a = got[j].log_likelihood[i], b = expected[j].log_likelihood[i];
      ASSERT_EQ(std::isnan(a), std::isnan(b)) << "job " << j << " base " << i;
      if (!std::isnan(a)) ASSERT_NEAR(a, b, 1e-4f) << "job " << j << " base " << i;
    }
  }
}

TEST(CudaBuild, WithoutKernelsTheFusedPathSaysHowToGetThem) {
  if (germ::cuda::cuda_kernels_built()) GTEST_SKIP() << "this build has the kernels";
  at::Tensor t = at::zeros({1, 1, 1, 32});
  EXPECT_THROW(germ::cuda::fused_attention(t, t, t, at::zeros({1}), at::zeros({1}), at::zeros({1}), at::Tensor(), false,
                                           true),
               std::exception);
}

}  // namespace
