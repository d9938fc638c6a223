#include "train/batches.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::train {

constexpr int64_t kCls = tokenize::kClsId;
constexpr int64_t kSep = tokenize::kSepId;
constexpr int64_t kPad = tokenize::kPadId;
constexpr int64_t kMask = tokenize::kMaskId;

Batch make_clm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer) {
  if (windows.empty()) throw Error("batch", "no windows");
  const int64_t length = windows.front().size() - 1;
  at::Tensor ids = at::empty({static_cast<int64_t>(windows.size()), length + 1}, at::kLong);
  int64_t* data = ids.data_ptr<int64_t>();
  for (size_t b = 0; b < windows.size(); ++b) {
    std::vector<int64_t> encoded = tokenizer.encode(windows[b]);
    if (static_cast<int64_t>(encoded.size()) != length + 1)
      throw Error("batch", "causal LM windows must all have the same length");
    std::copy(encoded.begin(), encoded.end(), data + b * (length + 1));
  }
  using at::indexing::Slice;
  Batch batch;
  batch.input_ids = ids.index({Slice(), Slice(0, length)}).contiguous();
  batch.labels = ids.index({Slice(), Slice(1, at::indexing::None)}).clone();
  const int64_t n_id = tokenizer.encode("N").at(0);
  batch.labels.masked_fill_(batch.labels == n_id, kIgnoreLabel);
  batch.tokens = (batch.labels != kIgnoreLabel).sum().item<int64_t>();
  batch.bases = static_cast<int64_t>(windows.size()) * length;
  return batch;
}

namespace {

// `rng_for(b)` is the generator that masks window b.
template <typename RngFor>
Batch mlm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer, int64_t max_tokens,
                double mask_fraction, RngFor rng_for) {
  if (windows.empty()) throw Error("batch", "no windows");
  if (max_tokens < 3) throw Error("--seq-len", "must be at least 3 tokens for [CLS] x [SEP]");
  const int64_t batch_size = windows.size();
  at::Tensor ids = at::full({batch_size, max_tokens}, kPad, at::kLong);
  at::Tensor mask = at::zeros({batch_size, max_tokens}, at::kLong);
  at::Tensor labels = at::full({batch_size, max_tokens}, kIgnoreLabel, at::kLong);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  auto labels_a = labels.accessor<int64_t, 2>();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int64_t> random_token(tokenize::kSpecialTokenCount, tokenizer.vocab_size() - 1);
  Batch batch;
  for (int64_t b = 0; b < batch_size; ++b) {
    std::mt19937_64& rng = rng_for(b);
    std::vector<int64_t> tokens = tokenizer.encode(windows[b]);
    tokens.resize(std::min<size_t>(tokens.size(), max_tokens - 2));
    batch.bases += windows[b].size();
    ids_a[b][0] = kCls;
    mask_a[b][0] = 1;
    const int64_t n = tokens.size();
    for (int64_t i = 0; i < n; ++i) {
      int64_t id = tokens[i];
      mask_a[b][i + 1] = 1;
      ids_a[b][i + 1] = id;
      if (unit(rng) >= mask_fraction) continue;
      labels_a[b][i + 1] = id;
      ++batch.tokens;
      double action = unit(rng);
      if (action < 0.8)
        ids_a[b][i + 1] = kMask;
      else if (action < 0.9)
        ids_a[b][i + 1] = random_token(rng);
    }
    ids_a[b][n + 1] = kSep;
    mask_a[b][n + 1] = 1;
  }
  batch.input_ids = ids;
  batch.attention_mask = mask;
  batch.labels = labels;
  return batch;
}

}  // namespace

Batch make_mlm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer,
                     int64_t max_tokens, double mask_fraction, std::mt19937_64& rng) {
  return mlm_batch(windows, tokenizer, max_tokens, mask_fraction, [&](int64_t) -> std::mt19937_64& { return rng; });
}

Batch make_mlm_batch(const std::vector<std::string>& windows, const tokenize::Tokenizer& tokenizer,
                     int64_t max_tokens, double mask_fraction, const std::vector<uint64_t>& sample_seeds) {
  if (sample_seeds.size() != windows.size()) throw Error("batch", "one masking seed per window is required");
  std::mt19937_64 rng;
  return mlm_batch(windows, tokenizer, max_tokens, mask_fraction, [&](int64_t b) -> std::mt19937_64& {
    rng.seed(sample_seeds[b]);
    return rng;
  });
}

}  // namespace germ::train
