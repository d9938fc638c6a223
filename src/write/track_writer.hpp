#pragma once
// Writers for `germ score` tracks: bedGraph (plain or bgzip, optionally tabix-indexed) and
// bigWig. Formats, merging and the reasons behind them: docs/score_output.md.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace germ::write {

enum class TrackFormat { kBedGraph, kBedGraphGz, kBigWig };

// The -O value: "bedgraph", "b" or "" -> kBedGraph; "z" or "bedgraph.gz" -> kBedGraphGz;
// "bigwig" or "bw" -> kBigWig. Anything else is a germ::Error on "-O".
TrackFormat parse_track_format(const std::string& o_type);

struct TrackWriterOptions {
  std::string path = "-";  // "-" = stdout (bedGraph formats only)
  TrackFormat format = TrackFormat::kBedGraph;
  bool write_index = false;  // -W: tabix index (<path>.tbi); kBedGraphGz to a file only
  // Written verbatim before the records (bedGraph formats only); several lines are allowed
  // (e.g. a "browser" line and a "track" line); a tabix index skips them.
  std::string track_line;
  // The contigs and their lengths, in output order. Required for bigWig (its header lists
  // them; records must follow this order and lie within the lengths); unused otherwise.
  std::vector<std::pair<std::string, int64_t>> chrom_sizes;
};

class TrackWriter {
 public:
  virtual ~TrackWriter();
  // One record, 0-based half-open [begin, end). Records arrive contig by contig (a contig
  // never comes back once another has started), in increasing, non-overlapping order;
  // anything else is a germ::Error ("records out of order"), a guard against caller bugs.
  virtual void write(const std::string& contig, int64_t begin, int64_t end, float value) = 0;
  // Finishes the file (flush, bgzip EOF, tabix index, bigWig index) and renames the
  // temporary onto the final path; write errors (a full disk) are germ::Errors here at the
  // latest. A writer destroyed without commit() leaves no output file and no index.
  virtual void commit() = 0;
};

// Validates the options (germ::Error on "-O", "-W", "--track-line" or the path) and opens the
// output.
std::unique_ptr<TrackWriter> make_track_writer(const TrackWriterOptions& options);

}  // namespace germ::write
