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

}  // namespace germ::train
