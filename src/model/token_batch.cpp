#include "model/token_batch.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::model {

std::vector<int64_t> frame_sequence(const tokenize::Tokenizer& tokenizer, ModelKind kind,
                                    std::string_view normalised_bases, int64_t max_tokens) {
  std::vector<int64_t> ids = tokenizer.encode(normalised_bases);
  if (kind == ModelKind::kCausalLm) {
    if (static_cast<int64_t>(ids.size()) > max_tokens) ids.resize(max_tokens);
    return ids;
  }
  if (max_tokens < 3) throw Error("model", "max_length " + std::to_string(max_tokens) + " leaves no room for tokens");
  if (static_cast<int64_t>(ids.size()) > max_tokens - 2) ids.resize(max_tokens - 2);
  return tokenize::with_cls_sep(ids);
}

TokenBatch pad_token_batch(const std::vector<std::vector<int64_t>>& sequences) {
  size_t width = 1;
  for (const auto& s : sequences) width = std::max(width, s.size());
  auto rows = static_cast<int64_t>(sequences.size());
  at::Tensor ids = at::full({rows, static_cast<int64_t>(width)}, tokenize::kPadId, at::kLong);
  at::Tensor mask = at::zeros({rows, static_cast<int64_t>(width)}, at::kLong);
  auto ids_view = ids.accessor<int64_t, 2>();
  auto mask_view = mask.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (size_t t = 0; t < sequences[r].size(); ++t) {
      ids_view[r][t] = sequences[r][t];
      mask_view[r][t] = 1;
    }
  return {ids, mask};
}

at::Tensor class_probabilities(model::GermModel& model, const std::vector<std::vector<int64_t>>& tokens,
                               int64_t batch_size, c10::Device device) {
  torch::NoGradGuard no_grad;
  bool was_training = model->is_training();
  model->eval();
  std::vector<at::Tensor> parts;
  for (size_t start = 0; start < tokens.size(); start += batch_size) {
    std::vector<std::vector<int64_t>> chunk(tokens.begin() + start,
                                            tokens.begin() + std::min(tokens.size(), start + batch_size));
    model::TokenBatch batch = model::pad_token_batch(chunk);
    at::Tensor logits = model->forward(batch.ids.to(device), batch.attention_mask.to(device));
    parts.push_back(at::softmax(logits.to(at::kFloat), -1).cpu());
  }
  if (was_training) model->train();
  if (parts.empty()) return at::empty({0, model->config().num_labels});
  return at::cat(parts, 0);
}

std::vector<int64_t> predicted_classes(const at::Tensor& probabilities) {
  at::Tensor best = probabilities.argmax(1).contiguous();
  return std::vector<int64_t>(best.data_ptr<int64_t>(), best.data_ptr<int64_t>() + best.numel());
}

}  // namespace germ::model
