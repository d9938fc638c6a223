#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "model/focus.hpp"

namespace germ::model {
struct FocusModel;
}

namespace germ::score {

// `--fidelity` of `germ score` and `germ stats`: FOCUS (or another memory kind) against the
// uncompressed model on consecutive tiles of `windows_per_sequence` windows taken from the
// input in order (tiles with more than 10% N are skipped).
struct FidelityRequest {
  std::string input;
  std::vector<io::Region> regions;
  int64_t windows_per_sequence = 4;
  int64_t sequences = 32;
};

// A "#" header line naming the geometry and sample, then FidelityTotals::report() lines.
std::string fidelity_report(model::FocusModel& focus, const model::FocusGeometry& geometry,
                            const FidelityRequest& request);

}  // namespace germ::score
