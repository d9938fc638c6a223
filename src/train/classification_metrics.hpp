#pragma once
// Evaluation metrics for sequence classification, defined as scikit-learn defines them, so
// germ's numbers compare directly with published GUE results (DNABERT-2 reports MCC and
// macro F1 computed with sklearn).
#include <cstdint>
#include <string>
#include <vector>

namespace germ::train {

struct ClassificationMetrics {
  int64_t num_labels = 0;
  int64_t count = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  double accuracy = 0;
  // Matthews correlation, multiclass form (Gorodkin 2004, R_K; sklearn's matthews_corrcoef),
  // 0 when undefined (a constant truth or prediction), as sklearn.
  double mcc = 0;
  // Mean F1 over the classes that occur in the truth or the predictions (sklearn's
  // f1_score(average="macro") without explicit labels); a class absent from both has F1 0
  // in f1_per_class but does not count in the mean.
  double macro_f1 = 0;
  std::vector<double> f1_per_class;
  // How many classes occur among the predictions; 1 of a K > 1 class task means the classifier
  // predicts one class only (no better than a constant guess: MCC 0), which the reports say.
  int64_t predicted_classes = 0;
  bool predicts_one_class() const { return num_labels > 1 && predicted_classes == 1; }

  std::string to_json() const;
  // A summary line, then the confusion matrix with true labels as rows and predicted labels as
  // columns, plus per-class F1. `label_names` (optional, one per label) replace the indices.
  std::string to_text(const std::vector<std::string>& label_names = {}) const;
};

// germ::Error("metrics", ...) for unequal lengths, no examples, num_labels < 1 or a label
// outside [0, num_labels).
ClassificationMetrics classification_metrics(const std::vector<int64_t>& truth,
                                             const std::vector<int64_t>& predicted, int64_t num_labels);

}  // namespace germ::train
