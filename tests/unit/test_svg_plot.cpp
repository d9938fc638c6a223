#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "stats/outlier_report.hpp"
#include "stats/svg_canvas.hpp"
#include "stats/svg_plot.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"

using namespace germ;
using namespace germ::stats;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kLastBin = ActivationHistogram::kBins - 1;

// Checks what an XML parser would reject in the SVG the plot writes: unbalanced or crossed
// tags, unquoted or repeated attributes, a raw '<' or stray '&' in text or attribute values,
// and content outside the root. Returns "" when well-formed, otherwise the first problem.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  bool root_closed = false;
  auto entity_ok = [&](size_t at) {
    static const std::regex entity("&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
    std::smatch match;
    std::string rest = xml.substr(at, 12);
    return std::regex_search(rest, match, entity, std::regex_constants::match_continuous);
  };
  for (size_t at = 0; at < xml.size();) {
    if (xml[at] != '<') {
      if (xml[at] == '&' && !entity_ok(at)) return "stray & at " + std::to_string(at);
      if (xml[at] == '>') return "raw > in text at " + std::to_string(at);
      bool blank = xml[at] == ' ' || xml[at] == '\n' || xml[at] == '\t' || xml[at] == '\r';
      if (!blank && (open.empty())) return "text outside the root at " + std::to_string(at);
      ++at;
      continue;
    }
    if (root_closed) return "markup after the root element at " + std::to_string(at);
    bool closing = at + 1 < xml.size() && xml[at + 1] == '/';
    size_t name_start = at + (closing ? 2 : 1);
    size_t name_end = xml.find_first_of(" \n\t/>", name_start);
    if (name_end == std::string::npos || name_end == name_start) return "bad tag at " + std::to_string(at);
    std::string name = xml.substr(name_start, name_end - name_start);
    size_t cursor = name_end;
    std::vector<std::string> attribute_names;
    while (true) {
      while (cursor < xml.size() && std::isspace(static_cast<unsigned char>(xml[cursor]))) ++cursor;
      if (cursor >= xml.size()) return "unterminated tag " + name;
      if (xml[cursor] == '>' || xml.compare(cursor, 2, "/>") == 0) break;
      if (closing) return "attributes on a closing tag " + name;
      size_t equals = xml.find('=', cursor);
      if (equals == std::string::npos || xml[equals + 1] != '"') return "unquoted attribute in " + name;
      std::string attribute = xml.substr(cursor, equals - cursor);
      for (const std::string& seen : attribute_names)
        if (seen == attribute) return "repeated attribute " + attribute + " in " + name;
      attribute_names.push_back(attribute);
      size_t value_end = xml.find('"', equals + 2);
      if (value_end == std::string::npos) return "unterminated attribute value in " + name;
      for (size_t v = equals + 2; v < value_end; ++v) {
        if (xml[v] == '<') return "raw < in attribute " + attribute;
        if (xml[v] == '&' && !entity_ok(v)) return "stray & in attribute " + attribute;
      }
      cursor = value_end + 1;
    }
    bool self_closing = xml[cursor] == '/';
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes nothing open";
      open.pop_back();
      root_closed = open.empty();
    } else if (self_closing) {
      root_closed = open.empty();
    } else {
      open.push_back(name);
    }
    at = cursor + (self_closing ? 2 : 1);
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return root_closed ? "" : "no root element";
}

bool mentions_nan_or_inf(const std::string& svg) {
  // "inf-norm" is a word of the picture; a printed infinity or NaN is not followed by '-'.
  static const std::regex printed("(^|[^a-z])[-+]?(nan|inf)([^a-z-]|$)", std::regex::icase);
  return std::regex_search(svg, printed);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// A report whose layers have the given kurtosis (FFN output; the layer output is 0.8x) and
// inf-norms, and a histogram with a bulk near 0.5 and a tail to ~100 when outliers are asked for.
OutlierReport make_report(const std::string& label, const std::string& normaliser,
                          const std::vector<double>& kurtosis, const std::vector<double>& inf_norm,
                          bool outliers) {
  OutlierReport report;
  report.label = label;
  report.normaliser = normaliser;
  report.sequences = 10;
  report.tokens = 1000;
  for (size_t layer = 0; layer < kurtosis.size(); ++layer) {
    LayerStats stats;
    stats.ffn_output = {kurtosis[layer], inf_norm[layer], 3 * inf_norm[layer], report.tokens};
    stats.layer_output = {0.8 * kurtosis[layer], 0.5 * inf_norm[layer], 2 * inf_norm[layer], report.tokens};
    report.layers.push_back(stats);
  }
  for (int value = 0; value < 5000; ++value) report.histogram.add(0.001 + value * 1e-4);
  if (outliers)
    for (double value : {20.0, 50.0, 120.0, 2e4}) report.histogram.add(value);
  report.histogram.add(0.0);
  return report;
}

OutlierReport softmax_report() {
  return make_report("softmax.safetensors", "softmax", {40, 120, 300, 80}, {8, 20, 60, 30}, true);
}
OutlierReport softmax1_report() {
  return make_report("softmax1.safetensors", "softmax1", {3.5, 4, 6, 5}, {2, 3, 5, 4}, false);
}

}  // namespace

