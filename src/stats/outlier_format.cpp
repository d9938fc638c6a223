#include "stats/outlier_format.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace germ::stats {
namespace {

std::string fixed(double value, int decimals = 3) {
  if (!std::isfinite(value)) return "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string signed_percent(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%+.2f%%", value);
  return buffer;
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? std::nan("") : sum / values.size();
}

std::string null_mass_list(const std::vector<double>& per_head, char separator) {
  if (per_head.empty()) return "-";
  std::string out;
  for (size_t h = 0; h < per_head.size(); ++h) out += (h ? std::string(1, separator) : "") + fixed(per_head[h]);
  return out;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string format_outliers_text(const std::vector<OutlierReport>& reports) {
  std::string out;
  const std::vector<size_t> widths{7, 14, 14, 13, 14, 14, 13, 0};
  for (const auto& r : reports) {
    out += "# " + r.label + " (" + r.normaliser + "): " + std::to_string(r.sequences) + " sequences, " +
           std::to_string(r.tokens) + " tokens\n";
    std::vector<std::string> header{"layer",      "ffn_kurt", "ffn_infnorm", "ffn_max",
                                    "out_kurt",   "out_infnorm", "out_max",  "null_mass/head"};
    for (size_t c = 0; c < header.size(); ++c) out += c + 1 < header.size() ? pad(header[c], widths[c]) : header[c];
    out += "\n";
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const LayerStats& l = r.layers[i];
      std::vector<std::string> row{std::to_string(i + 1),
                                   fixed(l.ffn_output.mean_kurtosis, 2),
                                   fixed(l.ffn_output.mean_inf_norm),
                                   fixed(l.ffn_output.max_abs),
                                   fixed(l.layer_output.mean_kurtosis, 2),
                                   fixed(l.layer_output.mean_inf_norm),
                                   fixed(l.layer_output.max_abs),
                                   null_mass_list(l.null_mass_per_head, ' ')};
      for (size_t c = 0; c < row.size(); ++c) out += c + 1 < row.size() ? pad(row[c], widths[c]) : row[c];
      out += "\n";
    }
    out += "average kurtosis " + fixed(r.average_kurtosis(), 2) + ", max inf-norm " + fixed(r.max_inf_norm()) +
           ", max |x| " + fixed(r.global_max_abs()) + "\n\n";
  }
  if (reports.size() == 2) {
    const auto &model = reports[0], &baseline = reports[1];
    out += model.label + " vs " + baseline.label + ": average kurtosis " +
           signed_percent(percent_change(baseline.average_kurtosis(), model.average_kurtosis())) +
           ", max inf-norm " + signed_percent(percent_change(baseline.max_inf_norm(), model.max_inf_norm())) +
           ", max |x| " + signed_percent(percent_change(baseline.global_max_abs(), model.global_max_abs())) + "\n";
  }
  return out;
}

std::string format_outliers_tsv(const std::vector<OutlierReport>& reports) {
  std::string out =
      "#model\tnormaliser\tlayer\tffn_kurtosis\tffn_inf_norm\tffn_max_abs\toutput_kurtosis\t"
      "output_inf_norm\toutput_max_abs\tnull_mass_mean\tnull_mass_per_head\n";
  for (const auto& r : reports)
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const LayerStats& l = r.layers[i];
      out += r.label + "\t" + r.normaliser + "\t" + std::to_string(i + 1) + "\t" + fixed(l.ffn_output.mean_kurtosis, 4) +
             "\t" + fixed(l.ffn_output.mean_inf_norm, 4) + "\t" + fixed(l.ffn_output.max_abs, 4) + "\t" +
             fixed(l.layer_output.mean_kurtosis, 4) + "\t" + fixed(l.layer_output.mean_inf_norm, 4) + "\t" +
             fixed(l.layer_output.max_abs, 4) + "\t" +
             (l.null_mass_per_head.empty() ? "-" : fixed(mean(l.null_mass_per_head), 4)) + "\t" +
             null_mass_list(l.null_mass_per_head, ',') + "\n";
    }
  for (const auto& r : reports)
    out += "#summary\t" + r.label + "\taverage_kurtosis=" + fixed(r.average_kurtosis(), 4) +
           "\tmax_inf_norm=" + fixed(r.max_inf_norm(), 4) + "\tmax_abs=" + fixed(r.global_max_abs(), 4) + "\n";
  return out;
}

std::string format_outliers_json(const std::vector<OutlierReport>& reports) {
  auto tensor_json = [](const TensorStats& t) {
    return nlohmann::json{{"kurtosis", t.mean_kurtosis}, {"inf_norm", t.mean_inf_norm}, {"max_abs", t.max_abs}};
  };
  nlohmann::json models = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < r.layers.size(); ++i) {
      nlohmann::json layer{{"layer", i + 1},
                           {"ffn_output", tensor_json(r.layers[i].ffn_output)},
                           {"layer_output", tensor_json(r.layers[i].layer_output)}};
      if (!r.layers[i].null_mass_per_head.empty()) layer["null_mass_per_head"] = r.layers[i].null_mass_per_head;
      layers.push_back(layer);
    }
    nlohmann::json edges = nlohmann::json::array();
    for (int b = 0; b < ActivationHistogram::kBins; ++b) edges.push_back(ActivationHistogram::lower_edge(b));
    models.push_back({{"label", r.label},
                      {"normaliser", r.normaliser},
                      {"sequences", r.sequences},
                      {"tokens", r.tokens},
                      {"layers", layers},
                      {"summary",
                       {{"average_kurtosis", r.average_kurtosis()},
                        {"max_inf_norm", r.max_inf_norm()},
                        {"max_abs", r.global_max_abs()}}},
                      {"histogram", {{"lower_edges", edges}, {"counts", r.histogram.counts}}}});
  }
  nlohmann::json out{{"models", models}};
  if (reports.size() == 2) {
    const auto &model = reports[0], &baseline = reports[1];
    auto percent = [](double before, double after) -> nlohmann::json {
      double p = percent_change(before, after);
      return std::isfinite(p) ? nlohmann::json(p) : nlohmann::json(nullptr);
    };
    out["comparison"] = {
        {"model", model.label},
        {"baseline", baseline.label},
        {"average_kurtosis_change_percent", percent(baseline.average_kurtosis(), model.average_kurtosis())},
        {"max_inf_norm_change_percent", percent(baseline.max_inf_norm(), model.max_inf_norm())},
        {"max_abs_change_percent", percent(baseline.global_max_abs(), model.global_max_abs())}};
  }
  return out.dump(2) + "\n";
}

}  // namespace germ::stats
