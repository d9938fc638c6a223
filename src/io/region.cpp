#include "io/region.hpp"

#include <limits>

#include "util/error.hpp"

namespace germ::io {
namespace {

[[noreturn]] void reject(const std::string& text, const std::string& problem) {
  throw Error("-r/--region " + text, problem);
}

// A 1-based position with optional thousands commas; empty means "not given" (-1).
int64_t parse_position(const std::string& text, const std::string& field) {
  int64_t value = 0;
  bool any_digit = false;
  for (char c : field) {
    if (c == ',') continue;
    if (c < '0' || c > '9') reject(text, "position '" + field + "' is not a number");
    any_digit = true;
    if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) reject(text, "position '" + field + "' is too large");
    value = value * 10 + (c - '0');
  }
  if (!field.empty() && !any_digit) reject(text, "position '" + field + "' is not a number");
  return any_digit ? value : -1;
}

Region parse_range(const std::string& text, std::string contig, const std::string& range) {
  if (contig.empty()) reject(text, "empty contig name");
  if (range.empty()) reject(text, "missing position after ':'");
  size_t dash = range.find('-');
  std::string begin_field = range.substr(0, dash);
  std::string end_field = dash == std::string::npos ? "" : range.substr(dash + 1);
  int64_t begin_1based = parse_position(text, begin_field);
  int64_t end_1based = parse_position(text, end_field);
  if (begin_field.empty() && end_field.empty()) reject(text, "missing position after ':'");
  if (begin_1based == 0) reject(text, "positions are 1-based; the first base is 1, not 0");
  if (end_1based == 0) reject(text, "end position 0 is before the first base (1)");
  Region region{std::move(contig), begin_1based < 0 ? 0 : begin_1based - 1, end_1based};
  if (end_1based >= 0 && end_1based < begin_1based)
    reject(text, "end " + std::to_string(end_1based) + " is before begin " + std::to_string(begin_1based));
  return region;
}

}  // namespace

std::string Region::to_string() const {
  // Quoted when parse_region would otherwise misread the name: a ':' or a leading '{'.
  bool quote = contig.find(':') != std::string::npos || (!contig.empty() && contig.front() == '{');
  std::string name = quote ? "{" + contig + "}" : contig;
  if (whole_contig()) return name;
  std::string text = name + ":" + std::to_string(begin + 1);
  if (end >= 0) text += "-" + std::to_string(end);
  return text;
}

Region parse_region(const std::string& text, const std::function<bool(const std::string&)>& is_contig) {
  if (text.empty()) reject(text, "empty region");
  if (text.front() == '{') {
    // The last '}': the position range after it never holds one, the name may (found by fuzzing).
    size_t close = text.rfind('}');
    if (close == std::string::npos) reject(text, "'{' without a closing '}'");
    std::string contig = text.substr(1, close - 1);
    if (close + 1 == text.size()) {
      if (contig.empty()) reject(text, "empty contig name");
      return Region{contig, 0, -1};
    }
    if (text[close + 1] != ':') reject(text, "expected ':' after '}'");
    return parse_range(text, contig, text.substr(close + 2));
  }
  if (is_contig && is_contig(text)) return Region{text, 0, -1};
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return Region{text, 0, -1};
  return parse_range(text, text.substr(0, colon), text.substr(colon + 1));
}

}  // namespace germ::io
