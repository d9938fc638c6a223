#pragma once
// The FOCUS model setup that `germ score` (FASTA tracks) and `germ eval` (causal LMs) share:
// opening with geometry overrides, then the per-thread workers.
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "engine/open_model.hpp"
#include "model/focus_store.hpp"
#include "score/lane_scorer.hpp"

namespace germ::cli {

// Overrides of the model's stored geometry; 0 (memory: -1) or empty keeps the model's value.
struct FocusGeometryArgs {
  int64_t k = 0, window = 0, memory = -1, context = 0;
  std::string memory_kind;
};

struct LoadedFocusModel {
  model::FocusModel focus;
  model::FocusGeometry geometry;  // the model's, with the overrides applied and validated
  c10::Device device = c10::Device(c10::kCPU);
};

// Opens the causal LM on `device` with its stored quantization (fake_quant: quantise-dequantise
// in fp32).
LoadedFocusModel load_focus_for_scoring(const engine::ModelFile& file, bool fake_quant, const FocusGeometryArgs& args,
                                        c10::Device device = c10::Device(c10::kCPU));

// Builds the scorer. On the CPU every thread runs lanes of its own with single-threaded GEMMs;
// `lanes` <= 0 picks 4 per thread (at least 8) and is set to the count used.
score::LaneScorer make_lane_scorer(LoadedFocusModel& loaded, int64_t& lanes);

}  // namespace germ::cli
