#pragma once
// The choices `germ finetune` makes when the user does not (docs/finetune.md, "Defaults"):
// the learning-rate rule by model width, the warm-up rule, the learning-rate range test behind
// `--lr auto`, and the check that a run learned something. Pure functions, unit-tested.
#include <cstdint>
#include <string>
#include <vector>

namespace germ::train {

// Peak learning rate for `method` (full | lora | qlora | loftq) on an encoder `hidden` wide:
// the best swept rates of germ's tiny (64) and small (256) encoders and DNABERT-2's rates at 768
// (3e-5 full, 1e-4 adapters), interpolated on log-log axes between those widths.
double default_finetune_lr(const std::string& method, int64_t hidden);

// Warm-up steps for a run of `total_steps`: 6% of it, at most DNABERT-2's 50, at least 1.
int64_t default_warmup(int64_t total_steps);

// The learning-rate range test of `--lr auto`: `steps` optimizer steps at rates rising
// geometrically from `first` to `last`, stopped early when the loss diverges.
struct RangeTestPlan {
  int64_t steps = 100;
  double first = 1e-5;
  double last = 0.1;
  double lr_at(int64_t step) const;
};

struct RangeTestChoice {
  double lr = 0;            // the chosen peak rate; 0 when the curve gives no answer
  double lr_at_minimum = 0; // the rate where the smoothed loss was lowest
  int64_t steps_used = 0;   // points read before divergence
  std::string reason;       // how the choice was made, for the log and the provenance
};

// Smooths the losses (exponential moving average, bias-corrected, beta 0.8), stops at the
// first point above 4x the lowest smoothed loss so far (or a non-finite one), and picks a tenth
// of the rate at the lowest smoothed loss. No answer (lr 0) when the lowest point is the first
// one or the loss never fell 5% below where it started.
RangeTestChoice choose_range_test_lr(const std::vector<double>& lrs, const std::vector<double>& losses);

// Cross-entropy (nats) of always predicting the class frequencies of `labels`.
double class_prior_loss(const std::vector<int64_t>& labels, int64_t classes);

// A run is at chance when its dev MCC is not above 0 (one class predicted, or no better than
// guessing), or when its training loss stays within 3% of the class-prior loss and its dev MCC
// is below 0.1 (a classifier can rank the dev set well while its loss is still near the
// prior's: binary tasks after one epoch in the issue-27 sweep had dev MCC 0.45-0.58 there).
bool at_chance(double train_loss, double prior_loss, double dev_mcc);

// The one warning line for a run at chance (without the "germ finetune: " prefix): the loss
// and MCC seen, and the likely cause judged from `lr` against the rule's `default_lr`. When
// the rate came from --lr auto (`lr_was_auto`), it suggests the options left, not --lr auto.
std::string chance_message(const std::string& when, double train_loss, double prior_loss, double dev_mcc,
                           double lr, double default_lr, bool lr_was_auto = false);

// The check of docs/finetune.md ("Saying when nothing was learned"), fed every training loss:
// once at the first evaluation at or after `first_check_step` (the end of the first epoch and
// of the warm-up), with the mean loss of the last `recent_steps` steps and the dev MCC; once at
// the last step, with the lowest such mean of the run and the best dev MCC.
class ChanceCheck {
 public:
  struct Verdict {
    std::string message;  // "" when the run is not at chance
    bool final = false;   // the end-of-run verdict (the one --fail-on-chance acts on)
  };
  ChanceCheck(double prior_loss, int64_t first_check_step, int64_t recent_steps);
  void add_loss(double loss);
  // At an evaluation: the verdict of a check due at `step`, or an empty one.
  Verdict at_evaluation(int64_t step, int64_t total_steps, double dev_mcc, double best_dev_mcc, double lr,
                        double default_lr, bool lr_was_auto = false);

 private:
  double prior_;
  int64_t first_check_step_;
  size_t window_;
  std::vector<double> recent_;
  double lowest_recent_;
  bool checked_first_ = false;
};

}  // namespace germ::train