TEST(SvgTestSupport, CheckersCatchWhatTheyLookFor) {
  EXPECT_EQ(xml_problem("<svg a=\"1\"><g/><text>x &amp; y</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g>"), "");
  EXPECT_NE(xml_problem("<svg a=\"1\" a=\"2\"/>"), "");
  EXPECT_NE(xml_problem("<svg a=1/>"), "");
  EXPECT_NE(xml_problem("<svg>x & y</svg>"), "");
  EXPECT_NE(xml_problem("<svg t=\"<\"/>"), "");
  EXPECT_NE(xml_problem("<svg/><svg/>"), "");
  EXPECT_TRUE(mentions_nan_or_inf("x=\"nan\""));
  EXPECT_TRUE(mentions_nan_or_inf("<text>-inf</text>"));
  EXPECT_FALSE(mentions_nan_or_inf("max inf-norm, infinite, banana"));
}

TEST(ActivationHistogram, OpenEndedFirstAndLastBins) {
  EXPECT_EQ(ActivationHistogram::bin_of(0.0), 0);
  EXPECT_EQ(ActivationHistogram::bin_of(9.99e-4), 0);
  EXPECT_EQ(ActivationHistogram::bin_of(kNaN), 0);
  EXPECT_EQ(ActivationHistogram::bin_of(1e-3), 1);
  EXPECT_EQ(ActivationHistogram::bin_of(1e4), kLastBin);
  EXPECT_EQ(ActivationHistogram::bin_of(1e9), kLastBin);
  EXPECT_EQ(ActivationHistogram::bin_of(kInf), kLastBin);
  EXPECT_EQ(ActivationHistogram::bin_of(9999.0), kLastBin - 1);
  EXPECT_EQ(ActivationHistogram::lower_edge(0), 0.0);
  EXPECT_EQ(ActivationHistogram::upper_edge(0), 1e-3);
  EXPECT_EQ(ActivationHistogram::lower_edge(kLastBin), 1e4);
  EXPECT_EQ(ActivationHistogram::upper_edge(kLastBin), kInf);
}

TEST(ActivationHistogram, HalfLandsInTheTenthOfADecadeBelowIt) {
  // 10^-0.4 = 0.398 <= 0.5 < 10^-0.3 = 0.501: bin 1 + (3 - 0.4) * 10 = 27.
  int bin = ActivationHistogram::bin_of(0.5);
  EXPECT_EQ(bin, 27);
  EXPECT_LE(ActivationHistogram::lower_edge(bin), 0.5);
  EXPECT_LT(0.5, ActivationHistogram::upper_edge(bin));
  EXPECT_NEAR(ActivationHistogram::lower_edge(bin), std::pow(10.0, -0.4), 1e-12);
}

TEST(ActivationHistogram, EveryEdgeBelongsToItsOwnBin) {
  for (int bin = 1; bin < ActivationHistogram::kBins; ++bin) {
    double edge = ActivationHistogram::lower_edge(bin);
    EXPECT_EQ(ActivationHistogram::bin_of(edge), bin) << "edge of bin " << bin;
    EXPECT_EQ(ActivationHistogram::bin_of(std::nextafter(edge, 0.0)), bin - 1) << "just below bin " << bin;
    EXPECT_EQ(ActivationHistogram::upper_edge(bin - 1), edge);
  }
  EXPECT_EQ(ActivationHistogram::lower_edge(11), 1e-2);  // decade edges are exact
  EXPECT_EQ(ActivationHistogram::lower_edge(31), 1.0);
}

TEST(ActivationHistogram, MergeAddsCountsAndTotalSumsThem) {
  ActivationHistogram first, second;
  first.add(0.0);
  first.add(0.5);
  second.add(0.5);
  second.add(1e6);
  first.merge(second);
  EXPECT_EQ(first.total(), 4u);
  EXPECT_EQ(first.counts[0], 1u);
  EXPECT_EQ(first.counts[ActivationHistogram::bin_of(0.5)], 2u);
  EXPECT_EQ(first.counts[kLastBin], 1u);
  EXPECT_EQ(second.total(), 2u);
  ActivationHistogram malformed;
  malformed.counts.resize(3);
  EXPECT_THROW(first.merge(malformed), Error);
}

