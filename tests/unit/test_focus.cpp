// FOCUS window runner and lane scorer: fast paths against direct LibTorch forwards.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "model/fidelity.hpp"
#include "model/focus.hpp"
#include "model/focus_store.hpp"
#include "score/lane_scorer.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

using namespace germ;
using model::FocusGeometry;
using model::MemoryKind;

namespace {

model::GermModel random_clm(uint64_t seed, model::Normaliser normaliser = model::Normaliser::kSoftmax1) {
  torch::manual_seed(seed);
  model::ModelConfig c = model::ModelConfig::preset("tiny", model::ModelKind::kCausalLm);
  c.layers = 2, c.hidden = 32, c.heads = 2, c.intermediate = 64, c.vocab = 10;
  c.normaliser = normaliser;
  model::GermModel m(c, model::ModelKind::kCausalLm);
  torch::NoGradGuard no_grad;
  // Weights large enough that attention is sharp and context matters.
  for (auto& p : m->parameters()) p.mul_(4.0);
  m->eval();
  return m;
}

model::FocusAdapter random_adapter(model::GermModel& m) {
  model::FocusAdapter a(m->config());
  a->initialise_from(m);
  torch::NoGradGuard no_grad;
  for (auto& p : a->parameters()) p.add_(torch::randn_like(p) * 0.3);
  a->eval();
  return a;
}

std::string random_bases(int64_t n, uint64_t seed, int64_t n_run_at = -1, int64_t n_run = 0) {
  std::mt19937_64 rng(seed);
  std::string s(n, 'A');
  for (auto& c : s) c = "ACGT"[rng() % 4];
  for (int64_t i = 0; i < n_run; ++i) s[n_run_at + i] = 'N';
  return s;
}

// ll of every base from one full causal forward over `bases` (row p-1 predicts base p). Run
// with autograd on, so that it is LibTorch's own ops throughout (no fused inference kernel).
std::vector<float> direct_ll(model::GermModel& m, const std::string& bases) {
  torch::AutoGradMode plain_libtorch(true);
  at::Tensor ids = model::nucleotide_ids({bases});
  at::Tensor lp = model::base_log_probs(m, m->hidden_states(ids))[0].detach();
  std::vector<float> out(bases.size(), NAN);
  for (size_t p = 1; p < bases.size(); ++p) {
    int idx = std::string("ACGT").find(bases[p]);
    if (idx >= 0 && idx < 4) out[p] = lp[p - 1][idx].item<float>();
  }
  return out;
}

std::vector<float> lane_ll(model::GermModel m, model::FocusAdapter a, FocusGeometry g, const std::string& bases,
                           int64_t lanes = 1) {
  score::LaneScorer scorer(m, a, g, lanes);
  return scorer.run({score::ScoreJob{bases, 0}})[0].log_likelihood;
}

FocusGeometry geometry(MemoryKind kind, int64_t k, int64_t window, int64_t memory, int64_t context) {
  FocusGeometry g;
  g.kind = kind, g.k = k, g.window = window, g.memory = memory, g.context = context;
  return g;
}

std::vector<model::LaneMemory*> pointers(std::vector<model::LaneMemory>& memories) {
  std::vector<model::LaneMemory*> out;
  for (auto& memory : memories) out.push_back(&memory);
  return out;
}

// The memories of two lanes after one window of `ids` (the second lane's sequence starting at
// raw index second_valid_from).
std::vector<model::LaneMemory> memories_after_one_window(model::WindowRunner& runner, const at::Tensor& ids,
                                                         int64_t second_valid_from) {
  std::vector<model::LaneMemory> memories(2);
  runner.step(ids, {0, second_valid_from}, pointers(memories));
  return memories;
}

}  // namespace

