#include "train/finetune_defaults.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>

#include "train/schedule.hpp"
#include "util/error.hpp"

namespace germ::train {
namespace {

// The default peak rates at the widths where they were measured (docs/finetune.md, "Defaults"):
// 64 and 256 are germ's tiny and small encoders, the best rates of the learning-rate sweeps on
// make_tasks.py's tasks (full fine-tuning 3e-3 / 5e-4, adapters 1e-2 / 3e-3); 768 keeps
// DNABERT-2's own rates (3e-5 full, 1e-4 adapters) for imported checkpoints of its width.
// Between them the rate is interpolated on log-log axes (a power law per segment); narrower
// than 64 gets 64's rates (untested), wider than 768 falls as 1 / width (muP; untested).
struct WidthAnchor {
  double hidden, full, adapters;
};
constexpr WidthAnchor kAnchors[] = {{64, 3e-3, 1e-2}, {256, 5e-4, 3e-3}, {768, 3e-5, 1e-4}};

constexpr double kSmoothing = 0.8;         // EMA beta of the range test's loss curve
constexpr double kDivergence = 4.0;        // stop when the smoothed loss passes 4x its minimum
constexpr double kMinimumDivisor = 10.0;   // chosen rate = rate at the minimum / 10
constexpr double kRequiredDrop = 0.05;     // the minimum must be 5% below the starting loss
constexpr double kChanceFraction = 0.97;   // loss within 3% of the prior's = nothing learned ...
constexpr double kClearMcc = 0.1;          // ... unless the dev MCC is clearly above 0

std::string format_g(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

}  // namespace

double default_finetune_lr(const std::string& method, int64_t hidden) {
  if (hidden < 1) throw Error("config", "hidden width must be positive");
  const bool full = method == "full";
  const double width = static_cast<double>(hidden);
  const WidthAnchor& last = kAnchors[std::size(kAnchors) - 1];
  if (width >= last.hidden) return (full ? last.full : last.adapters) * last.hidden / width;
  std::vector<WidthRate> points;
  for (const WidthAnchor& anchor : kAnchors) points.push_back({anchor.hidden, full ? anchor.full : anchor.adapters});
  return log_log_interpolate(points, width);
}

int64_t default_warmup(int64_t total_steps) {
  return std::clamp<int64_t>(total_steps * 6 / 100, 1, 50);
}

double RangeTestPlan::lr_at(int64_t step) const {
  if (steps <= 1) return first;
  return first * std::pow(last / first, static_cast<double>(step) / static_cast<double>(steps - 1));
}

RangeTestChoice choose_range_test_lr(const std::vector<double>& lrs, const std::vector<double>& losses) {
  if (lrs.size() != losses.size()) throw Error("range test", "rates and losses differ in length");
  RangeTestChoice choice;
  double average = 0, lowest = 0, start = 0;
  size_t lowest_at = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    if (!std::isfinite(losses[i])) break;
    average = kSmoothing * average + (1 - kSmoothing) * losses[i];
    const double smoothed = average / (1 - std::pow(kSmoothing, static_cast<double>(i + 1)));
    if (i == 0) start = lowest = smoothed;
    if (smoothed > kDivergence * lowest) break;
    if (smoothed < lowest) lowest = smoothed, lowest_at = i;
    choice.steps_used = static_cast<int64_t>(i + 1);
  }
  if (choice.steps_used == 0) {
    choice.reason = "no finite loss";
    return choice;
  }
  choice.lr_at_minimum = lrs[lowest_at];
  if (lowest_at == 0 || lowest > (1 - kRequiredDrop) * start) {
    choice.reason = "the loss did not fall (lowest " + format_g(lowest) + " from " + format_g(start) + ")";
    return choice;
  }
  choice.lr = lrs[lowest_at] / kMinimumDivisor;
  choice.reason = "a tenth of " + format_g(lrs[lowest_at]) + ", where the smoothed loss was lowest (" +
                  format_g(lowest) + " from " + format_g(start) + ")";
  return choice;
}

double class_prior_loss(const std::vector<int64_t>& labels, int64_t classes) {
  if (labels.empty() || classes < 1) return 0;
  std::vector<double> counts(static_cast<size_t>(classes), 0.0);
  for (int64_t label : labels)
    if (label >= 0 && label < classes) counts[static_cast<size_t>(label)] += 1;
  double entropy = 0;
  for (double count : counts)
    if (count > 0) {
      const double p = count / static_cast<double>(labels.size());
      entropy -= p * std::log(p);
    }
  return entropy;
}

bool at_chance(double train_loss, double prior_loss, double dev_mcc) {
  return dev_mcc <= 0 || (train_loss >= kChanceFraction * prior_loss && dev_mcc < kClearMcc);
}

std::string chance_message(const std::string& when, double train_loss, double prior_loss, double dev_mcc,
                           double lr, double default_lr, bool lr_was_auto) {
  const std::string auto_or = lr_was_auto ? "" : "--lr auto or ";
  const std::string rate = "the learning rate " + format_g(lr) + (lr_was_auto ? " (chosen by --lr auto)" : "");
  std::string cause;
  if (lr < default_lr / 3)
    cause = rate + " is likely too low for this model: try " + auto_or + "a larger --lr";
  else if (lr > default_lr * 3)
    cause = rate + " is likely too high for this model: try " + auto_or + "a smaller --lr";
  else
    cause = rate + " may not suit this model, or the labels carry no signal it can learn: try " +
            (lr_was_auto ? "--lr " + format_g(default_lr) + " (the width rule), " : "--lr auto, ") +
            "more --epochs, or --targets all-linear for the adapter methods";
  return "nothing learned " + when + ": training loss " + format_g(train_loss) + " against " +
         format_g(prior_loss) + " for predicting the class prior, dev MCC " + format_g(dev_mcc) + "; " + cause;
}

ChanceCheck::ChanceCheck(double prior_loss, int64_t first_check_step, int64_t recent_steps)
    : prior_(prior_loss),
      first_check_step_(first_check_step),
      window_(static_cast<size_t>(std::max<int64_t>(1, recent_steps))),
      lowest_recent_(std::numeric_limits<double>::infinity()) {}

void ChanceCheck::add_loss(double loss) {
  recent_.push_back(loss);
  if (recent_.size() > window_) recent_.erase(recent_.begin());
}

ChanceCheck::Verdict ChanceCheck::at_evaluation(int64_t step, int64_t total_steps, double dev_mcc,
                                                double best_dev_mcc, double lr, double default_lr, bool lr_was_auto) {
  double recent = 0;
  for (double loss : recent_) recent += loss / static_cast<double>(recent_.size());
  lowest_recent_ = std::min(lowest_recent_, recent);
  Verdict verdict;
  if (step == total_steps) {
    verdict.final = true;
    if (at_chance(lowest_recent_, prior_, best_dev_mcc))
      verdict.message = chance_message("in " + std::to_string(step) + " steps", lowest_recent_, prior_, best_dev_mcc,
                                       lr, default_lr, lr_was_auto);
  } else if (!checked_first_ && step >= first_check_step_) {
    checked_first_ = true;
    if (at_chance(recent, prior_, dev_mcc))
      verdict.message = chance_message("yet after the first epoch", recent, prior_, dev_mcc, lr, default_lr, lr_was_auto);
  }
  return verdict;
}

}  // namespace germ::train
