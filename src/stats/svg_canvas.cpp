#include "stats/svg_canvas.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace germ::stats::svg {

namespace {

constexpr const char* kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD
// Beyond this a value is "too large to draw": scaling it would overflow to inf.
constexpr double kLargestDrawable = 1e300;
// Pixels are bounded by the page; clamping is the last guard against a stray huge coordinate.
constexpr double kLargestCoordinate = 1e6;
constexpr const char* kTickColour = "#444444";
constexpr const char* kGridColour = "#e6e6e6";

// Length of the well-formed UTF-8 sequence at text[at] that XML may contain, or 0.
size_t xml_utf8_length(std::string_view text, size_t at) {
  auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    auto continuation = static_cast<unsigned char>(text[at + k]);
    if ((continuation & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (continuation & 0x3F);
  }
  static constexpr uint32_t kShortestFor[] = {0, 0, 0x80, 0x800, 0x10000};
  bool overlong = code_point < kShortestFor[length];
  bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  bool not_a_character = code_point == 0xFFFE || code_point == 0xFFFF || code_point > 0x10FFFF;
  return overlong || surrogate || not_a_character ? 0 : length;
}

// Splits into code points; a byte that starts no valid sequence is a code point of its own.
std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> pieces;
  for (size_t at = 0; at < text.size();) {
    size_t length = std::max<size_t>(1, xml_utf8_length(text, at));
    pieces.push_back(text.substr(at, length));
    at += length;
  }
  return pieces;
}

std::string printf_string(const char* format, double value, int precision = -1) {
  char buffer[64];
  if (precision >= 0)
    std::snprintf(buffer, sizeof buffer, format, precision, value);
  else
    std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string format_coordinate(double value) {
  if (!std::isfinite(value)) value = 0;
  value = std::clamp(value, -kLargestCoordinate, kLargestCoordinate);
  std::string text = printf_string("%.2f", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

double nice_step(double raw_step) {
  double decade = std::pow(10.0, std::floor(std::log10(raw_step)));
  double fraction = raw_step / decade;
  double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * decade;
}

std::string linear_tick_label(double value, double step) {
  if (std::fabs(value) >= 1e6 || step < 1e-3) return printf_string("%.3g", value);
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return printf_string("%.*f", value, decimals);
}

std::vector<Tick> log_ticks(const Axis& axis, int most_labels) {
  int first = static_cast<int>(std::ceil(std::log10(axis.low) - 1e-9));
  int last = static_cast<int>(std::floor(std::log10(axis.high) + 1e-9));
  int decades = last - first + 1;
  double raw_stride = static_cast<double>(decades) / std::max(1, most_labels);
  int stride = raw_stride <= 1 ? 1 : static_cast<int>(nice_step(raw_stride));
  std::vector<Tick> ticks;
  for (int exponent = first; exponent <= last; ++exponent)
    if (exponent % stride == 0) ticks.push_back({std::pow(10.0, exponent), power_of_ten_label(exponent)});
  double pixels_per_decade = std::fabs(axis.pixel_at_high - axis.pixel_at_low) /
                             std::max(1e-9, std::log10(axis.high / axis.low));
  if (stride == 1 && pixels_per_decade >= 60) {
    for (int exponent = first - 1; exponent <= last; ++exponent)
      for (int multiple = 2; multiple <= 9; ++multiple) {
        double value = multiple * std::pow(10.0, exponent);
        if (value > axis.low && value < axis.high) ticks.push_back({value, ""});
      }
  }
  return ticks;
}

std::vector<Tick> linear_ticks(const Axis& axis, int most_labels) {
  double step = nice_step((axis.high - axis.low) / std::max(1, most_labels));
  if (!(step > 0) || !std::isfinite(step)) return {};
  auto first = static_cast<long long>(std::ceil(axis.low / step - 1e-9));
  auto last = static_cast<long long>(std::floor(axis.high / step + 1e-9));
  std::vector<Tick> ticks;
  for (long long index = first; index <= last && ticks.size() < 50; ++index) {
    double value = static_cast<double>(index) * step;
    ticks.push_back({value, linear_tick_label(value, step)});
  }
  return ticks;
}

}  // namespace

std::string escape_xml(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    size_t length = xml_utf8_length(text, at);
    char c = text[at];
    if (length == 0) {
      escaped += kReplacementCharacter;
      ++at;
      continue;
    }
    if (length == 1) {
      switch (c) {
        case '&': escaped += "&amp;"; break;
        case '<': escaped += "&lt;"; break;
        case '>': escaped += "&gt;"; break;
        case '"': escaped += "&quot;"; break;
        case '\'': escaped += "&apos;"; break;
        default:
          bool allowed_control = c == '\t' || c == '\n' || c == '\r';
          if (static_cast<unsigned char>(c) < 0x20 && !allowed_control)
            escaped += kReplacementCharacter;
          else
            escaped += c;
      }
    } else {
      escaped.append(text.substr(at, length));
    }
    at += length;
  }
  return escaped;
}

std::string shorten_middle(std::string_view text, size_t most_code_points) {
  std::vector<std::string_view> pieces = code_points(text);
  if (pieces.size() <= most_code_points || most_code_points < 3) return std::string(text);
  size_t kept = most_code_points - 1;  // one place goes to the ellipsis
  size_t head = (kept + 1) / 2;
  size_t tail = kept - head;
  std::string shortened;
  for (size_t i = 0; i < head; ++i) shortened.append(pieces[i]);
  shortened += "\xE2\x80\xA6";  // U+2026 horizontal ellipsis
  for (size_t i = pieces.size() - tail; i < pieces.size(); ++i) shortened.append(pieces[i]);
  return shortened;
}

double estimated_text_width(std::string_view text, double font_size) {
  // Advance widths of DejaVu Sans (the widest usual sans-serif fallback) in em, by character
  // class, rounded up; a label laid out with these never runs into its neighbour.
  double ems = 0;
  for (std::string_view piece : code_points(text)) {
    char c = piece.size() == 1 ? piece[0] : '\0';
    if (std::string_view(" .,:;'|!iljI").find(c) != std::string_view::npos)
      ems += 0.34;
    else if (std::string_view("ftr()[]-/").find(c) != std::string_view::npos)
      ems += 0.42;
    else if (c == 'm' || c == 'w' || c == 'M' || c == 'W')
      ems += 0.98;
    else if ((c >= 'A' && c <= 'Z') || c == '%')
      ems += 0.78;
    else
      ems += 0.64;  // digits, the other lower-case letters, and anything beyond ASCII
  }
  return ems * font_size;
}

std::string format_value(double value) {
  if (!std::isfinite(value)) return "n/a";
  double magnitude = std::fabs(value);
  if (magnitude != 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return printf_string("%.2e", value);
  if (magnitude >= 100) return printf_string("%.0f", value);
  if (magnitude >= 10) return printf_string("%.1f", value);
  return printf_string("%.2f", value);
}

std::string format_percent(double percent) {
  if (!std::isfinite(percent)) return "n/a";
  return printf_string("%+.1f %%", percent);
}

Element& Element::set(std::string_view key, std::string_view value) {
  attributes_ += ' ';
  attributes_.append(key);
  attributes_ += "=\"";
  attributes_ += escape_xml(value);
  attributes_ += '"';
  return *this;
}

Element& Element::set(std::string_view key, double coordinate) {
  return set(key, std::string_view(format_coordinate(coordinate)));
}

Element& Element::points(const std::vector<std::pair<double, double>>& xy) {
  std::string list;
  for (const auto& [x, y] : xy) {
    if (!list.empty()) list += ' ';
    list += format_coordinate(x) + "," + format_coordinate(y);
  }
  return set("points", std::string_view(list));
}

std::string Element::empty() const { return "<" + name_ + attributes_ + "/>\n"; }

std::string Element::around(std::string_view inner_xml) const {
  return "<" + name_ + attributes_ + ">" + std::string(inner_xml) + "</" + name_ + ">\n";
}

std::string Element::with_text(std::string_view text) const {
  return "<" + name_ + attributes_ + ">" + escape_xml(text) + "</" + name_ + ">\n";
}

bool Axis::shows(double value) const {
  if (!std::isfinite(value) || std::fabs(value) > kLargestDrawable) return false;
  return !logarithmic || value > 0;
}

double Axis::pixel(double value) const {
  double fraction = logarithmic ? std::log10(value / low) / std::log10(high / low)
                                : (value - low) / (high - low);
  if (!std::isfinite(fraction)) fraction = 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  return pixel_at_low + fraction * (pixel_at_high - pixel_at_low);
}

std::vector<Tick> Axis::ticks(int most_labels) const {
  return logarithmic ? log_ticks(*this, most_labels) : linear_ticks(*this, most_labels);
}

void Extent::add(double value) {
  if (!std::isfinite(value) || std::fabs(value) > kLargestDrawable) return;
  min = any ? std::min(min, value) : value;
  max = any ? std::max(max, value) : value;
  any = true;
  if (value > 0) {
    min_positive = any_positive ? std::min(min_positive, value) : value;
    any_positive = true;
  }
}

Axis linear_axis_covering(const Extent& extent) {
  Axis axis;
  if (!extent.any) return axis;
  double low = std::min(0.0, extent.min);
  double high = std::max(0.0, extent.max);
  if (high == low) high = low + 1;
  // A little headroom keeps the largest point off the frame.
  double step = nice_step((high - low) / 5);
  axis.low = std::floor(low * 1.05 / step) * step;
  axis.high = std::ceil(high * 1.05 / step) * step;
  return axis;
}

Axis log_axis_covering(const Extent& extent) {
  Axis axis;
  axis.logarithmic = true;
  axis.low = 1;
  axis.high = 10;
  if (!extent.any_positive) return axis;
  double low_exponent = std::floor(std::log10(extent.min_positive));
  double high_exponent = std::max(std::ceil(std::log10(extent.max)), low_exponent + 1);
  axis.low = std::pow(10.0, low_exponent);
  axis.high = std::pow(10.0, high_exponent);
  return axis;
}

Axis axis_covering(const Extent& extent) {
  bool wide = extent.any_positive && extent.max > 10 * extent.min_positive;
  return wide ? log_axis_covering(extent) : linear_axis_covering(extent);
}

std::string power_of_ten_label(int exponent) {
  static const char* const kPlain[] = {"0.001", "0.01", "0.1", "1", "10", "100", "1000"};
  if (exponent >= -3 && exponent <= 3) return kPlain[exponent + 3];
  static const char* const kSuperscriptDigits[] = {"\u2070", "\u00B9", "\u00B2", "\u00B3", "\u2074",
                                                   "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
  std::string label = "10";
  if (exponent < 0) label += "\u207B";
  for (char digit : std::to_string(std::abs(exponent))) label += kSuperscriptDigits[digit - '0'];
  return label;
}

std::string draw_axes(const Frame& frame, const std::vector<Tick>& x_ticks, const Axis& x_axis,
                      const std::vector<Tick>& y_ticks, const Axis& y_axis, const AxisTitles& titles) {
  std::string grid, marks, labels;
  for (const Tick& tick : x_ticks) {
    double x = x_axis.pixel(tick.value);
    bool major = !tick.label.empty();
    if (major)
      grid += Element("line").set("x1", x).set("y1", frame.top).set("x2", x).set("y2", frame.bottom())
                  .empty();
    marks += Element("line").set("x1", x).set("y1", frame.bottom()).set("x2", x)
                 .set("y2", frame.bottom() + (major ? 5 : 3)).empty();
    if (major)
      labels += Element("text").set("x", x).set("y", frame.bottom() + 17).set("text-anchor", "middle")
                    .with_text(tick.label);
  }
  for (const Tick& tick : y_ticks) {
    double y = y_axis.pixel(tick.value);
    bool major = !tick.label.empty();
    if (major)
      grid += Element("line").set("x1", frame.left).set("y1", y).set("x2", frame.right()).set("y2", y)
                  .empty();
    marks += Element("line").set("x1", frame.left - (major ? 5 : 3)).set("y1", y).set("x2", frame.left)
                 .set("y2", y).empty();
    if (major)
      labels += Element("text").set("x", frame.left - 8).set("y", y + 4).set("text-anchor", "end")
                    .with_text(tick.label);
  }
  std::string out;
  out += Element("g").set("stroke", kGridColour).set("stroke-width", 1.0).around(grid);
  out += Element("rect").set("x", frame.left).set("y", frame.top).set("width", frame.width)
             .set("height", frame.height).set("fill", "none").set("stroke", "#888888").empty();
  out += Element("g").set("stroke", kTickColour).set("stroke-width", 1.0).around(marks);
  out += Element("g").set("font-size", 11.0).set("fill", kTickColour).around(labels);
  out += Element("text").set("x", frame.left).set("y", frame.top - 10).set("font-size", 13.0)
             .set("font-weight", "bold").set("fill", "#222222").with_text(titles.panel);
  out += Element("text").set("x", frame.left + frame.width / 2).set("y", frame.bottom() + 36)
             .set("font-size", 12.0).set("text-anchor", "middle").set("fill", "#222222").with_text(titles.x);
  double y_title_x = frame.left - 48;
  double y_title_y = frame.top + frame.height / 2;
  out += Element("text").set("x", y_title_x).set("y", y_title_y).set("font-size", 12.0)
             .set("text-anchor", "middle").set("fill", "#222222")
             .set("transform", "rotate(-90 " + format_coordinate(y_title_x) + " " +
                                   format_coordinate(y_title_y) + ")")
             .with_text(titles.y);
  return out;
}

std::string svg_document(double width, double height, std::string_view title, std::string_view body) {
  Element root("svg");
  root.set("xmlns", "http://www.w3.org/2000/svg").set("version", "1.1").set("width", width)
      .set("height", height)
      .set("viewBox", "0 0 " + format_coordinate(width) + " " + format_coordinate(height))
      .set("font-family", "DejaVu Sans, Helvetica, Arial, sans-serif");
  std::string inner = "\n" + Element("title").with_text(title);
  inner += Element("rect").set("x", 0.0).set("y", 0.0).set("width", width).set("height", height)
               .set("fill", "#ffffff").empty();
  inner.append(body);
  return root.around(inner);
}

}  // namespace germ::stats::svg
