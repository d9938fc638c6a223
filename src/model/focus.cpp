#include "model/focus.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/inference_kernels.hpp"
#include "util/error.hpp"

namespace germ::model {
namespace {

constexpr float kNegativeInfinity = -std::numeric_limits<float>::infinity();
// The zero key under plain softmax: out of every row that has a real key, yet a fully
// masked row (padding) still normalises to it instead of to NaN, which would leak through
// 0 * NaN into the rows that use this one as a key.
constexpr float kExcluded = -1e30f;

}  // namespace

const char* to_string(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::kFocus: return "focus";
    case MemoryKind::kNone: return "none";
    case MemoryKind::kRaw: return "raw";
  }
  return "?";
}

MemoryKind parse_memory_kind(const std::string& text) {
  if (text == "focus") return MemoryKind::kFocus;
  if (text == "none") return MemoryKind::kNone;
  if (text == "raw") return MemoryKind::kRaw;
  throw Error("--memory-kind", "unknown value '" + text + "' (use focus, none or raw)");
}

void FocusGeometry::validate() const {
  if (k < 1) throw Error("--focus-k", "must be at least 1");
  if (window < k || window % k != 0)
    throw Error("--window", "must be a positive multiple of --focus-k (" + std::to_string(k) + "), got " +
                                std::to_string(window));
  if (memory < 0) throw Error("--memory", "must be >= 0");
  if (context < 1) throw Error("--context", "must be >= 1 (the row before a window predicts its first base)");
}

int64_t FocusGeometry::warmup_windows() const {
  // A lane's first window has no re-read context: enough windows to cover it, then enough to
  // fill the memory.
  int64_t windows = (context + window - 1) / window;
  if (kind == MemoryKind::kNone || memory == 0) return windows;
  int64_t per_window = kind == MemoryKind::kFocus ? focus_per_window() : window;
  return windows + (memory + per_window - 1) / per_window;
}

std::string FocusGeometry::to_json() const {
  nlohmann::json j = {{"k", k}, {"window", window}, {"memory", memory}, {"context", context},
                      {"memory_kind", to_string(kind)}};
  return j.dump();
}

