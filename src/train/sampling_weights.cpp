#include "train/sampling_weights.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "util/error.hpp"

namespace germ::train {

namespace {

struct WeightLine {
  std::string pattern;
  double weight = 0;
  bool used = false;
};

std::vector<WeightLine> read_weight_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path, "cannot open the weights file");
  std::vector<WeightLine> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.empty() || text[0] == '#' || text.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(text);
    WeightLine line;
    std::string weight, extra;
    fields >> line.pattern >> weight;
    char* end = nullptr;
    line.weight = std::strtod(weight.c_str(), &end);
    if (weight.empty() || *end != '\0' || !std::isfinite(line.weight) || line.weight < 0 || (fields >> extra))
      throw Error(path, "line " + std::to_string(number) + ": expected 'PATTERN<TAB>WEIGHT' with a weight >= 0");
    lines.push_back(line);
  }
  if (lines.empty()) throw Error(path, "no weights (expected lines 'PATTERN<TAB>WEIGHT')");
  return lines;
}

bool matches(const std::string& pattern, const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  return fnmatch(pattern.c_str(), path.c_str(), 0) == 0 || fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace

SamplingWeights sampling_weights(const GenomeCorpus& corpus, const std::string& sampling_weights) {
  const size_t n = corpus.files.size();
  std::vector<double> root_bases(n, 0.0);
  for (const auto& s : corpus.train) root_bases[s.file] += s.length;
  for (auto& b : root_bases) b = std::sqrt(b);

  SamplingWeights w;
  w.files = corpus.files;
  w.file_share.assign(n, 0.0);
  w.group.assign(n, "sqrt(bases)");
  std::map<std::string, double> group_weight{{"sqrt(bases)", 1.0}};
  if (!sampling_weights.empty()) {
    std::vector<WeightLine> lines = read_weight_lines(sampling_weights);
    for (size_t f = 0; f < n; ++f) {
      auto line = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return matches(l.pattern, corpus.files[f]); });
      if (line == lines.end())
        throw Error(sampling_weights, "no line matches input " + corpus.files[f] + " (add a line '*<TAB>WEIGHT' for the rest)");
      line->used = true;
      w.group[f] = line->pattern;
      group_weight[line->pattern] = line->weight;
    }
    for (const auto& l : lines)
      if (!l.used) throw Error(sampling_weights, "pattern '" + l.pattern + "' matches no input file");
  }
  std::map<std::string, double> group_root;
  for (size_t f = 0; f < n; ++f) group_root[w.group[f]] += root_bases[f];
  double total = 0;
  for (size_t f = 0; f < n; ++f) {
    const double root = group_root[w.group[f]];
    w.file_share[f] = root > 0 ? group_weight[w.group[f]] * root_bases[f] / root : 0.0;
    total += w.file_share[f];
  }
  if (total <= 0) throw Error(sampling_weights.empty() ? "training data" : sampling_weights, "every sampling weight is zero");
  for (auto& share : w.file_share) share /= total;
  return w;
}

std::string SamplingWeights::summary() const {
  std::map<std::string, double> by_group;
  for (size_t f = 0; f < file_share.size(); ++f) by_group[group[f]] += file_share[f];
  std::vector<std::pair<double, std::string>> rows;
  if (by_group.size() > 1) {
    for (const auto& [name, share] : by_group) rows.emplace_back(share, name);
  } else {
    for (size_t f = 0; f < file_share.size(); ++f)
      rows.emplace_back(file_share[f], std::filesystem::path(files[f]).filename().string());
  }
  std::sort(rows.rbegin(), rows.rend());
  std::ostringstream out;
  out.precision(3);
  for (size_t i = 0; i < rows.size() && i < 4; ++i) out << (i ? ", " : "") << rows[i].second << " " << 100 * rows[i].first << "%";
  if (rows.size() > 4) out << ", ...";
  return out.str();
}

}  // namespace germ::train
