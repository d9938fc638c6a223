#pragma once
// The readers under test take a path (they mmap, or hand the path to htslib), so each fuzz
// input is written to one in-memory file (memfd) and the readers open /proc/self/fd/N.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace germ_fuzz {

inline const std::string& input_file(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("germ-fuzz-input", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0 ||
      (size > 0 && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))) {
    std::perror("germ fuzz: memfd");
    std::abort();
  }
  return path;
}

// A broken invariant is a finding: abort so that libFuzzer saves the input.
inline void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "germ fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace germ_fuzz