FocusGeometry FocusGeometry::from_json(const std::string& text) {
  FocusGeometry g;
  try {
    auto j = nlohmann::json::parse(text);
    g.k = j.at("k").get<int64_t>();
    g.window = j.at("window").get<int64_t>();
    g.memory = j.at("memory").get<int64_t>();
    g.context = j.at("context").get<int64_t>();
    if (j.contains("memory_kind")) g.kind = parse_memory_kind(j["memory_kind"].get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw Error("germ.focus", std::string("invalid focus geometry: ") + e.what());
  }
  g.validate();
  return g;
}

FocusAdapterImpl::FocusAdapterImpl(const ModelConfig& config) {
  embedding = register_parameter("embedding", at::zeros({config.hidden}));
  torch::nn::init::normal_(embedding, 0.0, 0.02);
  for (int64_t i = 0; i < config.layers; ++i)
    wqkv.push_back(register_module("layer_" + std::to_string(i), GermLinear(config.hidden, 3 * config.hidden)));
}

void FocusAdapterImpl::initialise_from(GermModel& base) {
  at::NoGradGuard no_grad;
  // The mean nucleotide embedding: a neutral starting point for a token that stands for a k-mer.
  embedding.copy_(base->word_embeddings->weight.slice(0, 5, 9).mean(0));
  for (size_t i = 0; i < wqkv.size(); ++i) {
    wqkv[i]->weight.copy_(base->layers[i]->wqkv->weight);
    wqkv[i]->bias.copy_(base->layers[i]->wqkv->bias);
  }
}

std::map<std::string, at::Tensor> FocusAdapterImpl::named_tensors() const {
  std::map<std::string, at::Tensor> out{{"focus.embedding", embedding}};
  for (size_t i = 0; i < wqkv.size(); ++i) {
    std::string prefix = "focus.layer." + std::to_string(i) + ".Wqkv.";
    out[prefix + "weight"] = wqkv[i]->weight;
    out[prefix + "bias"] = wqkv[i]->bias;
  }
  return out;
}

void FocusAdapterImpl::load_tensors(const std::map<std::string, at::Tensor>& tensors, const std::string& source) {
  at::NoGradGuard no_grad;
  for (auto& [name, target] : named_tensors()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw ModelCorrupted(source, "missing focus tensor '" + name + "'");
    if (it->second.sizes() != target.sizes() || it->second.scalar_type() != target.scalar_type())
      throw ModelCorrupted(source, "focus tensor '" + name + "' has the wrong shape or dtype");
    target.copy_(it->second);
  }
}

WindowRunner::WindowRunner(GermModel model, FocusAdapter adapter, FocusGeometry geometry)
    : model_(std::move(model)), adapter_(std::move(adapter)), geometry_(geometry) {
  geometry_.validate();
  if (model_->kind() != ModelKind::kCausalLm)
    throw Error("model", "FOCUS scoring needs a causal-lm model");
  // The adapter follows the weights, and the biases (built once on the CPU) are kept beside
  // them, so a step on a GPU (ids, memories, activations) never leaves it until the caller
  // reads the log-probabilities.
  device_ = model_->parameters().front().device();
  if (adapter_) adapter_->to(device_);
  if (geometry_.kind == MemoryKind::kFocus && !adapter_)
    throw Error("model", "the model has no FOCUS adapter (train one with germ pretrain --focus)");
  // A focus token sees its block (k keys at distances k-1 .. 0), itself, and the zero key.
  int64_t k = geometry_.k;
  at::Tensor distance = at::cat({at::zeros({1}), at::arange(k - 1, -1, -1, at::kFloat), at::zeros({1})});
  at::Tensor slopes = model_->slopes().to(at::kCPU).contiguous();
  slopes_.assign(slopes.data_ptr<float>(), slopes.data_ptr<float>() + slopes.numel());
  focus_bias_ = (-model_->slopes().view({-1, 1}) * distance.view({1, -1})).view({-1, 1, 1, k + 2}).to(device_);
}

void WindowRunner::set_query_tile(int64_t rows) {
  if (rows < 1) throw Error("query tile", "must be at least 1 row");
  query_tile_ = rows;
}

const WindowRunner::RawKeys& WindowRunner::raw_keys(int64_t memory_count, int64_t valid_from) {
  auto key = std::make_pair(memory_count, valid_from);
  auto it = raw_keys_cache_.find(key);
  if (it != raw_keys_cache_.end()) return it->second;
  const int64_t context = geometry_.context, tokens = geometry_.raw_tokens();
  const int64_t stride = geometry_.kind == MemoryKind::kFocus ? geometry_.k : 1;
  // Positions relative to the window start s. Memory entry t (0 = newest) sits at
  // s - 1 - stride*t: the last base of its block (focus) or its own base (raw). Entries at
  // or after the first re-read base are hidden: the re-read tokens already carry them.
  RawKeys keys;
  keys.position.assign(1 + memory_count + tokens, 0.0f);  // [0]: the zero key of Softmax_1
  keys.offset.assign(keys.position.size(), 0.0f);
  for (int64_t i = 0; i < memory_count; ++i) {
    int64_t newest_first = memory_count - 1 - i;
    keys.position[1 + i] = static_cast<float>(-1 - stride * newest_first);
    if (keys.position[1 + i] >= static_cast<float>(valid_from - context)) keys.offset[1 + i] = kHiddenKey;
  }
  for (int64_t j = 0; j < tokens; ++j) {
    keys.position[1 + memory_count + j] = static_cast<float>(j - context);
    if (j < valid_from) keys.offset[1 + memory_count + j] = kHiddenKey;
  }
  keys.any_hidden = std::find(keys.offset.begin(), keys.offset.end(), kHiddenKey) != keys.offset.end();
  return raw_keys_cache_.emplace(key, std::move(keys)).first->second;
}

const at::Tensor& WindowRunner::raw_bias(int64_t memory_count, int64_t valid_from) {
  auto key = std::make_pair(memory_count, valid_from);
  auto it = raw_bias_cache_.find(key);
  if (it != raw_bias_cache_.end()) return it->second;
  const RawKeys& keys = raw_keys(memory_count, valid_from);
  const int64_t context = geometry_.context, tokens = geometry_.raw_tokens();
  at::Tensor kpos = at::tensor(keys.position), khidden = at::tensor(keys.offset) != 0;
  at::Tensor qpos = at::arange(tokens, at::kFloat) - static_cast<double>(context);
  at::Tensor distance = qpos.view({-1, 1}) - kpos.view({1, -1});  // [T, K]
  at::Tensor bias = -model_->slopes().view({-1, 1, 1}) * distance.unsqueeze(0);
  at::Tensor hidden = (distance < 0).logical_or(khidden.view({1, -1}));
  hidden.select(1, 0).fill_(false);
  bias = bias.masked_fill(hidden.unsqueeze(0), kNegativeInfinity);
  bias.select(2, 0).fill_(0);
  return raw_bias_cache_.emplace(key, bias.contiguous().to(device_)).first->second;
}

at::Tensor WindowRunner::attend_raw(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const LaneMemory& memory, const WindowPrefix* prefix, int64_t layer,
                                    int64_t valid_from, int64_t first_row) {
  // q, k, v: [H, T, D] for one lane. Keys: [zero, memory..., raw...]; Softmax_1 is the plain
  // softmax over them because of the zero key (score 0, value 0).
  const int64_t heads = q.size(0), tokens = q.size(1), dim = q.size(2);
  const int64_t m = memory.count;
  at::Tensor zero = at::zeros({heads, 1, dim}, q.options());
  std::vector<at::Tensor> key_parts{zero}, value_parts{zero};
  if (m > 0) key_parts.push_back(memory.keys[layer]), value_parts.push_back(memory.values[layer]);
  if (first_row > 0) {
    key_parts.push_back(prefix->keys[layer].slice(1, 0, first_row));
    value_parts.push_back(prefix->values[layer].slice(1, 0, first_row));
  }
  key_parts.push_back(k), value_parts.push_back(v);
  at::Tensor keys = at::cat(key_parts, 1), values = at::cat(value_parts, 1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  std::vector<at::Tensor> tiles;
  if (device_.is_cpu() && !at::GradMode::is_enabled() && q.scalar_type() == at::kFloat) {
    // Inference on the CPU: the fused kernel normalises each score tile in place
    // (model/inference_kernels.hpp); training and GPUs take the explicit form below.
    const RawKeys& layout = raw_keys(m, valid_from);
    const int64_t context = geometry_.context;
    for (int64_t begin = 0; begin < tokens; begin += query_tile_) {
      int64_t end = std::min(tokens, begin + query_tile_);
      int64_t visible = 1 + m + first_row + end;
      at::Tensor scores = at::bmm(q.slice(1, begin, end), keys.slice(1, 0, visible).transpose(1, 2)).contiguous();
      for (int64_t h = 0; h < heads; ++h) {
        AlibiSoftmaxTile tile;
        tile.scores = scores[h].data_ptr<float>();
        tile.rows = end - begin, tile.columns = visible;
        tile.key_position = layout.position.data();
        tile.key_offset = layout.any_hidden ? layout.offset.data() : nullptr;
        tile.first_query_position = static_cast<float>(first_row + begin - context);
        tile.first_row_visible = 2 + m + first_row + begin;  // the zero key, the memory and keys up to itself
        tile.slope = slopes_[h], tile.scale = static_cast<float>(scale);
        tile.zero_key = model_->config().normaliser == Normaliser::kSoftmax1;
        alibi_softmax_tile(tile);
      }
      tiles.push_back(at::bmm(scores, values.slice(1, 0, visible)));
    }
    return at::cat(tiles, 1);
  }
  const at::Tensor& bias = raw_bias(m, valid_from);
  for (int64_t begin = 0; begin < tokens; begin += query_tile_) {
    int64_t end = std::min(tokens, begin + query_tile_);
    int64_t visible = 1 + m + first_row + end;  // causal: later keys are masked anyway, skip them
    at::Tensor scores = at::baddbmm(bias.slice(1, first_row + begin, first_row + end).slice(2, 0, visible),
                                    q.slice(1, begin, end), keys.slice(1, 0, visible).transpose(1, 2),
                                    1.0, scale);
    if (model_->config().normaliser == Normaliser::kSoftmax) {
      // Plain softmax: the zero key must not take part.
      scores.select(2, 0).fill_(kExcluded);
    }
    tiles.push_back(at::bmm(at::softmax(scores, -1), values.slice(1, 0, visible)));
  }
  return at::cat(tiles, 1);
}

at::Tensor WindowRunner::step(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                              const std::vector<LaneMemory*>& memories, const StepOptions& options) {
  TORCH_CHECK(ids.size(1) == geometry_.raw_tokens(), "window ids must have context + window tokens");
  return run_window(ids, valid_from, memories, true, options);
}

at::Tensor WindowRunner::last_step(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                                   const std::vector<LaneMemory*>& memories, const StepOptions& options) {
  TORCH_CHECK(ids.size(1) > geometry_.context && ids.size(1) <= geometry_.raw_tokens(),
              "a last window needs context + 1 to context + window tokens");
  return run_window(ids, valid_from, memories, false, options);
}

namespace {

void check_step_options(const StepOptions& options, int64_t lanes, int64_t tokens) {
  const int64_t first_row = options.first_row;
  TORCH_CHECK(first_row >= 0 && first_row < tokens - 1, "a step must run at least its last two rows");
  TORCH_CHECK(options.save.empty() || static_cast<int64_t>(options.save.size()) == lanes, "one save slot per lane");
  if (first_row == 0) return;
  TORCH_CHECK(static_cast<int64_t>(options.resume.size()) == lanes, "one saved prefix per lane");
  for (const WindowPrefix* prefix : options.resume)
    TORCH_CHECK(prefix && prefix->rows >= first_row, "a saved prefix shorter than the first row run");
}

// Keeps the first rows of every lane that asked for them; keys, values: every raw row's
// [B, H, T, D] (the resumed rows, then the rows run).
void save_prefixes(const StepOptions& options, size_t layer, size_t layers, const at::Tensor& keys,
                   const at::Tensor& values) {
  for (size_t b = 0; b < options.save.size(); ++b) {
    WindowPrefix* out = options.save[b];
    if (!out) continue;
    const int64_t rows = std::min(out->rows, keys.size(2));
    if (out->keys.size() != layers) out->keys.resize(layers), out->values.resize(layers);
    // A copy: a view would keep the whole batch's projections alive.
    out->keys[layer] = keys[b].slice(1, 0, rows).clone();
    out->values[layer] = values[b].slice(1, 0, rows).clone();
    if (layer + 1 == layers) out->rows = rows;
  }
}

// Adds each lane's new keys and values (per layer [B, H, n, D]) to its memory, keeping the
// newest `capacity`.
void append_to_memories(const std::vector<LaneMemory*>& memories, const std::vector<at::Tensor>& new_keys,
                        const std::vector<at::Tensor>& new_values, int64_t capacity) {
  for (size_t b = 0; b < memories.size(); ++b) {
    LaneMemory& memory = *memories[b];
    int64_t added = new_keys[0].size(2);
    int64_t keep = std::min(capacity, memory.count + added);
    if (memory.keys.empty()) memory.keys.resize(new_keys.size()), memory.values.resize(new_keys.size());
    for (size_t layer = 0; layer < new_keys.size(); ++layer) {
      at::Tensor fresh_k = new_keys[layer][b], fresh_v = new_values[layer][b];
      at::Tensor all_k = memory.count ? at::cat({memory.keys[layer], fresh_k}, 1) : fresh_k;
      at::Tensor all_v = memory.count ? at::cat({memory.values[layer], fresh_v}, 1) : fresh_v;
      memory.keys[layer] = all_k.slice(1, all_k.size(1) - keep).contiguous();
      memory.values[layer] = all_v.slice(1, all_v.size(1) - keep).contiguous();
    }
    memory.count = keep;
  }
}

}  // namespace

at::Tensor WindowRunner::run_window(const at::Tensor& ids, const std::vector<int64_t>& valid_from,
                                    const std::vector<LaneMemory*>& memories, bool carry_state,
                                    const StepOptions& options) {
  const auto& config = model_->config();
  const int64_t lanes = ids.size(0), tokens = ids.size(1), heads = config.heads;
  const int64_t k = geometry_.k, context = geometry_.context, window = geometry_.window;
  TORCH_CHECK(static_cast<int64_t>(valid_from.size()) == lanes && static_cast<int64_t>(memories.size()) == lanes,
              "one valid_from and one memory per lane");
  check_step_options(options, lanes, tokens);
  const int64_t first_row = options.first_row;
  // Raw tokens never attend to the focus tokens of their own window, so a window whose state
  // is not carried on needs neither the focus tokens nor the memory update.
  const bool focus = carry_state && geometry_.kind == MemoryKind::kFocus;
  const int64_t focus_count = focus ? geometry_.focus_per_window() : 0;
  const bool keep_memory = carry_state && geometry_.kind != MemoryKind::kNone && geometry_.memory > 0;
  const size_t layers = model_->layers.size();
  // Every raw row's keys or values [B, H, T, D]: the resumed rows, then the rows run.
  auto whole_window = [&](const at::Tensor& run, bool keys, size_t layer) {
    if (first_row == 0) return run;
    std::vector<at::Tensor> before(lanes);
    for (int64_t b = 0; b < lanes; ++b) {
      const WindowPrefix& prefix = *options.resume[b];
      before[b] = (keys ? prefix.keys[layer] : prefix.values[layer]).slice(1, 0, first_row);
    }
    return at::cat({at::stack(before), run}, 2);
  };

  at::Tensor x = model_->embed(ids.slice(1, first_row).to(device_));  // [B, T - first_row, d]
  at::Tensor f;
  if (focus) f = adapter_->embedding.view({1, 1, -1}).expand({lanes, focus_count, config.hidden});
  std::vector<at::Tensor> new_keys, new_values;  // per layer [B, H, n, D]

  for (size_t layer = 0; layer < layers; ++layer) {
    auto& block = model_->layers[layer];
    HeadProjections raw = block->project(x);
    // Every raw row's keys and values, built only where a later use needs the resumed rows too.
    const bool need_whole = !options.save.empty() || focus || keep_memory;
    const at::Tensor whole_k = need_whole ? whole_window(raw.k, true, layer) : at::Tensor();
    const at::Tensor whole_v = need_whole ? whole_window(raw.v, false, layer) : at::Tensor();
    if (!options.save.empty()) save_prefixes(options, layer, layers, whole_k, whole_v);
    std::vector<at::Tensor> lane_context(lanes);
    for (int64_t b = 0; b < lanes; ++b)
      lane_context[b] = attend_raw(raw.q[b], raw.k[b], raw.v[b], *memories[b],
                                   first_row > 0 ? options.resume[b] : nullptr, layer, valid_from[b], first_row);
    at::Tensor attended = at::stack(lane_context);  // [B, H, T - first_row, D]

    if (focus) {
      HeadProjections focus_qkv = block->project(f, adapter_->wqkv[layer]);
      const at::Tensor &fq = focus_qkv.q, &fk = focus_qkv.k, &fv = focus_qkv.v;
      // Focus token j attends to the raw tokens of block j (after the re-read context), itself
      // and the zero key: keys [B, H, n, k + 2, D].
      auto blocks = [&](const at::Tensor& t) {
        return t.slice(2, context, context + window).reshape({lanes, heads, focus_count, k, t.size(-1)});
      };
      at::Tensor zero = at::zeros({lanes, heads, focus_count, 1, fq.size(-1)}, fq.options());
      at::Tensor keys = at::cat({zero, blocks(whole_k), fk.unsqueeze(3)}, 3);
      at::Tensor values = at::cat({zero, blocks(whole_v), fv.unsqueeze(3)}, 3);
      double scale = 1.0 / std::sqrt(static_cast<double>(fq.size(-1)));
      at::Tensor scores = at::matmul(fq.unsqueeze(3), keys.transpose(-2, -1)) * scale + focus_bias_.unsqueeze(0);
      if (config.normaliser == Normaliser::kSoftmax) scores.select(-1, 0).fill_(kExcluded);
      at::Tensor focus_context = at::matmul(at::softmax(scores, -1), values).squeeze(3);  // [B, H, n, D]
      if (keep_memory) new_keys.push_back(fk), new_values.push_back(fv);
      const int64_t run_rows = x.size(1);
      at::Tensor both = block->complete(at::cat({x, f}, 1), at::cat({attended, focus_context}, 2));
      x = both.slice(1, 0, run_rows);
      f = both.slice(1, run_rows);
    } else {
      if (keep_memory) {
        new_keys.push_back(whole_k.slice(2, context));
        new_values.push_back(whole_v.slice(2, context));
      }
      x = block->complete(x, attended);
    }
  }

  if (keep_memory) append_to_memories(memories, new_keys, new_values, geometry_.memory);
  // Row i of x is raw row first_row + i; rows context - 1 .. T - 2 predict the window's bases.
  return model_->final_norm(x.slice(1, std::max<int64_t>(0, context - 1 - first_row), tokens - 1 - first_row));
}

at::Tensor base_log_probs(GermModel& model, const at::Tensor& hidden) {
  at::Tensor logits = model->head(hidden);
  return at::log_softmax(logits.slice(-1, 5, 9), -1);
}

}  // namespace germ::model
