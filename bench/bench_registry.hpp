#pragma once
#include <cstdint>

namespace germ::bench {
double train_tokens_per_second(int64_t batch, int64_t seq_len, int steps);
}
