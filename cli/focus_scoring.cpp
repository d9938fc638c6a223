#include "focus_scoring.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "util/error.hpp"
#include "util/runtime.hpp"

namespace germ::cli {

LoadedFocusModel load_focus_for_scoring(const engine::ModelFile& file, bool fake_quant, const FocusGeometryArgs& args,
                                        c10::Device device) {
  // On a GPU the weights, the activations and every lane's FOCUS memory stay on the device;
  // only each window's log-probabilities come back (docs/gpu.md).
  engine::OpenOptions options;
  options.execution = fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
  options.device = device;
  LoadedFocusModel loaded{engine::open_model(file, options).focus_model(), {}, device};
  model::FocusGeometry& geometry = loaded.geometry;
  geometry = loaded.focus.geometry;
  if (!args.memory_kind.empty()) geometry.kind = model::parse_memory_kind(args.memory_kind);
  if (args.k > 0) geometry.k = args.k;
  if (args.window > 0) geometry.window = args.window;
  if (args.memory >= 0) geometry.memory = args.memory;
  if (args.context > 0) geometry.context = args.context;
  if (geometry.kind == model::MemoryKind::kFocus && !loaded.focus.has_adapter)
    throw Error(file.path(), "has no FOCUS adapter; use --memory-kind none or train one with germ pretrain --focus");
  geometry.validate();
  return loaded;
}

score::LaneScorer make_lane_scorer(LoadedFocusModel& loaded, int64_t& lanes) {
  // On the CPU every thread runs lanes of its own, with single-threaded GEMMs: small GEMMs
  // split across threads spend more time synchronising than computing (docs/score.md).
  const int64_t workers = loaded.device.is_cpu() ? at::get_num_threads() : 1;
  if (lanes <= 0) lanes = std::max<int64_t>(8, 4 * workers);
  if (workers > 1) util::set_blas_threads(1);
  return score::LaneScorer(loaded.focus.bundle.model, loaded.focus.adapter, loaded.geometry, lanes, workers);
}

}  // namespace germ::cli
