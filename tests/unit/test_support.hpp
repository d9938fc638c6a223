#pragma once
// Fixtures shared by unit tests that write files.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace germ::test_support {

// Tolerance for two float computations of the same value that reach it by different GEMM
// blockings (another window shape, another OpenBLAS core: CI reruns the numeric tests under
// each core the CPU can run): a few float ulps per accumulated term, scaled by the magnitude.
// A real bug (a leaked key, a wrong position) moves values by 1e-4 or more.
inline double float_tolerance(double value, double relative = 1e-5) { return relative * (1.0 + std::abs(value)); }

// n draws of N(0, spread^2), the same for the same seed: inputs of the kernel tests.
inline std::vector<float> random_values(size_t n, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// A python3 that can import torch (the PyTorch fixtures of tests/hf), or "" when none is
// installed. Debian's python3-torch lives in /usr/bin/python3; a python3 earlier on PATH may lack it.
inline std::string python_with_torch() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    std::string probe = std::string(python) + " -c 'import torch' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

// A fresh, empty directory per test under ::testing::TempDir(), removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("germ-" + std::string(test->test_suite_name()) + "-" + test->name() + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t files_in_dir() const {
    return std::distance(std::filesystem::directory_iterator(dir_),
                         std::filesystem::directory_iterator());
  }

  std::filesystem::path dir_;
};

// While alive, writes that grow a file past `bytes` fail with EFBIG ("File too large"), as on
// a full disk (SIGXFSZ is ignored meanwhile). Restores the limit and the handler on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_), 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = SIG_DFL;
};

}  // namespace germ::test_support
