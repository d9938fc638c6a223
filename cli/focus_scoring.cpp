#include "focus_scoring.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "quant/quantized_store.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"

namespace germ::cli {

LoadedFocusModel load_focus_for_scoring(const std::string& model_path, bool fake_quant, const FocusGeometryArgs& args) {
  LoadedFocusModel loaded{model::load_focus_model(model_path), {}};
  quant::attach_stored_quantization(loaded.focus.bundle, model_path,
                                    fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger);
  model::FocusGeometry& geometry = loaded.geometry;
  geometry = loaded.focus.geometry;
  if (!args.memory_kind.empty()) geometry.kind = model::parse_memory_kind(args.memory_kind);
  if (args.k > 0) geometry.k = args.k;
  if (args.window > 0) geometry.window = args.window;
  if (args.memory >= 0) geometry.memory = args.memory;
  if (args.context > 0) geometry.context = args.context;
  if (geometry.kind == model::MemoryKind::kFocus && !loaded.focus.has_adapter)
    throw Error(model_path, "has no FOCUS adapter; use --memory-kind none or train one with germ pretrain --focus");
  geometry.validate();
  return loaded;
}

score::LaneScorer make_lane_scorer(LoadedFocusModel& loaded, const std::string& model_path,
                                   const std::string& device_name, int64_t& lanes) {
  // On a GPU the weights, the activations and every lane's FOCUS memory stay on the device;
  // only each window's log-probabilities come back (docs/gpu.md).
  const c10::Device device = util::select_device(device_name);
  if (!device.is_cpu()) {
    if (quant::is_quantized(loaded.focus.bundle))
      throw Error(model_path, "is quantized; its integer kernels run on the CPU (use --device cpu)");
    loaded.focus.bundle.model->to(device);
  }
  // On the CPU every thread runs lanes of its own, with single-threaded GEMMs: small GEMMs
  // split across threads spend more time synchronising than computing (docs/score.md).
  const int64_t workers = device.is_cpu() ? at::get_num_threads() : 1;
  if (lanes <= 0) lanes = std::max<int64_t>(8, 4 * workers);
  if (workers > 1) util::set_blas_threads(1);
  return score::LaneScorer(loaded.focus.bundle.model, loaded.focus.adapter, loaded.geometry, lanes, workers);
}

}  // namespace germ::cli
