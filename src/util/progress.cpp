#include "util/progress.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <sstream>

namespace germ::util {
namespace {
std::atomic<bool> g_quiet{false};
}

void Progress::set_global_quiet(bool quiet) { g_quiet = quiet; }

std::string human_count(double value) {
  const char* suffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(value) >= 1000.0 && i < 4) {
    value /= 1000.0;
    ++i;
  }
  char buf[32];
  const char* format = i > 0 ? "%.2f%s" : (value != 0 && std::fabs(value) < 10 && value != std::floor(value)) ? "%.2f%s" : "%.0f%s";
  std::snprintf(buf, sizeof buf, format, value, suffix[i]);
  return buf;
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", s);
  return buf;
}

Progress::Progress(std::string label, uint64_t total, std::string unit, Mode mode,
                   std::FILE* stream)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), mode_(mode),
      stream_(stream) {
  if (g_quiet) mode_ = Mode::kQuiet;
  if (mode_ == Mode::kAuto) mode_ = ::isatty(::fileno(stream_)) ? Mode::kBar : Mode::kPlain;
  start_ = last_print_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (mode_ == Mode::kBar && !finished_) std::fputc('\n', stream_);
}

std::string Progress::render(const std::string& detail, bool final_line) const {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? (done_ - std::min(resumed_at_, done_)) / elapsed : 0.0;
  std::ostringstream line;
  line << label_ << ": ";
  if (total_ > 0 && mode_ == Mode::kBar) {
    constexpr int kWidth = 24;
    double fraction = std::min(1.0, static_cast<double>(done_) / total_);
    int filled = static_cast<int>(fraction * kWidth);
    line << '[' << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] ";
  }
  line << human_count(done_);
  if (total_ > 0) line << '/' << human_count(total_);
  line << ' ' << unit_ << ", " << human_count(rate) << ' ' << unit_ << "/s";
  if (final_line)
    line << ", " << human_duration(elapsed);
  else if (total_ > 0 && rate > 0)
    line << ", ETA " << human_duration((total_ - std::min(done_, total_)) / rate);
  if (!detail.empty()) line << ", " << detail;
  return line.str();
}

void Progress::update(uint64_t done, const std::string& detail) {
  done_ = done;
  if (mode_ == Mode::kQuiet) return;
  auto now = std::chrono::steady_clock::now();
  if (mode_ == Mode::kBar) {
    if (now - last_print_ < std::chrono::milliseconds(200)) return;
    std::fprintf(stream_, "\r\033[K%s", render(detail, false).c_str());
  } else {
    if (now - last_print_ < plain_interval) return;
    std::fprintf(stream_, "%s\n", render(detail, false).c_str());
  }
  std::fflush(stream_);
  last_print_ = now;
}

void Progress::finish(const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (mode_ == Mode::kQuiet) return;
  std::fprintf(stream_, "%s%s\n", mode_ == Mode::kBar ? "\r\033[K" : "",
               render(detail, true).c_str());
  std::fflush(stream_);
}

}  // namespace germ::util
