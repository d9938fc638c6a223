#include "train/packed_bases.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace germ::train {

namespace {

constexpr char kLetters[4] = {'A', 'C', 'G', 'T'};

uint8_t code_of(char base) {
  switch (base) {
    case 'C': return 1;
    case 'G': return 2;
    case 'T': return 3;
    default: return 0;  // A, and N (whose code is never read: the N runs win)
  }
}

}  // namespace

void PackedBases::append(std::string_view bases) {
  codes_.resize((size_ + static_cast<int64_t>(bases.size()) + 3) / 4, 0);
  for (char base : bases) {
    if (base == 'N') {
      if (!n_runs_.empty() && n_runs_.back().second == size_)
        ++n_runs_.back().second;
      else
        n_runs_.emplace_back(size_, size_ + 1);
    }
    codes_[size_ >> 2] |= static_cast<uint8_t>(code_of(base) << ((size_ & 3) * 2));
    ++size_;
  }
}

std::string PackedBases::read(int64_t begin, int64_t length) const {
  if (begin < 0 || length < 0 || begin + length > size_)
    throw Error("packed sequence", "read of [" + std::to_string(begin) + ", " + std::to_string(begin + length) +
                                       ") outside a contig of " + std::to_string(size_) + " bases");
  std::string out(length, 'A');
  for (int64_t i = 0; i < length; ++i) {
    const int64_t at = begin + i;
    out[i] = kLetters[(codes_[at >> 2] >> ((at & 3) * 2)) & 3];
  }
  const int64_t end = begin + length;
  auto run = std::upper_bound(n_runs_.begin(), n_runs_.end(), begin,
                              [](int64_t position, const auto& r) { return position < r.second; });
  for (; run != n_runs_.end() && run->first < end; ++run)
    for (int64_t at = std::max(run->first, begin); at < std::min(run->second, end); ++at) out[at - begin] = 'N';
  return out;
}

int64_t PackedBases::count_n(int64_t begin, int64_t end) const {
  int64_t count = 0;
  auto run = std::upper_bound(n_runs_.begin(), n_runs_.end(), begin,
                              [](int64_t position, const auto& r) { return position < r.second; });
  for (; run != n_runs_.end() && run->first < end; ++run)
    count += std::min(run->second, end) - std::max(run->first, begin);
  return count;
}

size_t PackedBases::memory_bytes() const {
  return codes_.capacity() + n_runs_.capacity() * sizeof(n_runs_[0]);
}

void PackedBases::shrink_to_fit() {
  codes_.shrink_to_fit();
  n_runs_.shrink_to_fit();
}

}  // namespace germ::train
