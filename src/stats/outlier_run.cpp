#include "stats/outlier_run.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "model/model_store.hpp"
#include "model/token_batch.hpp"
#include "stats/outlier_collector.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace germ::stats {

OutlierReport measure_outliers(model::ModelBundle& bundle, const std::string& label,
                               const std::vector<std::string>& sequences, int64_t batch_size) {
  model::GermModel& net = bundle.model;
  const model::ModelConfig& config = net->config();
  net->eval();
  torch::NoGradGuard no_grad;
  OutlierReport report;
  report.label = label;
  report.normaliser = config.normaliser == model::Normaliser::kSoftmax1 ? "softmax1" : "softmax";
  report.sequences = static_cast<int64_t>(sequences.size());
  OutlierCollector collector(config.layers, config.heads, config.normaliser == model::Normaliser::kSoftmax1);
  util::Progress progress("stats " + label, sequences.size(), "seq");
  for (size_t start = 0; start < sequences.size(); start += batch_size) {
    size_t end = std::min(sequences.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> framed;
    for (size_t i = start; i < end; ++i)
      framed.push_back(model::frame_sequence(*bundle.tokenizer, net->kind(), sequences[i], config.max_length));
    model::TokenBatch batch = model::pad_token_batch(framed);
    collector.set_batch_mask(batch.attention_mask);
    net->hidden_states(batch.ids, batch.attention_mask, &collector);
    progress.update(end);
  }
  progress.finish();
  collector.finish(report);
  return report;
}

}  // namespace germ::stats
