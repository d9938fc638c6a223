#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace germ::util {

// Progress of long work on stderr: a redrawn bar with rate and ETA when stderr is a
// terminal, a plain line every `plain_interval` otherwise (logs of batch jobs stay short),
// nothing when quiet. `total` 0 means unknown (no bar, no ETA).
class Progress {
 public:
  enum class Mode { kAuto, kBar, kPlain, kQuiet };
  Progress(std::string label, uint64_t total, std::string unit, Mode mode = Mode::kAuto,
           std::FILE* stream = stderr);
  ~Progress();

  static void set_global_quiet(bool quiet);

  void update(uint64_t done, const std::string& detail = "");
  void add(uint64_t delta, const std::string& detail = "") { update(done_ + delta, detail); }
  // A resumed run: `done` units were done before this process started, so the rate and the ETA
  // count only what is done from here.
  void resume_at(uint64_t done) { resumed_at_ = done, done_ = done; }
  // Prints the final line (totals and mean rate) once.
  void finish(const std::string& detail = "");

  std::chrono::seconds plain_interval{10};

 private:
  std::string render(const std::string& detail, bool final_line) const;
  std::string label_;
  uint64_t total_;
  std::string unit_;
  Mode mode_;
  std::FILE* stream_;
  uint64_t done_ = 0;
  uint64_t resumed_at_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "12.3k", "4.56M": rates and counts for humans.
std::string human_count(double value);
std::string human_duration(double seconds);

}  // namespace germ::util
