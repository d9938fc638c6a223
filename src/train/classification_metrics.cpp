#include "train/classification_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace germ::train {
namespace {

std::string fixed(double value, int decimals = 4) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string pad_left(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string pad_right(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace

ClassificationMetrics classification_metrics(const std::vector<int64_t>& truth,
                                             const std::vector<int64_t>& predicted, int64_t num_labels) {
  if (truth.size() != predicted.size())
    throw Error("metrics", std::to_string(truth.size()) + " true labels but " + std::to_string(predicted.size()) +
                               " predictions");
  if (truth.empty()) throw Error("metrics", "no examples to evaluate");
  if (num_labels < 1) throw Error("metrics", "num_labels must be at least 1");
  ClassificationMetrics m;
  m.num_labels = num_labels;
  m.count = static_cast<int64_t>(truth.size());
  m.confusion.assign(num_labels, std::vector<int64_t>(num_labels, 0));
  for (size_t i = 0; i < truth.size(); ++i) {
    for (int64_t label : {truth[i], predicted[i]})
      if (label < 0 || label >= num_labels)
        throw Error("metrics", "label " + std::to_string(label) + " at example " + std::to_string(i) +
                                   " is outside [0, " + std::to_string(num_labels) + ")");
    ++m.confusion[truth[i]][predicted[i]];
  }

  // Gorodkin's R_K from the confusion matrix C with s = sum(C), c = trace(C), t_k = row sums
  // (true counts), p_k = column sums (predicted counts):
  //   R_K = (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2) (s^2 - sum_k t_k^2)).
  // For K = 2 this is (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
  const double s = static_cast<double>(m.count);
  double c = 0, pt = 0, pp = 0, tt = 0;
  std::vector<double> true_count(num_labels, 0), predicted_count(num_labels, 0);
  for (int64_t k = 0; k < num_labels; ++k) {
    c += static_cast<double>(m.confusion[k][k]);
    for (int64_t j = 0; j < num_labels; ++j) {
      true_count[k] += static_cast<double>(m.confusion[k][j]);
      predicted_count[k] += static_cast<double>(m.confusion[j][k]);
    }
    pt += predicted_count[k] * true_count[k];
    pp += predicted_count[k] * predicted_count[k];
    tt += true_count[k] * true_count[k];
  }
  m.accuracy = c / s;
  double denominator = (s * s - pp) * (s * s - tt);
  m.mcc = denominator > 0 ? (c * s - pt) / std::sqrt(denominator) : 0.0;

  // F1_k = 2 TP / (2 TP + FP + FN) = 2 C_kk / (t_k + p_k).
  int64_t present = 0;
  double f1_sum = 0;
  for (int64_t k = 0; k < num_labels; ++k) {
    double support = true_count[k] + predicted_count[k];
    double f1 = support > 0 ? 2.0 * static_cast<double>(m.confusion[k][k]) / support : 0.0;
    m.f1_per_class.push_back(f1);
    if (support > 0) ++present, f1_sum += f1;
    if (predicted_count[k] > 0) ++m.predicted_classes;
  }
  m.macro_f1 = f1_sum / static_cast<double>(present);
  return m;
}

std::string ClassificationMetrics::to_json() const {
  nlohmann::json out{{"num_labels", num_labels}, {"count", count},       {"accuracy", accuracy},
                     {"mcc", mcc},               {"macro_f1", macro_f1}, {"f1_per_class", f1_per_class},
                     {"confusion", confusion},   {"predicted_classes", predicted_classes},
                     {"predicts_one_class", predicts_one_class()}};
  return out.dump();
}

std::string ClassificationMetrics::to_text(const std::vector<std::string>& label_names) const {
  std::vector<std::string> names;
  for (int64_t k = 0; k < num_labels; ++k)
    names.push_back(static_cast<size_t>(k) < label_names.size() ? label_names[k] : std::to_string(k));
  const std::string corner = "true\\predicted";
  size_t first = corner.size();
  size_t width = std::string("1.0000").size();
  for (const auto& name : names) first = std::max(first, name.size()), width = std::max(width, name.size());
  for (const auto& row : confusion)
    for (int64_t value : row) width = std::max(width, std::to_string(value).size());

  std::string text = "examples " + std::to_string(count) + "  accuracy " + fixed(accuracy) + "  MCC " + fixed(mcc) +
                     "  macro F1 " + fixed(macro_f1) + "\n";
  text += pad_right(corner, first);
  for (const auto& name : names) text += "  " + pad_left(name, width);
  text += "\n";
  for (int64_t k = 0; k < num_labels; ++k) {
    text += pad_right(names[k], first);
    for (int64_t value : confusion[k]) text += "  " + pad_left(std::to_string(value), width);
    text += "\n";
  }
  text += pad_right("F1", first);
  for (double f1 : f1_per_class) text += "  " + pad_left(fixed(f1), width);
  text += "\n";
  if (predicts_one_class()) {
    int64_t only = 0;
    for (int64_t k = 0; k < num_labels; ++k)
      for (int64_t t = 0; t < num_labels; ++t)
        if (confusion[t][k] > 0) only = k;
    text += "note: the classifier predicts one class only (" + names[only] +
            " for every example): it learned nothing usable; see docs/finetune.md, \"Saying when nothing was "
            "learned\"\n";
  }
  return text;
}

}  // namespace germ::train
