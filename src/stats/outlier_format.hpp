#pragma once
#include <string>
#include <vector>

#include "stats/outlier_report.hpp"

namespace germ::stats {

// One or two reports (the second is the --vs baseline: percentages are of the first
// relative to it). Text is aligned for reading, TSV has one row per model and layer plus
// "#summary" lines, JSON carries everything including the histogram.
std::string format_outliers_text(const std::vector<OutlierReport>& reports);
std::string format_outliers_tsv(const std::vector<OutlierReport>& reports);
std::string format_outliers_json(const std::vector<OutlierReport>& reports);

}  // namespace germ::stats
