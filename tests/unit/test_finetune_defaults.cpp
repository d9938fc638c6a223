#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "train/finetune_defaults.hpp"

using namespace germ::train;

namespace {

// A range-test curve: flat at ln 5 for tiny rates, falling to 0.6 around 1e-3, rising sharply
// past 3e-2 (as a diverging run does); `wobble` adds a deterministic ripple of that amplitude.
std::vector<double> synthetic_losses(const std::vector<double>& lrs, double wobble) {
  std::vector<double> losses;
  for (size_t i = 0; i < lrs.size(); ++i) {
    const double x = std::log10(lrs[i]);
    const double fall = 1.0 / (1.0 + std::exp(-3.0 * (x + 3.0)));
    const double blow_up = std::exp(3.0 * (x + 1.5));
    losses.push_back(std::log(5.0) - (std::log(5.0) - 0.6) * fall + blow_up + wobble * std::sin(1.7 * i));
  }
  return losses;
}

std::vector<double> plan_rates(const RangeTestPlan& plan) {
  std::vector<double> lrs;
  for (int64_t s = 0; s < plan.steps; ++s) lrs.push_back(plan.lr_at(s));
  return lrs;
}

}  // namespace

TEST(FinetuneDefaults, LrRuleKeepsDnabert2RatesAtItsWidth) {
  EXPECT_NEAR(default_finetune_lr("full", 768), 3e-5, 3e-5 * 1e-9);
  EXPECT_NEAR(default_finetune_lr("lora", 768), 1e-4, 1e-4 * 1e-9);
  EXPECT_EQ(default_finetune_lr("qlora", 256), default_finetune_lr("lora", 256));
  EXPECT_EQ(default_finetune_lr("loftq", 256), default_finetune_lr("lora", 256));
}

TEST(FinetuneDefaults, LrRulePassesThroughTheMeasuredWidthsAndInterpolatesOnLogLogAxes) {
  EXPECT_NEAR(default_finetune_lr("full", 64), 3e-3, 3e-3 * 1e-9);
  EXPECT_NEAR(default_finetune_lr("lora", 64), 1e-2, 1e-2 * 1e-9);
  EXPECT_NEAR(default_finetune_lr("full", 256), 5e-4, 5e-4 * 1e-9);
  EXPECT_NEAR(default_finetune_lr("lora", 256), 3e-3, 3e-3 * 1e-9);
  // 128 is halfway between 64 and 256 in log width: the geometric mean of their rates.
  EXPECT_NEAR(default_finetune_lr("full", 128), std::sqrt(3e-3 * 5e-4), 1e-12);
  EXPECT_NEAR(default_finetune_lr("lora", 128), std::sqrt(1e-2 * 3e-3), 1e-12);
  // Wider than DNABERT-2: 1 / width from its rates.
  EXPECT_NEAR(default_finetune_lr("full", 1536), 3e-5 / 2, 1e-12);
}

TEST(FinetuneDefaults, LrRuleGrowsForNarrowerModelsUpToTheMeasuredCap) {
  for (const char* method : {"full", "lora"}) {
    double tiny = default_finetune_lr(method, 64), small = default_finetune_lr(method, 256);
    double base = default_finetune_lr(method, 768), wider = default_finetune_lr(method, 1024);
    EXPECT_GT(tiny, small) << method;
    EXPECT_GT(small, base) << method;
    EXPECT_GT(base, wider) << method;
    EXPECT_EQ(default_finetune_lr(method, 16), tiny) << method << ": capped below the measured width";
  }
  EXPECT_GT(default_finetune_lr("lora", 64), default_finetune_lr("full", 64));
  EXPECT_THROW(default_finetune_lr("full", 0), std::exception);
}

TEST(FinetuneDefaults, WarmupIsSixPercentAtMostFifty) {
  EXPECT_EQ(default_warmup(204), 12);
  EXPECT_EQ(default_warmup(100000), 50);
  EXPECT_EQ(default_warmup(5), 1);
}

