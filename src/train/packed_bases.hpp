#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace germ::train {

// A contig's bases stored 2 bits per base (A=0 C=1 G=2 T=3) plus the runs of N, so a training
// corpus costs a quarter of a byte per base in memory: the 140 Mb corpus is ~35 MB instead of
// 140 MB of strings (docs/pretrain.md). Bases are appended in order, as a streaming reader
// yields them; any slice can be read back as uppercase ACGTN.
class PackedBases {
 public:
  // `bases` must be normalised (uppercase A/C/G/T/N, see io::normalize_bases).
  void append(std::string_view bases);
  int64_t size() const { return size_; }
  // Bases [begin, begin + length) as uppercase ACGTN; the range must lie inside the contig.
  std::string read(int64_t begin, int64_t length) const;
  // Count of N in [begin, end), without unpacking.
  int64_t count_n(int64_t begin, int64_t end) const;
  // Heap bytes held (codes and N runs).
  size_t memory_bytes() const;
  // Releases the spare capacity left by appending.
  void shrink_to_fit();

 private:
  std::vector<uint8_t> codes_;                       // 4 bases per byte, low bits first
  std::vector<std::pair<int64_t, int64_t>> n_runs_;  // [begin, end) of each run of N, sorted
  int64_t size_ = 0;
};

}  // namespace germ::train
