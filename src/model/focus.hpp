#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "model/linear.hpp"
#include "model/transformer.hpp"

namespace germ::model {

// What a lane carries from one window to the next (docs/focus.md).
//   kFocus: the K/V of the learned focus tokens (one per k bases) — FOCUS compression.
//   kNone:  nothing; plain windowed scoring with `context` bases of re-read left context.
//   kRaw:   the K/V of every ordinary token (an uncompressed sliding KV cache), the
//           reference FOCUS is measured against.
enum class MemoryKind { kFocus, kNone, kRaw };
const char* to_string(MemoryKind);
MemoryKind parse_memory_kind(const std::string&);

struct FocusGeometry {
  int64_t k = 100;         // bases summarised by one focus token
  int64_t window = 1000;   // bases scored per window; a multiple of k
  int64_t memory = 64;     // states kept across windows (oldest dropped)
  int64_t context = 100;   // bases re-read before each window (the shared boundary); >= 1
  MemoryKind kind = MemoryKind::kFocus;

  void validate() const;  // throws germ::Error naming the option
  int64_t focus_per_window() const { return window / k; }
  int64_t raw_tokens() const { return context + window; }
  // Windows needed before a state is as full as it gets (warm-up for region starts).
  int64_t warmup_windows() const;
  std::string to_json() const;
  static FocusGeometry from_json(const std::string& json);
};

// The trainable FOCUS parts; the base model stays frozen. Each layer has its own focus
// Q/K/V projection (initialised from the base's, so the base path is untouched); the
// attention output projection and the FFN are the base model's.
class FocusAdapterImpl : public torch::nn::Module {
 public:
  explicit FocusAdapterImpl(const ModelConfig& config);
  void initialise_from(GermModel& base);
  // Tensors named "focus.embedding", "focus.layer.<i>.Wqkv.weight|bias".
  std::map<std::string, at::Tensor> named_tensors() const;
  void load_tensors(const std::map<std::string, at::Tensor>& tensors, const std::string& source);

  at::Tensor embedding;  // [hidden]
  std::vector<GermLinear> wqkv;
};
TORCH_MODULE(FocusAdapter);

// Per-lane state carried between windows: per layer K/V [heads, m, head_dim], newest last.
struct LaneMemory {
  std::vector<at::Tensor> keys, values;
  int64_t count = 0;
  void clear() { keys.clear(), values.clear(), count = 0; }
};

// The keys and values of a window's first raw rows, every layer, saved by one lane so that
// another lane reading the same bases and memory up to there can start mid-window (variant
// scoring: an ALT lane resumes at its variant from the reference lane's rows).
struct WindowPrefix {
  std::vector<at::Tensor> keys, values;  // per layer [heads, rows, head_dim]
  int64_t rows = 0;
};

// The optional parts of a step (default: every row run, nothing saved).
struct StepOptions {
  // Raw rows [0, first_row) are not run: lane b's keys and values for them come from
  // resume[b] (rows >= first_row). A causal model's later rows see only their keys and
  // values, so the rows that are run equal the full step's.
  int64_t first_row = 0;
  std::vector<const WindowPrefix*> resume;
  // Per lane (or empty): null, or a prefix whose `rows` says how many first rows to keep
  // (clamped to the step's rows); filled by the step.
  std::vector<WindowPrefix*> save;
};

// Runs one window for a batch of lanes. Lane b's raw tokens are ids[b] = the bases at
// positions [s - context, s + window) relative to its window start s; raw indices before
// valid_from[b] do not exist (the lane's first window) and are masked. Returns the final
// hidden states (after the final norm) of the rows at positions s-1 .. s+window-2, i.e. the
// rows that predict bases s .. s+window-1: [B, window, hidden]. Differentiable (training).
class WindowRunner {
 public:
  WindowRunner(GermModel model, FocusAdapter adapter, FocusGeometry geometry);

  // With options.first_row = r > context - 1 the returned rows start at the one predicting
  // base s + r - context + 1 (the rows before it are not run).
  at::Tensor step(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                  const std::vector<LaneMemory*>& memories, const StepOptions& options = {});
  // The last window of lanes that stop inside it: ids[b] = the bases at [s - context, s + n)
  // for 1 <= n <= window. The memories are read, not updated, and the focus tokens are not
  // run; returns the rows that predict bases s .. s+n-1: [B, n, hidden], equal to the first n
  // rows of step() on the same bases (causality).
  at::Tensor last_step(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                       const std::vector<LaneMemory*>& memories, const StepOptions& options = {});
  // The first base whose prediction a step with these options returns, relative to s.
  int64_t first_predicted(const StepOptions& options) const {
    return std::max<int64_t>(0, options.first_row - geometry_.context + 1);
  }

  const FocusGeometry& geometry() const { return geometry_; }
  GermModel& model() { return model_; }
  // Where the model's weights are (and so the lane memories); ids may come from the CPU.
  c10::Device device() const { return device_; }
  // Queries per attention tile: scores are computed for a tile's rows against the keys its
  // last row can see (default 128; docs/score.md).
  void set_query_tile(int64_t rows);

 private:
  // Where the keys of a raw-token step sit: [zero key, memory..., raw tokens...].
  struct RawKeys {
    std::vector<float> position;  // relative to the window start
    std::vector<float> offset;    // logit offsets: kHiddenKey where not attended (re-read memory,
                                  // before the sequence start), else 0
    bool any_hidden = false;
  };
  const RawKeys& raw_keys(int64_t memory_count, int64_t valid_from);
  const at::Tensor& raw_bias(int64_t memory_count, int64_t valid_from);
  // q, k, v: [H, rows, D] for raw rows [first_row, first_row + rows); the keys and values of
  // the rows before come from `prefix` (null when first_row is 0).
  at::Tensor attend_raw(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const LaneMemory& memory,
                        const WindowPrefix* prefix, int64_t layer, int64_t valid_from, int64_t first_row);
  at::Tensor run_window(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                        const std::vector<LaneMemory*>& memories, bool carry_state, const StepOptions& options);

  GermModel model_;
  FocusAdapter adapter_;
  FocusGeometry geometry_;
  c10::Device device_{c10::kCPU};
  at::Tensor focus_bias_;  // [H, 1, 1, k + 2]
  std::vector<float> slopes_;
  std::map<std::pair<int64_t, int64_t>, RawKeys> raw_keys_cache_;
  std::map<std::pair<int64_t, int64_t>, at::Tensor> raw_bias_cache_;
  int64_t query_tile_ = 128;
};

// Next-base log-probabilities over A, C, G, T (renormalised over the four bases) from
// final hidden states: [..., 4].
at::Tensor base_log_probs(GermModel& model, const at::Tensor& hidden);

}  // namespace germ::model
