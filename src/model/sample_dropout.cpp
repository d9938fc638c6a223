#include "model/sample_dropout.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "util/error.hpp"

namespace germ::model {
namespace {

thread_local const std::vector<uint64_t>* t_sample_seeds = nullptr;
thread_local uint64_t t_dropout_calls = 0;

// SplitMix64 finaliser: neighbouring (seed, call) pairs give unrelated generator seeds.
uint64_t mix(uint64_t seed, uint64_t call) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (call + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

at::Tensor sample_dropout(const at::Tensor& input, double p, bool training) {
  if (!training || p <= 0) return input;
  if (!t_sample_seeds) return at::dropout(input, p, true);
  const auto& seeds = *t_sample_seeds;
  if (input.dim() == 0 || input.size(0) != static_cast<int64_t>(seeds.size()))
    throw Error("dropout", "batch of " + std::to_string(input.dim() ? input.size(0) : 0) + " rows but " +
                               std::to_string(seeds.size()) + " sample seeds");
  const uint64_t call = t_dropout_calls++;
  at::Tensor keep = at::empty(input.sizes(), input.options().device(at::kCPU));
  for (size_t b = 0; b < seeds.size(); ++b) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(mix(seeds[b], call));
    keep.select(0, static_cast<int64_t>(b)).bernoulli_(1.0 - p, generator);
  }
  return input * keep.to(input.device()).div_(1.0 - p);
}

SampleNoiseScope::SampleNoiseScope(std::vector<uint64_t> sample_seeds) : seeds_(std::move(sample_seeds)) {
  t_sample_seeds = &seeds_;
  t_dropout_calls = 0;
}

SampleNoiseScope::~SampleNoiseScope() { t_sample_seeds = nullptr; }

}  // namespace germ::model