TEST(Focus, PlainWindowedScoringMatchesDirectForwardPerWindow) {
  auto m = random_clm(1);
  std::string bases = random_bases(730, 2);
  FocusGeometry g = geometry(MemoryKind::kNone, 25, 200, 0, 50);
  auto ll = lane_ll(m, nullptr, g, bases);
  ASSERT_EQ(ll.size(), bases.size());
  EXPECT_TRUE(std::isnan(ll[0]));  // no left context for the first base
  double worst = 0;
  for (int64_t s = 0; s < 730; s += 200) {
    int64_t from = std::max<int64_t>(0, s - 50), to = std::min<int64_t>(730, s + 200);
    auto reference = direct_ll(m, bases.substr(from, to - from));
    for (int64_t p = std::max<int64_t>(1, s); p < to; ++p) {
      ASSERT_FALSE(std::isnan(ll[p])) << p;
      worst = std::max(worst, std::abs(double(ll[p]) - reference[p - from]));
    }
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(Focus, PlainSoftmaxModelAlsoMatches) {
  auto m = random_clm(3, model::Normaliser::kSoftmax);
  std::string bases = random_bases(400, 4);
  auto ll = lane_ll(m, nullptr, geometry(MemoryKind::kNone, 50, 400, 0, 1), bases);
  auto reference = direct_ll(m, bases);
  for (size_t p = 1; p < bases.size(); ++p) EXPECT_NEAR(ll[p], reference[p], 1e-5) << p;
}

TEST(Focus, RawMemoryCoveringEverythingEqualsTheUncompressedModel) {
  // A KV cache of every ordinary token: each window sees all earlier bases, exactly like one
  // causal forward over the whole sequence.
  auto m = random_clm(5);
  std::string bases = random_bases(900, 6);
  auto ll = lane_ll(m, nullptr, geometry(MemoryKind::kRaw, 1, 128, 4096, 1), bases);
  auto reference = direct_ll(m, bases);
  double worst = 0;
  for (size_t p = 1; p < bases.size(); ++p) worst = std::max(worst, std::abs(double(ll[p]) - reference[p]));
  EXPECT_LT(worst, 1e-4);
}

TEST(Focus, FocusWithMemoryDisabledEqualsPlainWindowedScoring) {
  auto m = random_clm(7);
  auto a = random_adapter(m);
  std::string bases = random_bases(1000, 8);
  auto focus = lane_ll(m, a, geometry(MemoryKind::kFocus, 50, 200, 0, 50), bases);
  auto plain = lane_ll(m, nullptr, geometry(MemoryKind::kNone, 50, 200, 0, 50), bases);
  for (size_t p = 1; p < bases.size(); ++p) ASSERT_NEAR(focus[p], plain[p], test_support::float_tolerance(plain[p])) << p;
}

TEST(Focus, MemoryCarriesContextAndStaysCausal) {
  auto m = random_clm(9);
  auto a = random_adapter(m);
  FocusGeometry g = geometry(MemoryKind::kFocus, 50, 200, 16, 50);
  std::string bases = random_bases(1000, 10);
  auto with_memory = lane_ll(m, a, g, bases);
  auto plain = lane_ll(m, a, geometry(MemoryKind::kFocus, 50, 200, 0, 50), bases);
  // The first window cannot differ (nothing remembered yet); later windows must.
  double first = 0, later = 0;
  for (int p = 1; p < 200; ++p) first = std::max(first, double(std::abs(with_memory[p] - plain[p])));
  for (int p = 400; p < 1000; ++p) later = std::max(later, double(std::abs(with_memory[p] - plain[p])));
  EXPECT_LT(first, 1e-6);
  EXPECT_GT(later, 1e-4);
  // Changing a base never changes the value of an earlier base.
  std::string changed = bases;
  changed[650] = changed[650] == 'A' ? 'C' : 'A';
  auto after = lane_ll(m, a, g, changed);
  for (int p = 1; p < 650; ++p) ASSERT_NEAR(after[p], with_memory[p], test_support::float_tolerance(with_memory[p])) << p;
  double downstream = 0;
  for (int p = 651; p < 1000; ++p) downstream = std::max(downstream, double(std::abs(after[p] - with_memory[p])));
  EXPECT_GT(downstream, 1e-4);
}

TEST(Focus, LaneBatchingDoesNotChangeValues) {
  auto m = random_clm(11);
  auto a = random_adapter(m);
  FocusGeometry g = geometry(MemoryKind::kFocus, 50, 200, 8, 50);
  std::vector<score::ScoreJob> jobs{{random_bases(1000, 12), 0}, {random_bases(437, 13), 30},
                                    {random_bases(950, 14, 200, 450), 0}, {"", 0}, {random_bases(20, 15), 5}};
  // Three lanes on one worker, and four lanes dealt to two and to three workers (threads).
  score::LaneScorer one(m, a, g, 1), three(m, a, g, 3), two_workers(m, a, g, 4, 2), three_workers(m, a, g, 4, 3);
  auto single = one.run(jobs);
  for (auto* scorer : {&three, &two_workers, &three_workers}) {
    auto batched = scorer->run(jobs);
    ASSERT_EQ(single.size(), batched.size());
    for (size_t j = 0; j < jobs.size(); ++j) {
      ASSERT_EQ(single[j].log_likelihood.size(), batched[j].log_likelihood.size());
      for (size_t i = 0; i < single[j].log_likelihood.size(); ++i) {
        float x = single[j].log_likelihood[i], y = batched[j].log_likelihood[i];
        ASSERT_EQ(std::isnan(x), std::isnan(y)) << j << " " << i;
        if (!std::isnan(x)) ASSERT_NEAR(x, y, test_support::float_tolerance(x)) << j << " " << i;
      }
    }
  }
  EXPECT_EQ(one.windows_run(), two_workers.windows_run());
  // N bases and the all-N windows get no value; the rest do.
  const auto& gap = single[2].log_likelihood;
  EXPECT_TRUE(std::isnan(gap[300]));
  EXPECT_FALSE(std::isnan(gap[100]));
  EXPECT_FALSE(std::isnan(gap[700]));
  EXPECT_EQ(single[1].log_likelihood.size(), 437u - 30u);
}

TEST(Focus, GeometryValidationNamesTheOption) {
  EXPECT_THROW(geometry(MemoryKind::kFocus, 30, 100, 4, 30).validate(), germ::Error);  // 100 % 30
  EXPECT_THROW(geometry(MemoryKind::kFocus, 50, 100, 4, 0).validate(), germ::Error);
  EXPECT_NO_THROW(geometry(MemoryKind::kFocus, 50, 100, 4, 50).validate());
  FocusGeometry g = geometry(MemoryKind::kFocus, 50, 200, 16, 50);
  EXPECT_EQ(FocusGeometry::from_json(g.to_json()).to_json(), g.to_json());
  EXPECT_EQ(g.warmup_windows(), 5);  // 1 for the re-read context, 16 states at 4 per window
  EXPECT_EQ(geometry(MemoryKind::kNone, 50, 200, 0, 50).warmup_windows(), 1);
  EXPECT_EQ(geometry(MemoryKind::kNone, 50, 200, 0, 450).warmup_windows(), 3);
}

TEST(Focus, FidelityMetricsOnKnownDistributions) {
  at::Tensor p = at::tensor({0.5, 0.5, 0.0001, 0.0001}).view({1, 4}).log_softmax(-1).to(at::kFloat);
  model::FidelityTotals same;
  same.add(p, p, at::tensor({int64_t{0}}));
  EXPECT_NEAR(same.l1, 0, 1e-9);
  EXPECT_NEAR(same.kl, 0, 1e-9);
  at::Tensor a = at::tensor({0.7, 0.1, 0.1, 0.1}).log().view({1, 4}).to(at::kFloat);
  at::Tensor b = at::tensor({0.4, 0.2, 0.2, 0.2}).log().view({1, 4}).to(at::kFloat);
  model::FidelityTotals t;
  t.add(a, b, at::tensor({int64_t{0}}));
  EXPECT_NEAR(t.l1, 0.6, 1e-5);
  EXPECT_NEAR(t.l2, std::sqrt(0.09 + 3 * 0.01), 1e-5);
  EXPECT_NEAR(t.abs_dp, 0.3, 1e-5);
  EXPECT_NEAR(t.kl, 0.7 * std::log(0.7 / 0.4) + 0.3 * std::log(0.1 / 0.2), 1e-5);
  double h = 0;
  for (auto [x, y] : {std::pair{0.7, 0.4}, {0.1, 0.2}, {0.1, 0.2}, {0.1, 0.2}}) h += std::pow(std::sqrt(x) - std::sqrt(y), 2);
  EXPECT_NEAR(t.hellinger, std::sqrt(0.5 * h), 1e-5);
  EXPECT_GT(t.jensen_shannon, 0);
  EXPECT_LT(t.jensen_shannon, t.kl);
  t.add(a, b, at::tensor({int64_t{-1}}));  // no observed base: counted in distances only
  EXPECT_EQ(t.positions, 2);
  EXPECT_EQ(t.observed, 1);
}

TEST(Focus, ModelFileRoundTripKeepsAdapterAndGeometry) {
  auto m = random_clm(21);
  auto a = random_adapter(m);
  model::ModelBundle bundle;
  bundle.model = m;
  bundle.tokenizer = std::make_shared<tokenize::NucleotideTokenizer>();
  FocusGeometry g = geometry(MemoryKind::kFocus, 50, 200, 12, 50);
  std::string path = ::testing::TempDir() + "/focus_roundtrip.safetensors";
  model::save_focus_model(path, bundle, a, g);
  auto loaded = model::load_focus_model(path);
  ASSERT_TRUE(loaded.has_adapter);
  EXPECT_EQ(loaded.geometry.to_json(), g.to_json());
  std::string bases = random_bases(700, 22);
  auto before = lane_ll(m, a, g, bases), after = lane_ll(loaded.bundle.model, loaded.adapter, g, bases);
  for (size_t p = 1; p < bases.size(); ++p) ASSERT_NEAR(before[p], after[p], 1e-6);
}

// The CPU inference kernel (fused ALiBi softmax) against the explicit autograd form, with
// several query tiles per window, memory, a sequence start inside the window and both
// normalisers.
TEST(Focus, FusedInferenceStepEqualsTheAutogradStep) {
  for (auto normaliser : {model::Normaliser::kSoftmax1, model::Normaliser::kSoftmax}) {
    auto m = random_clm(21, normaliser);
    auto a = random_adapter(m);
    FocusGeometry g = geometry(MemoryKind::kFocus, 25, 300, 6, 50);
    for (int64_t tile : {64, 100, 128, 1000}) {
      model::WindowRunner runner(m, a, g);
      runner.set_query_tile(tile);
      at::Tensor ids = at::randint(5, 9, {3, g.raw_tokens()}, at::kLong);
      std::vector<int64_t> valid_from{0, 37, 0};
      std::vector<model::LaneMemory> fused(3), reference(3);
      for (int step = 0; step < 3; ++step) {
        std::vector<model::LaneMemory*> fused_ptrs{&fused[0], &fused[1], &fused[2]};
        std::vector<model::LaneMemory*> reference_ptrs{&reference[0], &reference[1], &reference[2]};
        at::Tensor fast, slow;
        {
          torch::NoGradGuard no_grad;
          fast = runner.step(ids, valid_from, fused_ptrs);
        }
        {
          torch::AutoGradMode grad(true);
          slow = runner.step(ids, valid_from, reference_ptrs).detach();
        }
        ASSERT_TRUE(at::allclose(fast, slow, 1e-4, 1e-5))
            << "tile " << tile << " step " << step << " max |diff| " << (fast - slow).abs().max().item<float>();
        valid_from = {0, 0, 0};
      }
    }
  }
}

// A lane that stops inside a window runs only its first n bases (WindowRunner::last_step): the
// rows equal the first n rows of the full step on the same bases, on both attention paths, and
// the lane's memory is left as it was.
TEST(Focus, LastStepEqualsTheFirstRowsOfTheFullStep) {
  auto m = random_clm(23);
  auto a = random_adapter(m);
  FocusGeometry g = geometry(MemoryKind::kFocus, 25, 300, 6, 50);
  model::WindowRunner runner(m, a, g);
  at::Tensor ids = at::randint(5, 9, {2, g.raw_tokens()}, at::kLong);
  for (bool autograd : {false, true}) {
    torch::AutoGradMode mode(autograd);
    std::vector<model::LaneMemory> memory(2);
    std::vector<model::LaneMemory*> ptrs{&memory[0], &memory[1]};
    std::vector<int64_t> valid_from{0, 41};
    runner.step(ids, valid_from, ptrs);  // fills the memories
    valid_from = {0, 0};
    const std::vector<at::Tensor> keys_before{memory[0].keys[0].clone(), memory[1].keys[0].clone()};
    const std::vector<int64_t> counts_before{memory[0].count, memory[1].count};
    std::vector<model::LaneMemory> copy = memory;
    std::vector<model::LaneMemory*> copy_ptrs{&copy[0], &copy[1]};
    at::Tensor full = runner.step(ids, valid_from, copy_ptrs).detach();
    for (int64_t n : {1, 37, 299, 300}) {
      at::Tensor last = runner.last_step(ids.slice(1, 0, g.context + n), valid_from, ptrs).detach();
      ASSERT_EQ(last.size(1), n);
      EXPECT_TRUE(at::allclose(last, full.slice(1, 0, n), 1e-5, 1e-5))
          << "n " << n << " autograd " << autograd << " max |diff| "
          << (last - full.slice(1, 0, n)).abs().max().item<float>();
      EXPECT_EQ(memory[0].count, counts_before[0]);
      EXPECT_EQ(memory[1].count, counts_before[1]);
      EXPECT_TRUE(at::equal(memory[0].keys[0], keys_before[0]) && at::equal(memory[1].keys[0], keys_before[1]));
    }
  }
  EXPECT_THROW(runner.last_step(ids.slice(1, 0, g.context), {0, 0}, {nullptr, nullptr}), c10::Error);
}

// A lane that resumes mid-window from another lane's saved rows (StepOptions): the rows it runs
// equal the full step's, on both attention paths, for a full window (memory carried on, equal
// to the full step's) and for a last window (1e-4: GEMMs over fewer rows round differently).
TEST(Focus, ResumedStepEqualsTheFullStepFromItsFirstRow) {
  for (MemoryKind kind : {MemoryKind::kFocus, MemoryKind::kRaw}) {
    auto m = random_clm(29);
    auto a = random_adapter(m);
    FocusGeometry g = geometry(kind, 25, 300, 6, 50);
    model::WindowRunner runner(m, a, g);
    at::Tensor ids = at::randint(5, 9, {2, g.raw_tokens()}, at::kLong);
    for (bool autograd : {false, true}) {
      torch::AutoGradMode mode(autograd);
      std::vector<model::LaneMemory> memory = memories_after_one_window(runner, ids, 17);
      std::vector<model::LaneMemory> full_memory = memory;
      std::vector<model::WindowPrefix> saved(2);
      saved[0].rows = 200, saved[1].rows = 120;
      model::StepOptions save;
      save.save = {&saved[0], &saved[1]};
      at::Tensor full = runner.step(ids, {0, 0}, pointers(full_memory), save).detach();
      ASSERT_EQ(saved[0].rows, 200);
      ASSERT_EQ(saved[1].keys.size(), m->layers.size());
      ASSERT_EQ(saved[1].keys[0].size(1), 120);
      for (int64_t first_row : {1, 49, 50, 119}) {
        model::StepOptions resume;
        resume.first_row = first_row;
        resume.resume = {&saved[0], &saved[1]};
        const int64_t skipped = runner.first_predicted(resume);
        std::vector<model::LaneMemory> copy = memory;
        at::Tensor rows = runner.step(ids, {0, 0}, pointers(copy), resume).detach();
        ASSERT_EQ(rows.size(1), g.window - skipped);
        EXPECT_TRUE(at::allclose(rows, full.slice(1, skipped), 1e-4, 1e-4))
            << to_string(kind) << " first row " << first_row << " max |diff| "
            << (rows - full.slice(1, skipped)).abs().max().item<float>();
        for (int b = 0; b < 2; ++b)
          EXPECT_TRUE(at::allclose(copy[b].keys.back(), full_memory[b].keys.back(), 1e-4, 1e-4)) << first_row;
        at::Tensor last = runner.last_step(ids.slice(1, 0, g.context + 150), {0, 0}, pointers(memory), resume).detach();
        EXPECT_TRUE(at::allclose(last, full.slice(1, skipped, 150), 1e-4, 1e-4)) << first_row;
      }
      model::StepOptions too_far;
      too_far.first_row = 121;
      too_far.resume = {&saved[0], &saved[1]};
      EXPECT_THROW(runner.step(ids, {0, 0}, pointers(memory), too_far), c10::Error);
    }
  }
}
