#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace germ::train {

double LrSchedule::at(int64_t step) const {
  if (warmup > 0 && step < warmup) return peak * (step + 1) / static_cast<double>(warmup);
  if (shape == "constant" || total <= warmup) return peak;
  double progress = std::clamp((step - warmup) / static_cast<double>(total - warmup), 0.0, 1.0);
  double floor = peak * final_fraction;
  if (shape == "linear") return floor + (peak - floor) * (1.0 - progress);
  if (shape == "cosine") return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
  throw Error("--schedule", "unknown schedule '" + shape + "' (use linear, cosine or constant)");
}

double default_pretrain_lr(int64_t hidden, model::ModelKind kind) {
  if (hidden < 1) throw Error("config", "hidden size must be positive");
  const double width = static_cast<double>(hidden);
  if (kind == model::ModelKind::kEncoderMlm && width > 64 && width < 256)
    return 5e-3 * std::pow(0.1, std::log(width / 64) / std::log(4.0));  // 5e-3 at 64 to 5e-4 at 256
  if (kind == model::ModelKind::kEncoderMlm && width >= 256 && width <= 768) return 5e-4;
  // log(5e-3 / 5e-4) / log(768 / 64): the line through the two anchors in log-log.
  const double exponent = std::log(10.0) / std::log(12.0);
  return std::min(5e-3, 5e-4 * std::pow(768.0 / width, exponent));
}

}  // namespace germ::train
