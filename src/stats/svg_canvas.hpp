#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The drawing vocabulary of the stats plot: XML-safe elements, number formatting that never
// prints nan or inf, and axes with round ticks. Hand-written SVG 1.1 with presentation
// attributes only (no CSS), because some converters ignore style sheets.
namespace germ::stats::svg {

// Escapes & < > " ' and replaces what XML 1.0 cannot hold at all (control characters, bytes
// that are not UTF-8) so that any file name can be a label.
std::string escape_xml(std::string_view text);

// Keeps the start and end of a long label (file names differ at both ends), joined by an
// ellipsis; counts UTF-8 code points, never splits one.
std::string shorten_middle(std::string_view text, size_t most_code_points);

// Width of text in the plot's sans-serif font, estimated on the generous side to keep labels apart.
double estimated_text_width(std::string_view text, double font_size);

// Three significant figures or so ("135", "60.2", "3.52", "1.2e+06"); "n/a" when not finite.
std::string format_value(double value);
// "-85.2 %" / "+4.0 %"; "n/a" when not finite (a baseline of 0).
std::string format_percent(double percent);

// One element; attribute values and text content are escaped here, so callers never do.
class Element {
 public:
  explicit Element(std::string_view name) : name_(name) {}
  Element& set(std::string_view key, std::string_view value);
  Element& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  Element& set(std::string_view key, double coordinate);
  Element& points(const std::vector<std::pair<double, double>>& xy);
  std::string empty() const;                             // <name .../>
  std::string around(std::string_view inner_xml) const;  // <name ...>inner</name>
  std::string with_text(std::string_view text) const;    // inner text escaped

 private:
  std::string name_;
  std::string attributes_;
};

struct Tick {
  double value;
  std::string label;  // empty: a minor tick, drawn shorter and without a grid line
};

// Maps data values onto a pixel span; a logarithmic axis is linear in log10(value).
struct Axis {
  double low = 0;
  double high = 1;
  bool logarithmic = false;
  double pixel_at_low = 0;
  double pixel_at_high = 1;

  // False for NaN, infinities, values too large to scale, and values <= 0 on a log axis.
  bool shows(double value) const;
  // Clamped into the span, so an out-of-range value can never leave its panel.
  double pixel(double value) const;
  // Powers of ten (plus 2..9 x 10^k minor ticks where a decade is wide) or round linear steps.
  std::vector<Tick> ticks(int most_labels) const;
};

// Smallest, smallest positive and largest finite value seen.
struct Extent {
  double min = 0;
  double min_positive = 0;
  double max = 0;
  bool any = false;
  bool any_positive = false;
  void add(double value);
};

// A linear axis from min(0, lowest) to a round number at or above the highest value.
Axis linear_axis_covering(const Extent& extent);
// A log axis from the decade at or below the smallest positive value to the one at or above
// the largest.
Axis log_axis_covering(const Extent& extent);
// Log when the positive values span more than a factor of ten: kurtosis runs from 3 (Gaussian)
// to hundreds in softmax models, and a linear axis would flatten every well-behaved layer.
Axis axis_covering(const Extent& extent);

// Tick labels for powers of ten: plain from 0.001 to 1000, "10⁴" style beyond.
std::string power_of_ten_label(int exponent);

// The plot area of one panel, in pixels.
struct Frame {
  double left;
  double top;
  double width;
  double height;
  double right() const { return left + width; }
  double bottom() const { return top + height; }
};

struct AxisTitles {
  std::string panel;
  std::string x;
  std::string y;
};

// Grid, tick marks, tick labels, axis titles and the frame; the data goes on top.
std::string draw_axes(const Frame& frame, const std::vector<Tick>& x_ticks, const Axis& x_axis,
                      const std::vector<Tick>& y_ticks, const Axis& y_axis, const AxisTitles& titles);

std::string svg_document(double width, double height, std::string_view title, std::string_view body);

}  // namespace germ::stats::svg
