#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace germ::train {

// Learning rate at `step` (0-based): linear warm-up over `warmup` steps to `peak`, then
// linear or cosine decay to `peak * final_fraction` at `total` steps.
struct LrSchedule {
  double peak = 5e-4;
  int64_t warmup = 100;
  int64_t total = 1000;
  std::string shape = "linear";  // linear | cosine | constant
  double final_fraction = 0.0;
  double at(int64_t step) const;
};

// A learning rate measured at a model width.
struct WidthRate {
  double width, rate;
};
// The rate at `width` on the power law through neighbouring `points` (ascending widths), i.e.
// linear interpolation on log-log axes; widths outside the points get the nearest end's rate.
double log_log_interpolate(const std::vector<WidthRate>& points, double width);

// `germ pretrain`'s peak learning rate when --lr is not given, for a model `hidden` wide
// (docs/pretrain.md, "Default learning rate"). Causal LMs: 5e-4 (DNABERT-2's) at width 768,
// scaled by (768 / hidden)^0.93 so that width 64 gets 5e-3. Masked LMs: the rates measured at
// germ's widths, 5e-3 at 64 (`tiny`) and 5e-4 at 256 (`small`: 1.4e-3 left a Softmax_1 encoder
// on the MLM plateau), log-log interpolated, 5e-4 up to 768, then the causal rule. No width gets
// more than 5e-3.
double default_pretrain_lr(int64_t hidden, model::ModelKind kind);
// The FOCUS adapter's (`pretrain --focus`), whatever the width: the rate it was tuned at.
inline constexpr double kDefaultFocusLr = 5e-4;

}  // namespace germ::train