TEST(OutlierReport, SummariesRunOverTheTwoTensorsOfEveryLayer) {
  OutlierReport report;
  LayerStats first, second;
  first.ffn_output = {4, 1, 7, 10};
  first.layer_output = {6, 3, 2, 10};
  second.ffn_output = {10, 5, 9, 10};
  second.layer_output = {20, 2, 30, 10};
  report.layers = {first, second};
  EXPECT_DOUBLE_EQ(report.average_kurtosis(), 10.0);  // (4 + 6 + 10 + 20) / 4
  EXPECT_DOUBLE_EQ(report.max_inf_norm(), 5.0);
  EXPECT_DOUBLE_EQ(report.global_max_abs(), 30.0);
  EXPECT_EQ(OutlierReport{}.average_kurtosis(), 0.0);
  EXPECT_EQ(OutlierReport{}.max_inf_norm(), 0.0);
}

TEST(OutlierReport, PercentChangeIsRelativeToBefore) {
  EXPECT_DOUBLE_EQ(percent_change(200, 50), -75.0);
  EXPECT_DOUBLE_EQ(percent_change(4, 5), 25.0);
  EXPECT_TRUE(std::isnan(percent_change(0, 5)));
}

TEST(SvgCanvas, EscapesMarkupAndReplacesWhatXmlCannotHold) {
  EXPECT_EQ(svg::escape_xml("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
  EXPECT_EQ(svg::escape_xml("caf\xC3\xA9"), "caf\xC3\xA9");               // UTF-8 kept
  EXPECT_EQ(svg::escape_xml("x\x01y"), "x\xEF\xBF\xBDy");                 // control character
  EXPECT_EQ(svg::escape_xml("x\xFFy"), "x\xEF\xBF\xBDy");                 // not UTF-8
  EXPECT_EQ(svg::escape_xml("x\xC3"), "x\xEF\xBF\xBD");                   // truncated sequence
  EXPECT_EQ(svg::shorten_middle("abcdefghij", 7), "abc\xE2\x80\xA6hij");
  EXPECT_EQ(svg::shorten_middle("short", 7), "short");
}

TEST(SvgCanvas, NumbersNeverPrintNanOrInf) {
  EXPECT_EQ(svg::format_value(kNaN), "n/a");
  EXPECT_EQ(svg::format_value(kInf), "n/a");
  EXPECT_EQ(svg::format_value(135.2), "135");
  EXPECT_EQ(svg::format_value(3.5), "3.50");
  EXPECT_EQ(svg::format_percent(-85.23), "-85.2 %");
  EXPECT_EQ(svg::format_percent(kNaN), "n/a");
  EXPECT_EQ(svg::power_of_ten_label(-3), "0.001");
  EXPECT_EQ(svg::power_of_ten_label(3), "1000");
  EXPECT_EQ(svg::power_of_ten_label(4), "10\u2074");
  EXPECT_EQ(svg::power_of_ten_label(-12), "10\u207B\u00B9\u00B2");
}

TEST(SvgCanvas, WideRangesGetALogAxisWithDecadeTicks) {
  auto axis_for = [](std::initializer_list<double> values) {
    svg::Extent extent;
    for (double value : values) extent.add(value);
    return svg::axis_covering(extent);
  };
  svg::Axis wide = axis_for({3.0, 40.0, 300.0, kNaN});
  EXPECT_TRUE(wide.logarithmic);
  EXPECT_EQ(wide.low, 1.0);
  EXPECT_EQ(wide.high, 1000.0);
  std::vector<std::string> labels;
  for (const svg::Tick& tick : wide.ticks(6))
    if (!tick.label.empty()) labels.push_back(tick.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"1", "10", "100", "1000"}));

  svg::Axis narrow = axis_for({3.0, 4.5, 6.0});
  EXPECT_FALSE(narrow.logarithmic);
  EXPECT_EQ(narrow.low, 0.0);
  EXPECT_GT(narrow.high, 6.0);  // headroom keeps the top point off the frame
}

TEST(OutlierSvg, TwoModelsMakeAWellFormedSelfContainedPicture) {
  std::string svg = render_outlier_svg({softmax1_report(), softmax_report()});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\"0 0 960 "), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);  // nothing external
  EXPECT_FALSE(mentions_nan_or_inf(svg));
  EXPECT_NE(svg.find(">softmax1 ("), std::string::npos);
  EXPECT_NE(svg.find(">softmax ("), std::string::npos);
  EXPECT_NE(svg.find("Gaussian"), std::string::npos);
  EXPECT_EQ(count_of(svg, "class=\"gaussian-reference\""), 1u);
}

