#include "score/lm_eval_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace germ::score {
namespace {

double per_base(double sum, int64_t bases) {
  return bases > 0 ? sum / static_cast<double>(bases) : std::numeric_limits<double>::quiet_NaN();
}

std::string baseline_name(int order) { return "markov:" + std::to_string(order); }

std::string format_value(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string pad_right(const std::string& text, size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 1, ' ');
}
std::string pad_left(const std::string& text, size_t width) {
  return std::string(width > text.size() ? width - text.size() : 1, ' ') + text;
}

// One row of the text table: scope, name, bases, then the per-base figures.
std::string text_row(const std::string& scope, const std::string& name, size_t name_width, const std::string& bases,
                     const std::vector<std::string>& figures) {
  std::string line = pad_right(scope, 8) + pad_right(name, name_width + 2) + pad_left(bases, 12);
  for (const auto& figure : figures) line += pad_left(figure, 12);
  return line + "\n";
}

std::vector<std::string> text_figures(const LmEvalTally& tally, size_t baselines) {
  std::vector<std::string> figures{format_value("%.4f", tally.bits_per_base()),
                                   format_value("%.4f", tally.nats_per_base())};
  for (size_t i = 0; i < baselines; ++i) figures.push_back(format_value("%.4f", tally.baseline_bits_per_base(i)));
  return figures;
}

nlohmann::json json_row(const LmEvalTally& tally, const std::vector<int>& orders) {
  nlohmann::json row{{"bases", tally.bases}, {"bits_per_base", tally.bits_per_base()},
                     {"nats_per_base", tally.nats_per_base()}};
  if (!tally.file.empty()) row["file"] = tally.file;
  if (!tally.contig.empty()) row["contig"] = tally.contig;
  nlohmann::json baselines = nlohmann::json::object();
  for (size_t i = 0; i < orders.size(); ++i)
    baselines[baseline_name(orders[i])] = {{"bits_per_base", tally.baseline_bits_per_base(i)},
                                           {"nats_per_base", tally.baseline_bits_per_base(i) * std::log(2.0)}};
  row["baselines"] = baselines;
  return row;
}

}  // namespace

void LmEvalTally::add(const LmEvalTally& other) {
  bases += other.bases;
  model_nats += other.model_nats;
  baseline_bits.resize(std::max(baseline_bits.size(), other.baseline_bits.size()), 0.0);
  for (size_t i = 0; i < other.baseline_bits.size(); ++i) baseline_bits[i] += other.baseline_bits[i];
}

double LmEvalTally::nats_per_base() const { return per_base(model_nats, bases); }
double LmEvalTally::bits_per_base() const { return per_base(model_nats / std::log(2.0), bases); }
double LmEvalTally::baseline_bits_per_base(size_t i) const {
  return per_base(i < baseline_bits.size() ? baseline_bits[i] : 0.0, bases);
}

void LmEvalReport::summarise() {
  files.clear();
  total = LmEvalTally{};
  total.baseline_bits.assign(baseline_orders.size(), 0.0);
  for (const auto& contig : contigs) {
    if (files.empty() || files.back().file != contig.file) {
      files.push_back(LmEvalTally{});
      files.back().file = contig.file;
      files.back().baseline_bits.assign(baseline_orders.size(), 0.0);
    }
    files.back().add(contig);
    total.add(contig);
  }
}

std::string LmEvalReport::to_text() const {
  std::string text = "model     " + model_path + " (memory " + model::to_string(geometry.kind) + ", window " +
                     std::to_string(geometry.window) + ", context " + std::to_string(geometry.context) + ")\n";
  if (!baseline_orders.empty())
    text += "baseline  order-K Markov chains, both strands, add-0.5 smoothing, counted on " +
            std::to_string(baseline_train.size()) + " file(s), " + std::to_string(baseline_train_bases) + " bases\n";
  text += "bits/base and nats/base of the model; markov:K columns in bits/base, on the same bases\n\n";
  size_t width = 4;
  for (const auto& row : contigs) width = std::max({width, row.contig.size(), row.file.size()});
  std::vector<std::string> header{"bits/base", "nats/base"};
  for (int order : baseline_orders) header.push_back(baseline_name(order));
  text += text_row("scope", "name", width, "bases", header);
  for (const auto& row : contigs)
    text += text_row("contig", row.contig, width, std::to_string(row.bases), text_figures(row, baseline_orders.size()));
  for (const auto& row : files)
    text += text_row("file", row.file, width, std::to_string(row.bases), text_figures(row, baseline_orders.size()));
  text += text_row("total", "-", width, std::to_string(total.bases), text_figures(total, baseline_orders.size()));
  return text;
}

std::string LmEvalReport::to_tsv() const {
  std::string text = "#scope\tfile\tcontig\tbases\tbits_per_base\tnats_per_base";
  for (int order : baseline_orders) text += "\tmarkov" + std::to_string(order) + "_bits_per_base";
  text += "\n";
  auto row = [&](const char* scope, const LmEvalTally& tally) {
    text += std::string(scope) + "\t" + (tally.file.empty() ? "." : tally.file) + "\t" +
            (tally.contig.empty() ? "." : tally.contig) + "\t" + std::to_string(tally.bases) + "\t" +
            format_value("%.6f", tally.bits_per_base()) + "\t" + format_value("%.6f", tally.nats_per_base());
    for (size_t i = 0; i < baseline_orders.size(); ++i)
      text += "\t" + format_value("%.6f", tally.baseline_bits_per_base(i));
    text += "\n";
  };
  for (const auto& tally : contigs) row("contig", tally);
  for (const auto& tally : files) row("file", tally);
  row("total", total);
  return text;
}

std::string LmEvalReport::to_json() const {
  nlohmann::json out{{"model", model_path}, {"geometry", nlohmann::json::parse(geometry.to_json())}};
  if (baseline_orders.empty()) {
    out["baseline"] = nullptr;
  } else {
    nlohmann::json names = nlohmann::json::array();
    for (int order : baseline_orders) names.push_back(baseline_name(order));
    out["baseline"] = {{"names", names},          {"orders", baseline_orders},
                       {"train", baseline_train}, {"train_bases", baseline_train_bases},
                       {"strands", "both"},       {"smoothing", "add-0.5"}};
  }
  for (const char* key : {"contigs", "files"}) out[key] = nlohmann::json::array();
  for (const auto& tally : contigs) out["contigs"].push_back(json_row(tally, baseline_orders));
  for (const auto& tally : files) out["files"].push_back(json_row(tally, baseline_orders));
  out["total"] = json_row(total, baseline_orders);
  out["seconds"] = seconds;
  return out.dump(2) + "\n";
}

}  // namespace germ::score
