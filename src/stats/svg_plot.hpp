#pragma once
#include <string>
#include <vector>

#include "stats/outlier_report.hpp"

namespace germ::stats {

// One self-contained SVG 1.1 picture answering "will this model quantize?": kurtosis and
// inf-norm per layer, the |activation| histogram, and the summaries. Takes one or two reports
// (germ::Error otherwise); with two, reports[0] is the model under study and reports[1] the
// baseline it is compared against (`--model` and `--vs`).
std::string render_outlier_svg(const std::vector<OutlierReport>& reports);

// Writes render_outlier_svg atomically; "-" is stdout.
void write_outlier_svg(const std::string& path, const std::vector<OutlierReport>& reports);

}  // namespace germ::stats
