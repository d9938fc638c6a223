#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "train/classification_metrics.hpp"
#include "util/error.hpp"

using germ::train::classification_metrics;

namespace {

// Expands a confusion matrix [true][predicted] into label vectors.
void labels_from_confusion(const std::vector<std::vector<int64_t>>& confusion, std::vector<int64_t>& truth,
                           std::vector<int64_t>& predicted) {
  for (size_t t = 0; t < confusion.size(); ++t)
    for (size_t p = 0; p < confusion[t].size(); ++p)
      for (int64_t n = 0; n < confusion[t][p]; ++n) truth.push_back(t), predicted.push_back(p);
}

}  // namespace

TEST(Metrics, BinaryExampleByHand) {
  // Positive class 1: TP = 6, TN = 3, FP = 1, FN = 2.
  //   MCC = (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (18 - 2) / sqrt(7 * 8 * 4 * 5)
  //       = 16 / sqrt(1120) = 0.478091...
  //   accuracy = 9 / 12; F1(1) = 2*6 / (2*6 + 1 + 2) = 0.8; F1(0) = 2*3 / (2*3 + 2 + 1) = 2/3.
  std::vector<int64_t> truth, predicted;
  labels_from_confusion({{3, 1}, {2, 6}}, truth, predicted);
  auto m = classification_metrics(truth, predicted, 2);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{3, 1}, {2, 6}}));
  EXPECT_NEAR(m.mcc, 16.0 / std::sqrt(1120.0), 1e-12);
  EXPECT_NEAR(m.mcc, 0.4780914437, 1e-9);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_NEAR(m.f1_per_class[1], 0.8, 1e-12);
  EXPECT_NEAR(m.f1_per_class[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro_f1, (0.8 + 2.0 / 3.0) / 2, 1e-12);
}

TEST(Metrics, ThreeClassExampleByFormula) {
  // C = [[4,1,0],[2,3,1],[0,1,2]]: s = 14, c = trace = 9, t (rows) = (5,6,3), p (columns) = (6,5,3).
  //   sum p t = 30 + 30 + 9 = 69, sum p^2 = sum t^2 = 36 + 25 + 9 = 70, s^2 = 196.
  //   MCC = (9*14 - 69) / sqrt((196 - 70)(196 - 70)) = 57 / 126 = 0.452380...
  //   (sklearn.metrics.matthews_corrcoef evaluates exactly this expression.)
  //   F1 = 2 C_kk / (t_k + p_k) = 8/11, 6/11, 4/6; macro = (8/11 + 6/11 + 2/3) / 3 = 64/99.
  std::vector<int64_t> truth, predicted;
  labels_from_confusion({{4, 1, 0}, {2, 3, 1}, {0, 1, 2}}, truth, predicted);
  auto m = classification_metrics(truth, predicted, 3);
  EXPECT_NEAR(m.mcc, 57.0 / 126.0, 1e-12);
  EXPECT_NEAR(m.accuracy, 9.0 / 14.0, 1e-12);
  EXPECT_NEAR(m.f1_per_class[0], 8.0 / 11.0, 1e-12);
  EXPECT_NEAR(m.f1_per_class[1], 6.0 / 11.0, 1e-12);
  EXPECT_NEAR(m.f1_per_class[2], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro_f1, 64.0 / 99.0, 1e-12);

  auto json = nlohmann::json::parse(m.to_json());
  EXPECT_EQ(json["confusion"][1][0], 2);
  EXPECT_NEAR(json["mcc"].get<double>(), 57.0 / 126.0, 1e-12);
  std::string text = m.to_text({"promoter", "enhancer", "other"});
  EXPECT_NE(text.find("MCC 0.4524"), std::string::npos) << text;
  EXPECT_NE(text.find("true\\predicted  promoter  enhancer     other"), std::string::npos) << text;
  EXPECT_NE(text.find("enhancer               2         3         1"), std::string::npos) << text;
}

TEST(Metrics, PerfectConstantAndAbsentClasses) {
  std::vector<int64_t> truth = {0, 1, 2, 2, 1, 0};
  auto perfect = classification_metrics(truth, truth, 3);
  EXPECT_DOUBLE_EQ(perfect.mcc, 1.0);
  EXPECT_DOUBLE_EQ(perfect.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(perfect.macro_f1, 1.0);
  // Predicting one class throughout: the denominator is 0 and MCC is 0, as in sklearn.
  auto constant = classification_metrics(truth, std::vector<int64_t>(6, 1), 3);
  EXPECT_DOUBLE_EQ(constant.mcc, 0.0);
  EXPECT_NEAR(constant.accuracy, 2.0 / 6.0, 1e-12);
  // F1(1) = 2*2 / (2 + 6) = 0.5; classes 0 and 2 occur in the truth and score 0.
  EXPECT_NEAR(constant.macro_f1, 0.5 / 3.0, 1e-12);
  // A label absent from truth and predictions is left out of the macro mean (sklearn's default).
  auto absent = classification_metrics({0, 1, 1, 0}, {0, 1, 0, 0}, 4);
  EXPECT_EQ(absent.f1_per_class.size(), 4u);
  EXPECT_DOUBLE_EQ(absent.f1_per_class[3], 0.0);
  EXPECT_NEAR(absent.macro_f1, (0.8 + 2.0 / 3.0) / 2, 1e-12);
  // Anti-correlated binary predictions give -1.
  EXPECT_DOUBLE_EQ(classification_metrics({0, 1, 0, 1}, {1, 0, 1, 0}, 2).mcc, -1.0);
}

TEST(Metrics, RejectsBadInput) {
  EXPECT_THROW(classification_metrics({0, 1}, {0, 2}, 2), germ::Error);
  EXPECT_THROW(classification_metrics({-1, 1}, {0, 1}, 2), germ::Error);
  EXPECT_THROW(classification_metrics({0, 1}, {0}, 2), germ::Error);
  EXPECT_THROW(classification_metrics({}, {}, 2), germ::Error);
  EXPECT_THROW(classification_metrics({0}, {0}, 0), germ::Error);
}

TEST(Metrics, ReportsSayWhenOneClassIsPredicted) {
  auto constant = classification_metrics({0, 1, 2, 1}, {1, 1, 1, 1}, 3);
  EXPECT_TRUE(constant.predicts_one_class());
  EXPECT_EQ(constant.predicted_classes, 1);
  EXPECT_NE(constant.to_text({"a", "b", "c"}).find("predicts one class only (b for every example)"), std::string::npos)
      << constant.to_text();
  EXPECT_TRUE(nlohmann::json::parse(constant.to_json())["predicts_one_class"].get<bool>());
  auto mixed = classification_metrics({0, 1, 2, 1}, {0, 1, 1, 1}, 3);
  EXPECT_FALSE(mixed.predicts_one_class());
  EXPECT_EQ(mixed.to_text().find("one class only"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(mixed.to_json())["predicted_classes"].get<int64_t>(), 2);
}
