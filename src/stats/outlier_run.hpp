#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/sequence_sample.hpp"
#include "stats/outlier_report.hpp"

namespace germ::model {
struct ModelBundle;
}

namespace germ::stats {

// Runs the model over the sequences (batches of `batch_size`, inference mode) and collects
// the outlier statistics. `label` names the model in reports.
OutlierReport measure_outliers(model::ModelBundle& bundle, const std::string& label,
                               const std::vector<std::string>& sequences, int64_t batch_size = 16);

}  // namespace germ::stats