TEST(OutlierSvg, OnePointPerLayerTensorAndModel) {
  std::string two = render_outlier_svg({softmax1_report(), softmax_report()});
  EXPECT_EQ(count_of(two, "class=\"kurtosis-point\""), 4u * 2 * 2);
  EXPECT_EQ(count_of(two, "class=\"inf-norm-point\""), 4u * 2 * 2);
  EXPECT_EQ(count_of(two, "class=\"kurtosis-line\""), 2u * 2);
  EXPECT_EQ(count_of(two, "class=\"histogram-series\""), 2u);
  EXPECT_EQ(count_of(two, "class=\"model-summary\""), 2u);

  std::string one = render_outlier_svg({softmax_report()});
  EXPECT_EQ(xml_problem(one), "");
  EXPECT_EQ(count_of(one, "class=\"kurtosis-point\""), 4u * 2);
  EXPECT_EQ(count_of(one, "class=\"inf-norm-point\""), 4u * 2);
  EXPECT_EQ(count_of(one, "class=\"histogram-series\""), 1u);
  EXPECT_EQ(count_of(one, "class=\"percent-change\""), 0u);
}

TEST(OutlierSvg, ComparisonIsOfTheFirstModelAgainstTheBaseline) {
  OutlierReport studied = softmax1_report();
  OutlierReport baseline = softmax_report();
  std::string svg = render_outlier_svg({studied, baseline});
  ASSERT_EQ(count_of(svg, "class=\"percent-change\""), 1u);
  std::string kurtosis =
      svg::format_percent(percent_change(baseline.average_kurtosis(), studied.average_kurtosis()));
  std::string inf_norm = svg::format_percent(percent_change(baseline.max_inf_norm(), studied.max_inf_norm()));
  EXPECT_EQ(inf_norm, "-91.7 %");  // 5 against 60
  // The ".safetensors" both labels end in is dropped, leaving room for what tells them apart.
  EXPECT_NE(svg.find("softmax1 vs softmax (baseline): kurtosis " + kurtosis +
                     ", max inf-norm " + inf_norm),
            std::string::npos);
}

TEST(OutlierSvg, LabelsAreEscaped) {
  OutlierReport odd = softmax_report();
  odd.label = "R&D <best>.safetensors";
  std::string svg = render_outlier_svg({odd});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find("R&amp;D &lt;best&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<best>"), std::string::npos);
}

TEST(OutlierSvg, EdgeCasesStayFinite) {
  OutlierReport one_layer = make_report("one.safetensors", "softmax1", {0}, {0}, false);
  one_layer.histogram = ActivationHistogram{};  // nothing recorded
  OutlierReport extreme = make_report("extreme.safetensors", "softmax", {1e300}, {1e-300}, true);
  extreme.layers[0].layer_output = {kNaN, kInf, kInf, 1};
  for (const auto& reports : std::vector<std::vector<OutlierReport>>{
           {one_layer}, {one_layer, extreme}, {extreme, one_layer}, {OutlierReport{}}}) {
    std::string svg = render_outlier_svg(reports);
    EXPECT_EQ(xml_problem(svg), "");
    EXPECT_FALSE(mentions_nan_or_inf(svg));
  }
}

TEST(OutlierSvg, NanValuesDrawNothing) {
  OutlierReport report = softmax_report();
  report.layers[2].ffn_output.mean_kurtosis = kNaN;
  std::string svg = render_outlier_svg({report});
  EXPECT_EQ(count_of(svg, "class=\"kurtosis-point\""), 4u * 2 - 1);
  // The FFN series breaks into layers 1-2 and layer 4, a lone point with no line.
  EXPECT_EQ(count_of(svg, "class=\"kurtosis-line\""), 2u);
  EXPECT_FALSE(mentions_nan_or_inf(svg));
}

TEST(OutlierSvg, DrawsOneOrTwoModels) {
  EXPECT_THROW(render_outlier_svg({}), Error);
  EXPECT_THROW(render_outlier_svg({softmax_report(), softmax_report(), softmax_report()}), Error);
}

class OutlierSvgFile : public test_support::TempDirTest {};

TEST_F(OutlierSvgFile, WritesThePictureWhole) {
  std::vector<OutlierReport> reports{softmax1_report(), softmax_report()};
  write_outlier_svg(path("out.svg"), reports);
  EXPECT_EQ(util::read_whole_file(path("out.svg")), render_outlier_svg(reports));
  EXPECT_EQ(files_in_dir(), 1u);
  EXPECT_THROW(write_outlier_svg(path("out.svg"), {}), Error);
  EXPECT_EQ(files_in_dir(), 1u);
}
