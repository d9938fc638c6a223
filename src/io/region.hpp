#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace germ::io {

// A stretch of one contig, 0-based half-open. end == -1 means "to the end of the contig".
struct Region {
  std::string contig;
  int64_t begin = 0;
  int64_t end = -1;

  bool whole_contig() const { return begin == 0 && end == -1; }
  // samtools syntax, 1-based inclusive; a name containing ':' or starting with '{' is quoted
  // as "{name}", so
  // parse_region(r.to_string()) == r.
  std::string to_string() const;
  bool operator==(const Region& other) const {
    return contig == other.contig && begin == other.begin && end == other.end;
  }
};

// Parses samtools region syntax: "chr", "chr:beg", "chr:beg-", "chr:-end", "chr:beg-end",
// 1-based inclusive, with optional thousands commas ("chr1:1,000-2,000"). The part after the
// rightmost ':' is always a position range; a contig whose name contains ':' is written
// "{name}" or "{name}:beg-end". When is_contig is given and the whole text names a contig,
// it is that contig (as samtools does with a header at hand). Errors are
// germ::Error("-r/--region <text>", problem).
Region parse_region(const std::string& text,
                    const std::function<bool(const std::string&)>& is_contig = {});

}  // namespace germ::io
