#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace germ::train {

// `--time-limit`: a run stops (after a checkpoint) once the next step might no longer finish in
// time. The next step is assumed to take as long as the longest so far (which includes the
// evaluation and checkpoint steps), so a run ends early rather than late.
class TimeLimit {
 public:
  using Clock = std::chrono::steady_clock;
  // `minutes` <= 0: no limit. `stop_after_step` > 0 acts as if the time ran out after that
  // step (tests: the time-limit path at a known step).
  explicit TimeLimit(double minutes, int64_t stop_after_step = 0)
      : seconds_(minutes * 60.0), stop_after_step_(stop_after_step), start_(Clock::now()), mark_(start_) {}

  void step_done() {
    const Clock::time_point now = Clock::now();
    longest_step_ = std::max(longest_step_, std::chrono::duration<double>(now - mark_).count());
    mark_ = now;
  }
  bool reached(int64_t step) const {
    if (stop_after_step_ > 0 && step >= stop_after_step_) return true;
    if (seconds_ <= 0) return false;
    return std::chrono::duration<double>(Clock::now() - start_).count() + longest_step_ > seconds_;
  }
  double elapsed_minutes() const { return std::chrono::duration<double>(Clock::now() - start_).count() / 60.0; }
  bool enabled() const { return seconds_ > 0 || stop_after_step_ > 0; }

 private:
  double seconds_;
  int64_t stop_after_step_;
  Clock::time_point start_, mark_;
  double longest_step_ = 0;
};

}  // namespace germ::train
