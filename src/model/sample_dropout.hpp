#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace germ::model {

// Dropout whose mask for row b of the batch comes from a generator seeded by that sample's
// own seed (and the dropout call's position in the forward pass) while a SampleNoiseScope is
// active. A sample then gets the same mask whichever batch, slice or process it is computed
// in, which is what makes data-parallel training equal single-process training
// (docs/distributed.md). Outside a scope it is at::dropout.
at::Tensor sample_dropout(const at::Tensor& input, double p, bool training);

// Per-sample seeds for the forward passes on this thread until destruction (not nestable).
class SampleNoiseScope {
 public:
  explicit SampleNoiseScope(std::vector<uint64_t> sample_seeds);
  ~SampleNoiseScope();
  SampleNoiseScope(const SampleNoiseScope&) = delete;
  SampleNoiseScope& operator=(const SampleNoiseScope&) = delete;

 private:
  std::vector<uint64_t> seeds_;
};

}  // namespace germ::model