TEST(FinetuneDefaults, RangeTestRatesRiseGeometricallyBetweenTheEnds) {
  RangeTestPlan plan;
  EXPECT_NEAR(plan.lr_at(0), plan.first, plan.first * 1e-12);
  EXPECT_NEAR(plan.lr_at(plan.steps - 1), plan.last, plan.last * 1e-12);
  const double ratio = plan.lr_at(1) / plan.lr_at(0);
  EXPECT_NEAR(plan.lr_at(41) / plan.lr_at(40), ratio, ratio * 1e-9);
}

TEST(FinetuneDefaults, RangeTestPicksATenthOfTheSmoothedMinimum) {
  const RangeTestPlan plan;
  const std::vector<double> lrs = plan_rates(plan);
  for (double wobble : {0.0, 0.05}) {
    RangeTestChoice choice = choose_range_test_lr(lrs, synthetic_losses(lrs, wobble));
    // The curve's own minimum lies near 5e-3; smoothing lags it by a few steps.
    EXPECT_GT(choice.lr_at_minimum, 2e-3) << wobble;
    EXPECT_LT(choice.lr_at_minimum, 3e-2) << wobble;
    EXPECT_NEAR(choice.lr, choice.lr_at_minimum / 10, choice.lr * 1e-12);
    EXPECT_LT(choice.steps_used, plan.steps) << "stopped at the divergence";
    EXPECT_NE(choice.reason.find("a tenth of"), std::string::npos) << choice.reason;
  }
}

TEST(FinetuneDefaults, RangeTestStopsAtANonFiniteLoss) {
  const RangeTestPlan plan;
  const std::vector<double> lrs = plan_rates(plan);
  std::vector<double> losses = synthetic_losses(lrs, 0.0);
  RangeTestChoice clean = choose_range_test_lr(lrs, losses);
  for (size_t i = static_cast<size_t>(clean.steps_used); i < losses.size(); ++i)
    losses[i] = std::numeric_limits<double>::quiet_NaN();
  RangeTestChoice with_nan = choose_range_test_lr(lrs, losses);
  EXPECT_EQ(with_nan.lr, clean.lr);
  EXPECT_EQ(with_nan.steps_used, clean.steps_used);
}

TEST(FinetuneDefaults, RangeTestGivesNoAnswerWhenTheLossNeverFalls) {
  const RangeTestPlan plan;
  const std::vector<double> lrs = plan_rates(plan);
  std::vector<double> flat(lrs.size(), std::log(5.0));
  EXPECT_EQ(choose_range_test_lr(lrs, flat).lr, 0);
  std::vector<double> rising;
  for (size_t i = 0; i < lrs.size(); ++i) rising.push_back(1.0 + 0.01 * i);
  RangeTestChoice choice = choose_range_test_lr(lrs, rising);
  EXPECT_EQ(choice.lr, 0);
  EXPECT_FALSE(choice.reason.empty());
  EXPECT_EQ(choose_range_test_lr({1e-3}, {std::nan("")}).lr, 0);
  EXPECT_THROW(choose_range_test_lr({1e-3, 1e-2}, {1.0}), std::exception);
}

TEST(FinetuneDefaults, ClassPriorLossIsTheLabelEntropy) {
  EXPECT_NEAR(class_prior_loss({0, 1, 2, 3, 4}, 5), std::log(5.0), 1e-12);
  // p = 3/4, 1/4: -(0.75 ln 0.75 + 0.25 ln 0.25) = 0.562335...
  EXPECT_NEAR(class_prior_loss({0, 0, 0, 1}, 2), 0.5623351446, 1e-9);
  EXPECT_NEAR(class_prior_loss({1, 1}, 3), 0.0, 1e-12);
}

