#pragma once
#include <cstdint>
#include <string>

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

// `germ pretrain`'s peak learning rate when --lr is not given, for a model `hidden` wide
// (docs/pretrain.md, "Default learning rate"): 5e-4 (DNABERT-2's) at width 768, scaled by
// (768 / hidden)^0.93 so that width 64 (`tiny`) gets 5e-3, the best rate measured there; no
// width gets more than 5e-3.
double default_pretrain_lr(int64_t hidden);
// The FOCUS adapter's (`pretrain --focus`), whatever the width: the rate it was tuned at.
inline constexpr double kDefaultFocusLr = 5e-4;

}  // namespace germ::train
