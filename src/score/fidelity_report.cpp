#include "score/fidelity_report.hpp"

#include <algorithm>

#include "io/bases.hpp"
#include "io/sequence_reader.hpp"
#include "model/fidelity.hpp"
#include "model/focus_store.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

std::vector<std::string> fidelity_tiles(const std::string& input, const std::vector<io::Region>& regions,
                                        int64_t length, int64_t max_tiles) {
  io::SequenceReader reader = regions.empty() ? io::SequenceReader(input) : io::SequenceReader(input, regions);
  std::vector<std::string> tiles;
  std::string pending;
  io::SequenceChunk chunk;
  while (static_cast<int64_t>(tiles.size()) < max_tiles && reader.next(chunk)) {
    if (chunk.contig_start) pending.clear();
    io::normalize_bases_in_place(chunk.bases);
    pending += chunk.bases;
    size_t used = 0;
    for (; pending.size() - used >= static_cast<size_t>(length) && static_cast<int64_t>(tiles.size()) < max_tiles;
         used += length) {
      std::string tile = pending.substr(used, length);
      if (std::count(tile.begin(), tile.end(), 'N') * 10 <= length) tiles.push_back(std::move(tile));
    }
    pending.erase(0, used);
  }
  return tiles;
}

}  // namespace

std::string fidelity_report(model::FocusModel& focus, const model::FocusGeometry& geometry,
                            const FidelityRequest& request) {
  if (request.windows_per_sequence < 2) throw Error("--fidelity-windows", "must be at least 2");
  if (request.sequences < 1) throw Error("--fidelity-sequences", "must be at least 1");
  int64_t length = request.windows_per_sequence * geometry.window;
  auto tiles = fidelity_tiles(request.input, request.regions, length, request.sequences);
  if (tiles.empty())
    throw Error(request.input, "no stretch of " + std::to_string(length) + " bases with at most 10% N to compare on");
  model::WindowRunner runner(focus.bundle.model, focus.adapter, geometry);
  model::FidelityTotals totals = model::evaluate_fidelity(runner, tiles);
  return "# germ fidelity: " + std::string(model::to_string(geometry.kind)) + " " + geometry.to_json() +
         " vs uncompressed, " + std::to_string(tiles.size()) + " sequences of " + std::to_string(length) +
         " bases, positions after the first window\n" + totals.report();
}

}  // namespace germ::score