TEST(FinetuneDefaults, ChanceCheckReadsLossAndMcc) {
  const double prior = std::log(5.0);
  EXPECT_TRUE(at_chance(1.609, prior, 0.05)) << "loss at the prior's, dev MCC within noise of 0";
  EXPECT_FALSE(at_chance(0.691, std::log(2.0), 0.58)) << "loss at the prior's, but the dev set says it learned";
  EXPECT_TRUE(at_chance(1.2, prior, 0.0)) << "one class predicted";
  EXPECT_FALSE(at_chance(1.2, prior, 0.3));
  EXPECT_FALSE(at_chance(0.97 * prior - 0.01, prior, 0.05));
  const std::string low = chance_message("after the first epoch", 1.609, prior, 0.0, 2e-5, 1e-3);
  EXPECT_NE(low.find("too low"), std::string::npos) << low;
  EXPECT_NE(low.find("--lr auto"), std::string::npos) << low;
  EXPECT_NE(low.find("1.61"), std::string::npos) << low;
  EXPECT_EQ(low.find('\n'), std::string::npos) << "one line";
  EXPECT_NE(chance_message("at the end", 1.6, prior, 0.0, 1.0, 1e-3).find("too high"), std::string::npos);
  EXPECT_NE(chance_message("at the end", 1.6, prior, 0.0, 1e-3, 1e-3).find("no signal"), std::string::npos);
  // After --lr auto the advice is what is left to try, not --lr auto again.
  const std::string after_auto = chance_message("at the end", 1.6, prior, 0.0, 1e-3, 1e-3, /*lr_was_auto=*/true);
  EXPECT_EQ(after_auto.find("try --lr auto"), std::string::npos) << after_auto;
  EXPECT_NE(after_auto.find("chosen by --lr auto"), std::string::npos) << after_auto;
  EXPECT_NE(after_auto.find("--lr 0.001 (the width rule)"), std::string::npos) << after_auto;
  const std::string low_after_auto = chance_message("at the end", 1.6, prior, 0.0, 1e-5, 1e-3, true);
  EXPECT_EQ(low_after_auto.find("--lr auto or"), std::string::npos) << low_after_auto;
  EXPECT_NE(low_after_auto.find("a larger --lr"), std::string::npos) << low_after_auto;
}

TEST(FinetuneDefaults, ChanceCheckAfterTheFirstEpochAndAtTheEnd) {
  const double prior = std::log(2.0);
  ChanceCheck stuck(prior, 10, 4);
  for (int i = 0; i < 5; ++i) stuck.add_loss(0.69);
  EXPECT_EQ(stuck.at_evaluation(5, 30, 0.0, 0.0, 1e-9, 1e-3).message, "") << "before the first epoch ends";
  for (int i = 0; i < 5; ++i) stuck.add_loss(0.69);
  auto first = stuck.at_evaluation(10, 30, 0.0, 0.0, 1e-9, 1e-3);
  EXPECT_NE(first.message.find("yet after the first epoch"), std::string::npos) << first.message;
  EXPECT_FALSE(first.final);
  EXPECT_EQ(stuck.at_evaluation(20, 30, 0.0, 0.0, 1e-9, 1e-3).message, "") << "the first check is made once";
  auto end = stuck.at_evaluation(30, 30, 0.0, 0.0, 1e-9, 1e-3);
  EXPECT_TRUE(end.final);
  EXPECT_NE(end.message.find("in 30 steps"), std::string::npos) << end.message;

  // Learning by the first check; at the end the best dev MCC and the lowest loss count.
  ChanceCheck learning(prior, 10, 4);
  for (int i = 0; i < 6; ++i) learning.add_loss(0.69);
  for (int i = 0; i < 4; ++i) learning.add_loss(0.4);
  EXPECT_EQ(learning.at_evaluation(10, 30, 0.5, 0.5, 1e-3, 1e-3).message, "") << "the last 4 losses are below ln 2";
  for (int i = 0; i < 4; ++i) learning.add_loss(0.69);
  EXPECT_EQ(learning.at_evaluation(30, 30, 0.1, 0.5, 1e-3, 1e-3).message, "");

  // A loss that fell without a dev MCC above 0 is at chance too.
  ChanceCheck overfit(prior, 10, 4);
  for (int i = 0; i < 10; ++i) overfit.add_loss(0.3);
  EXPECT_EQ(overfit.at_evaluation(10, 30, 0.4, 0.4, 1e-3, 1e-3).message, "");
  EXPECT_NE(overfit.at_evaluation(30, 30, -0.1, 0.0, 1e-3, 1e-3).message.find("dev MCC 0"), std::string::npos);
}
