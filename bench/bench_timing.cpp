// The timing loop every germ benchmark binary shares (bench_registry.hpp).
#include <chrono>

#include "bench/bench_registry.hpp"

namespace germ::bench {

double seconds_per_call(const std::function<void()>& body, double min_seconds) {
  body();  // warm-up
  int calls = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    body();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < min_seconds);
  return elapsed / calls;
}

}  // namespace germ::bench
