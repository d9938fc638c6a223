#include "train/classifier.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/bases.hpp"
#include "model/token_batch.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::train {

EncodedSet encode_labelled_set(const io::LabelledSet& set, const tokenize::Tokenizer& tokenizer, int64_t max_tokens) {
  EncodedSet out;
  out.path = set.path;
  for (const auto& row : set.rows) {
    std::string bases = io::normalize_bases(row.bases);
    std::vector<int64_t> ids = tokenizer.encode(bases);
    if (static_cast<int64_t>(ids.size()) + 2 > max_tokens) ++out.truncated;
    out.tokens.push_back(model::frame_sequence(tokenizer, model::ModelKind::kClassifier, bases, max_tokens));
    out.labels.push_back(row.label);
  }
  return out;
}

model::ModelBundle make_classifier(const model::ModelBundle& base, const std::vector<std::string>& label_names,
                                   const std::string& base_path, model::Pooling pooling) {
  const int64_t classes = static_cast<int64_t>(label_names.size());
  model::ModelKind kind = base.model->kind();
  if (kind == model::ModelKind::kCausalLm)
    throw Error(base_path, "is a causal-lm model; fine-tuning a classifier needs an encoder (germ pretrain --objective mlm)");
  if (kind == model::ModelKind::kClassifier) {
    if (base.model->config().num_labels != classes)
      throw Error(base_path, "is a classifier with " + std::to_string(base.model->config().num_labels) +
                                 " classes; the data have " + std::to_string(classes));
    model::ModelBundle copy = base;
    copy.labels = label_names;
    copy.extra_tensors.clear();  // checkpoint state of an earlier run
    copy.extra_metadata.clear();
    return copy;
  }
  model::ModelConfig config = base.model->config();
  config.num_labels = classes;
  config.pooling = pooling;
  model::ModelBundle out;
  out.model = model::GermModel(config, model::ModelKind::kClassifier);
  out.tokenizer = base.tokenizer;
  out.labels = label_names;
  torch::NoGradGuard no_grad;
  auto source = base.model->named_parameters();
  for (auto& item : out.model->named_parameters()) {
    const at::Tensor* from = source.find(item.key());
    if (from && from->sizes() == item.value().sizes()) item.value().copy_(*from);
  }
  return out;
}

std::vector<std::string> label_names_for(const std::string& data_path, int64_t num_labels) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < num_labels; ++i) names.push_back(std::to_string(i));
  auto tsv = std::filesystem::path(data_path) / "labels.tsv";
  if (!std::filesystem::is_directory(data_path) || !std::filesystem::exists(tsv)) return names;
  std::ifstream in(tsv);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string id_text, name;
    if (!std::getline(fields, id_text, '\t') || !std::getline(fields, name)) continue;
    int64_t id = -1;
    try {
      id = std::stoll(id_text);
    } catch (const std::exception&) {
      if (line_number == 1) continue;  // a header line
      throw Error(tsv.string() + ":" + std::to_string(line_number), "label id '" + id_text + "' is not an integer");
    }
    if (id < 0 || id >= num_labels)
      throw Error(tsv.string() + ":" + std::to_string(line_number),
                  "label id " + id_text + " is outside the data's labels 0.." + std::to_string(num_labels - 1));
    if (!name.empty() && name.back() == '\r') name.pop_back();
    names[id] = name;
  }
  return names;
}

}  // namespace germ::train
