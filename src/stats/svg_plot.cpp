#include "stats/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "stats/svg_canvas.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"

namespace germ::stats {

namespace {

using svg::Axis;
using svg::Element;
using svg::Frame;
using svg::Tick;

constexpr double kPageWidth = 960;
constexpr double kPageMargin = 20;
constexpr double kPlotLeft = 75;   // room for y tick labels and the rotated y title
constexpr double kPlotRight = 935;
constexpr double kPanelGap = 85;   // between the two per-layer panels
constexpr double kLayerPanelHeight = 220;
constexpr double kHistogramHeight = 240;
constexpr double kBelowPlot = 50;  // tick labels and the x title
constexpr double kAbovePlot = 30;  // the panel title
constexpr size_t kLongestLabel = 44;
constexpr double kBoldWidening = 1.1;  // bold glyphs are about this much wider
// Okabe-Ito blue and vermillion: distinct for the common colour-vision deficiencies.
constexpr const char* kModelColours[] = {"#0072B2", "#D55E00"};
constexpr const char* kTextColour = "#222222";
constexpr const char* kReferenceColour = "#555555";
constexpr double kGaussianKurtosis = 3;

// The histogram draws the open-ended first and last bins in slots of their own, half a decade
// outside the finite range, so they cannot be mistaken for its neighbours.
constexpr double kUnderflowSlotCentre = ActivationHistogram::kMinExponent - 0.5;
constexpr double kOverflowSlotCentre = ActivationHistogram::kMaxExponent + 0.5;
constexpr double kEdgeSlotHalfWidth = 0.1;  // decades
constexpr double kHistogramMargin = 0.2;    // decades beyond the slots

enum class Tensor { ffn_output, layer_output };

struct LayerSeries {
  size_t model;
  Tensor tensor;
  std::vector<double> values;  // one per layer
};

const char* tensor_name(Tensor tensor) {
  return tensor == Tensor::ffn_output ? "FFN output" : "layer output";
}

// The ".safetensors" every model file ends in is dropped: room on a line goes to what differs.
std::string display_label(const OutlierReport& report, size_t most_code_points) {
  std::string label = report.label.empty() ? "(unnamed model)" : report.label;
  const std::string suffix = ".safetensors";
  if (label.size() > suffix.size() && label.compare(label.size() - suffix.size(), suffix.size(), suffix) == 0)
    label.resize(label.size() - suffix.size());
  return svg::shorten_middle(label, most_code_points);
}

std::string group_digits(int64_t number) {
  std::string digits = std::to_string(number < 0 ? -number : number);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return number < 0 ? "-" + digits : digits;
}

std::vector<LayerSeries> layer_series(const std::vector<OutlierReport>& reports,
                                      double TensorStats::*quantity) {
  std::vector<LayerSeries> series;
  for (size_t model = 0; model < reports.size(); ++model)
    for (Tensor tensor : {Tensor::ffn_output, Tensor::layer_output}) {
      LayerSeries one{model, tensor, {}};
      for (const LayerStats& layer : reports[model].layers) {
        const TensorStats& stats = tensor == Tensor::ffn_output ? layer.ffn_output : layer.layer_output;
        one.values.push_back(stats.*quantity);
      }
      series.push_back(std::move(one));
    }
  return series;
}

// Labels thin out to layer 1 and round multiples so that they never collide; the layers in
// between get unlabelled ticks while those are still far enough apart to count.
std::vector<Tick> layer_ticks(int layers) {
  int step = 1;
  for (int candidate : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {
    step = candidate;
    if (layers / candidate <= 10) break;
  }
  std::vector<Tick> ticks;
  for (int layer = 1; layer <= layers; ++layer) {
    bool labelled = layer == 1 || layer % step == 0;
    if (labelled || layers <= 64)
      ticks.push_back({static_cast<double>(layer), labelled ? std::to_string(layer) : ""});
  }
  return ticks;
}

std::string marker(Tensor tensor, double x, double y, const char* colour, const std::string& css_class,
                   const std::string& tooltip) {
  std::string title = Element("title").with_text(tooltip);
  if (tensor == Tensor::ffn_output)
    return Element("circle").set("class", css_class).set("cx", x).set("cy", y).set("r", 3.8)
        .set("fill", colour).set("stroke", "#ffffff").set("stroke-width", 0.8).around(title);
  return Element("rect").set("class", css_class).set("x", x - 3.5).set("y", y - 3.5).set("width", 7.0)
      .set("height", 7.0).set("fill", "#ffffff").set("stroke", colour).set("stroke-width", 1.6)
      .around(title);
}

const char* dash_pattern(Tensor tensor) { return tensor == Tensor::ffn_output ? "none" : "6 3"; }

// The line at kurtosis 3 is labelled in whichever corner of the panel hides the fewest points.
std::string label_gaussian_reference(const Frame& frame, double y,
                                    const std::vector<std::pair<double, double>>& point_positions) {
  const std::string label = "Gaussian (3)";
  double width = svg::estimated_text_width(label, 10.5) + 6;
  double height = 14;
  double best_left = 0, best_top = 0;
  size_t fewest_hidden = SIZE_MAX;
  for (double left : {frame.right() - width - 4, frame.left + 4})
    for (double top : {y - height - 2, y + 2}) {
      if (top < frame.top || top + height > frame.bottom()) continue;
      size_t hidden = std::count_if(point_positions.begin(), point_positions.end(), [&](const auto& point) {
        return point.first > left - 5 && point.first < left + width + 5 && point.second > top - 5 &&
               point.second < top + height + 5;
      });
      if (hidden < fewest_hidden) {
        fewest_hidden = hidden;
        best_left = left;
        best_top = top;
      }
    }
  if (fewest_hidden == SIZE_MAX) return "";  // no room beside the line
  std::string out = Element("rect").set("x", best_left).set("y", best_top).set("width", width)
                        .set("height", height).set("fill", "#ffffff").set("fill-opacity", 0.8).empty();
  out += Element("text").set("x", best_left + 3).set("y", best_top + 10.5).set("font-size", 10.5)
             .set("fill", kReferenceColour).with_text(label);
  return out;
}

struct LayerPanel {
  std::string css_prefix;  // "kurtosis" -> class="kurtosis-point", "kurtosis-line"
  svg::AxisTitles titles;
  bool gaussian_reference = false;
};

// Lines with markers; a value the axis cannot show (NaN, or <= 0 on a log axis) leaves a gap
// rather than a misleading point. Marker positions are added to `point_positions`.
std::string draw_layer_series(const LayerSeries& series, double offset, const Axis& x_axis,
                              const Axis& y_axis, const std::string& css_prefix,
                              const std::string& model_label,
                              std::vector<std::pair<double, double>>& point_positions) {
  const char* colour = kModelColours[series.model];
  std::vector<std::vector<std::pair<double, double>>> runs(1);
  std::string markers;
  for (size_t layer = 0; layer < series.values.size(); ++layer) {
    double value = series.values[layer];
    if (!y_axis.shows(value)) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    double x = x_axis.pixel(static_cast<double>(layer + 1) + offset);
    double y = y_axis.pixel(value);
    runs.back().emplace_back(x, y);
    point_positions.emplace_back(x, y);
    std::string tooltip = model_label + " \u00B7 layer " + std::to_string(layer + 1) + " \u00B7 " +
                          tensor_name(series.tensor) + ": " + svg::format_value(value);
    markers += marker(series.tensor, x, y, colour, css_prefix + "-point", tooltip);
  }
  std::string lines;
  for (const auto& run : runs)
    if (run.size() > 1)
      lines += Element("polyline").set("class", css_prefix + "-line").points(run).set("fill", "none")
                   .set("stroke", colour).set("stroke-width", 1.8)
                   .set("stroke-dasharray", dash_pattern(series.tensor)).set("stroke-linejoin", "round")
                   .empty();
  return lines + markers;
}

std::string draw_layer_panel(const Frame& frame, const LayerPanel& panel,
                             const std::vector<LayerSeries>& series,
                             const std::vector<OutlierReport>& reports) {
  int layers = 0;
  svg::Extent extent;
  for (const LayerSeries& one : series) {
    layers = std::max(layers, static_cast<int>(one.values.size()));
    for (double value : one.values) extent.add(value);
  }
  if (panel.gaussian_reference) extent.add(kGaussianKurtosis);
  Axis y_axis = svg::axis_covering(extent);
  y_axis.pixel_at_low = frame.bottom();
  y_axis.pixel_at_high = frame.top;
  Axis x_axis{0.5, std::max(1, layers) + 0.5, false, frame.left, frame.right()};

  svg::AxisTitles titles = panel.titles;
  if (y_axis.logarithmic) titles.y += " (log scale)";
  std::string out = svg::draw_axes(frame, layer_ticks(layers), x_axis, y_axis.ticks(6), y_axis, titles);
  double gaussian_y = y_axis.pixel(kGaussianKurtosis);
  if (panel.gaussian_reference)
    out += Element("line").set("class", "gaussian-reference").set("x1", frame.left).set("y1", gaussian_y)
               .set("x2", frame.right()).set("y2", gaussian_y).set("stroke", kReferenceColour)
               .set("stroke-width", 1.2).set("stroke-dasharray", "4 4").empty();

  // Series sit side by side within a layer's slot so that equal values stay distinguishable.
  double spread = std::min(0.1, 0.5 / std::max<size_t>(1, series.size()));
  std::vector<std::pair<double, double>> point_positions;
  for (size_t index = 0; index < series.size(); ++index) {
    double offset = (static_cast<double>(index) - (static_cast<double>(series.size()) - 1) / 2) * spread;
    out += draw_layer_series(series[index], offset, x_axis, y_axis, panel.css_prefix,
                             reports[series[index].model].label, point_positions);
  }
  if (panel.gaussian_reference) out += label_gaussian_reference(frame, gaussian_y, point_positions);
  return out;
}

std::string draw_histogram_legend(const Frame& frame, const std::vector<OutlierReport>& reports) {
  double widest = 0;
  for (const OutlierReport& report : reports)
    widest = std::max(widest, svg::estimated_text_width(display_label(report, kLongestLabel), 11));
  double box_width = widest + 34;
  double box_height = 8 + 17 * static_cast<double>(reports.size());
  double left = frame.right() - box_width - 8;
  double top = frame.top + 8;
  std::string out = Element("rect").set("x", left).set("y", top).set("width", box_width)
                        .set("height", box_height).set("fill", "#ffffff").set("fill-opacity", 0.85)
                        .set("stroke", "#cccccc").empty();
  for (size_t model = 0; model < reports.size(); ++model) {
    double row = top + 6 + 17 * static_cast<double>(model);
    out += Element("rect").set("x", left + 8).set("y", row + 1).set("width", 12.0).set("height", 12.0)
               .set("fill", kModelColours[model]).set("fill-opacity", 0.3).set("stroke", kModelColours[model])
               .set("stroke-width", 1.5).empty();
    out += Element("text").set("x", left + 26).set("y", row + 11).set("font-size", 11.0)
               .set("fill", kTextColour).with_text(display_label(reports[model], kLongestLabel));
  }
  return out;
}

constexpr int kLastBin = ActivationHistogram::kBins - 1;

// The open-ended bins' slots are shared side by side when two models are drawn.
std::pair<double, double> edge_slot_decades(int bin, size_t model, size_t models) {
  double centre = bin == 0 ? kUnderflowSlotCentre : kOverflowSlotCentre;
  double width = 2 * kEdgeSlotHalfWidth / static_cast<double>(models);
  double left = centre - kEdgeSlotHalfWidth + width * static_cast<double>(model);
  return {left, left + width};
}

std::vector<Tick> magnitude_ticks(const Axis& x_axis) {
  double finite_low = ActivationHistogram::lower_edge(1);
  double finite_high = ActivationHistogram::lower_edge(kLastBin);
  std::vector<Tick> ticks{{std::pow(10.0, kUnderflowSlotCentre),
                           "<" + svg::power_of_ten_label(ActivationHistogram::kMinExponent)}};
  for (const Tick& tick : x_axis.ticks(12))
    if (tick.value >= finite_low * 0.999 && tick.value <= finite_high * 1.001) ticks.push_back(tick);
  ticks.push_back({std::pow(10.0, kOverflowSlotCentre),
                   "\u2265" + svg::power_of_ten_label(ActivationHistogram::kMaxExponent)});
  return ticks;
}

// A step outline over the finite bins, semi-transparent so that two models stay readable where
// they overlap, plus a bar per non-empty open-ended bin; empty bins sit on the floor.
std::string draw_histogram_series(const Frame& frame, const Axis& x_axis, const Axis& y_axis,
                                  const std::vector<OutlierReport>& reports, size_t model) {
  const std::vector<uint64_t>& bins = reports[model].histogram.counts;
  const char* colour = kModelColours[model];
  auto x_of = [&](double decades) { return x_axis.pixel(std::pow(10.0, decades)); };
  auto y_of = [&](uint64_t count) {
    return count > 0 ? y_axis.pixel(static_cast<double>(count)) : frame.bottom();
  };

  double finite_left = x_axis.pixel(ActivationHistogram::lower_edge(1));
  std::vector<std::pair<double, double>> outline{{finite_left, frame.bottom()}};
  for (int bin = 1; bin < kLastBin; ++bin) {
    outline.emplace_back(x_axis.pixel(ActivationHistogram::lower_edge(bin)), y_of(bins[bin]));
    outline.emplace_back(x_axis.pixel(ActivationHistogram::upper_edge(bin)), y_of(bins[bin]));
  }
  outline.emplace_back(outline.back().first, frame.bottom());
  std::string out = Element("polygon").set("class", "histogram-series").points(outline).set("fill", colour)
                        .set("fill-opacity", 0.22).set("stroke", colour).set("stroke-width", 1.5)
                        .set("stroke-linejoin", "round").empty();
  for (int bin : {0, kLastBin}) {
    if (bins[bin] == 0) continue;
    auto [left, right] = edge_slot_decades(bin, model, reports.size());
    double top = y_of(bins[bin]);
    std::string tooltip = reports[model].label + ": " + group_digits(static_cast<int64_t>(bins[bin])) +
                          (bin == 0 ? " values below 0.001" : " values at or above 10^4");
    out += Element("rect").set("class", "histogram-edge-bin").set("x", x_of(left)).set("y", top)
               .set("width", x_of(right) - x_of(left)).set("height", frame.bottom() - top).set("fill", colour)
               .set("fill-opacity", 0.22).set("stroke", colour).set("stroke-width", 1.5)
               .around(Element("title").with_text(tooltip));
  }
  return out;
}

std::string draw_histogram_panel(const Frame& frame, const std::vector<OutlierReport>& reports) {
  svg::Extent counts;
  for (const OutlierReport& report : reports)
    for (uint64_t count : report.histogram.counts)
      if (count > 0) counts.add(static_cast<double>(count));
  Axis y_axis = svg::log_axis_covering(counts);
  // The floor sits a decade below the smallest count, so a bin holding a single value still
  // rises visibly above an empty one.
  if (counts.any_positive) y_axis.low = std::pow(10.0, std::ceil(std::log10(counts.min_positive)) - 1);
  y_axis.pixel_at_low = frame.bottom();
  y_axis.pixel_at_high = frame.top;
  Axis x_axis{std::pow(10.0, kUnderflowSlotCentre - kEdgeSlotHalfWidth - kHistogramMargin),
              std::pow(10.0, kOverflowSlotCentre + kEdgeSlotHalfWidth + kHistogramMargin), true,
              frame.left, frame.right()};

  std::string out = svg::draw_axes(frame, magnitude_ticks(x_axis), x_axis, y_axis.ticks(8), y_axis,
                                   {"Histogram of |activation| over all observed tensors",
                                    "|activation| (log scale; first and last bins open-ended)",
                                    "count (log scale)"});
  bool nothing_recorded = true;
  // The studied model goes on top: where the two coincide, its outline is the one to see.
  for (size_t model = reports.size(); model-- > 0;) {
    const ActivationHistogram& histogram = reports[model].histogram;
    if (histogram.total() == 0 || histogram.counts.size() != static_cast<size_t>(ActivationHistogram::kBins))
      continue;
    nothing_recorded = false;
    out += draw_histogram_series(frame, x_axis, y_axis, reports, model);
  }
  if (nothing_recorded)
    out += Element("text").set("x", frame.left + frame.width / 2).set("y", frame.top + frame.height / 2)
               .set("font-size", 13.0).set("text-anchor", "middle").set("fill", kReferenceColour)
               .with_text("no activations were recorded");
  return out + draw_histogram_legend(frame, reports);
}

// How long each of `labels` labels may be for a line whose other text is `rest` to fit `width`;
// labels shrink first because the numbers are what the line is for.
size_t label_room(std::string_view rest, double font_size, double width, int labels) {
  double per_character = svg::estimated_text_width("x", font_size);
  double room = (width - svg::estimated_text_width(rest, font_size)) / per_character / labels;
  return static_cast<size_t>(std::clamp(room, 12.0, static_cast<double>(kLongestLabel)));
}

std::string summary_line(const OutlierReport& report, double font_size, double width) {
  auto line = [&](const std::string& label) {
    size_t layers = report.layers.size();
    return label + " (" + (report.normaliser.empty() ? "?" : report.normaliser) + ", " +
           group_digits(static_cast<int64_t>(layers)) + (layers == 1 ? " layer, " : " layers, ") +
           group_digits(report.tokens) + " tokens): average kurtosis " +
           svg::format_value(report.average_kurtosis()) + " \u00B7 max inf-norm " +
           svg::format_value(report.max_inf_norm()) + " \u00B7 max |x| " +
           svg::format_value(report.global_max_abs());
  };
  return line(display_label(report, label_room(line(""), font_size, width, 1)));
}

// Both models normally read the same --data file; differing counts are shown side by side.
std::string sequences_note(const std::vector<OutlierReport>& reports) {
  std::string note = "on " + group_digits(reports[0].sequences);
  if (reports.size() == 2 && reports[1].sequences != reports[0].sequences)
    note += " / " + group_digits(reports[1].sequences);
  return note + " sequences";
}

// reports[1] is the baseline: the numbers say how much reports[0] lowers (or raises) each summary.
std::string comparison_line(const OutlierReport& studied, const OutlierReport& baseline, double font_size,
                            double width) {
  auto change = [](double before, double after) {
    return svg::format_percent(percent_change(before, after));
  };
  auto line = [&](const std::string& studied_label, const std::string& baseline_label) {
    return studied_label + " vs " + baseline_label + " (baseline): kurtosis " +
           change(baseline.average_kurtosis(), studied.average_kurtosis()) + ", max inf-norm " +
           change(baseline.max_inf_norm(), studied.max_inf_norm()) + ", max |x| " +
           change(baseline.global_max_abs(), studied.global_max_abs());
  };
  size_t room = label_room(line("", ""), font_size, width, 2);
  return line(display_label(studied, room), display_label(baseline, room));
}

// Shape and dash tell the two tensors apart; colour is left to tell the models apart.
std::string draw_series_key(double y) {
  std::string out = Element("text").set("x", kPageMargin).set("y", y + 4).set("font-size", 12.0)
                        .set("fill", kTextColour).with_text("Per-layer panels:");
  double x = kPageMargin + 112;
  for (Tensor tensor : {Tensor::ffn_output, Tensor::layer_output}) {
    out += Element("line").set("x1", x).set("y1", y).set("x2", x + 28).set("y2", y).set("stroke", "#444444")
               .set("stroke-width", 1.8).set("stroke-dasharray", dash_pattern(tensor)).empty();
    out += marker(tensor, x + 14, y, "#444444", "key-marker", tensor_name(tensor));
    std::string text = tensor == Tensor::ffn_output ? "FFN output (before the residual add)"
                                                    : "layer output (post-LN output or residual stream)";
    out += Element("text").set("x", x + 36).set("y", y + 4).set("font-size", 12.0).set("fill", kTextColour)
               .with_text(text);
    x += 36 + svg::estimated_text_width(text, 12) + 12;
  }
  return out;
}

std::string draw_header(const std::vector<OutlierReport>& reports, double& bottom) {
  const std::string title = "Activation outliers";
  std::string out = Element("text").set("x", kPageMargin).set("y", 30.0).set("font-size", 18.0)
                        .set("font-weight", "bold").set("fill", kTextColour).with_text(title);
  out += Element("text").set("x", kPageMargin + svg::estimated_text_width(title, 18 * kBoldWidening) + 10)
             .set("y", 30.0).set("font-size", 13.0).set("fill", kReferenceColour)
             .with_text(sequences_note(reports));
  double y = 56;
  for (size_t model = 0; model < reports.size(); ++model, y += 21) {
    out += Element("rect").set("x", kPageMargin).set("y", y - 11).set("width", 13.0).set("height", 13.0)
               .set("fill", kModelColours[model]).empty();
    out += Element("text").set("class", "model-summary").set("x", kPageMargin + 20).set("y", y)
               .set("font-size", 13.0).set("fill", kTextColour)
               .with_text(summary_line(reports[model], 13, kPageWidth - 2 * kPageMargin - 20));
  }
  if (reports.size() == 2) {
    out += Element("text").set("class", "percent-change").set("x", kPageMargin).set("y", y + 2)
               .set("font-size", 13.0).set("font-weight", "bold").set("fill", kTextColour)
               .with_text(comparison_line(reports[0], reports[1], 13 * kBoldWidening,
                                          kPageWidth - 2 * kPageMargin));
    y += 23;
  }
  out += draw_series_key(y + 6);
  bottom = y + 16;
  return out;
}

}  // namespace

std::string render_outlier_svg(const std::vector<OutlierReport>& reports) {
  if (reports.empty() || reports.size() > 2)
    throw Error("--plot", "draws one or two models, got " + std::to_string(reports.size()));
  double header_bottom = 0;
  std::string body = draw_header(reports, header_bottom);

  double panel_width = (kPlotRight - kPlotLeft - kPanelGap) / 2;
  Frame kurtosis_frame{kPlotLeft, header_bottom + kAbovePlot + 12, panel_width, kLayerPanelHeight};
  Frame inf_norm_frame{kPlotLeft + panel_width + kPanelGap, kurtosis_frame.top, panel_width,
                       kLayerPanelHeight};
  Frame histogram_frame{kPlotLeft, kurtosis_frame.bottom() + kBelowPlot + kAbovePlot, kPlotRight - kPlotLeft,
                        kHistogramHeight};

  body += draw_layer_panel(kurtosis_frame, {"kurtosis", {"Kurtosis per layer", "layer", "kurtosis"}, true},
                           layer_series(reports, &TensorStats::mean_kurtosis), reports);
  body += draw_layer_panel(inf_norm_frame,
                           {"inf-norm",
                            {"Mean inf-norm per layer (max |x| per token)", "layer", "mean inf-norm"},
                            false},
                           layer_series(reports, &TensorStats::mean_inf_norm), reports);
  body += draw_histogram_panel(histogram_frame, reports);

  std::string title = "Activation outliers: " + reports[0].label;
  if (reports.size() == 2) title += " vs " + reports[1].label;
  return svg::svg_document(kPageWidth, histogram_frame.bottom() + kBelowPlot, title, body);
}

void write_outlier_svg(const std::string& path, const std::vector<OutlierReport>& reports) {
  std::string picture = render_outlier_svg(reports);
  util::OutputFile out(path);
  out.write(picture);
  out.commit();
}

}  // namespace germ::stats
