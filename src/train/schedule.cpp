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

double log_log_interpolate(const std::vector<WidthRate>& points, double width) {
  if (points.empty()) throw Error("config", "no learning-rate anchors");
  if (width <= points.front().width) return points.front().rate;
  if (width >= points.back().width) return points.back().rate;
  size_t upper = 1;
  while (points[upper].width < width) ++upper;
  const WidthRate& lo = points[upper - 1];
  const WidthRate& hi = points[upper];
  const double t = std::log(width / lo.width) / std::log(hi.width / lo.width);
  return lo.rate * std::pow(hi.rate / lo.rate, t);
}

double default_pretrain_lr(int64_t hidden, model::ModelKind kind) {
  if (hidden < 1) throw Error("config", "hidden size must be positive");
  const double width = static_cast<double>(hidden);
  if (kind == model::ModelKind::kEncoderMlm && width <= 768)
    return log_log_interpolate({{64, 5e-3}, {256, 5e-4}, {768, 5e-4}}, width);
  // log(5e-3 / 5e-4) / log(768 / 64): the line through the two anchors in log-log.
  const double exponent = std::log(10.0) / std::log(12.0);
  return std::min(5e-3, 5e-4 * std::pow(768.0 / width, exponent));
}

}  // namespace germ::train
