#include <filesystem>

#include "commands.hpp"
#include "common_options.hpp"
#include "engine/open_model.hpp"
#include "io/region.hpp"
#include "model/focus_store.hpp"
#include "model/model_store.hpp"
#include "score/fidelity_report.hpp"
#include "stats/model_summary.hpp"
#include "stats/outlier_format.hpp"
#include "stats/outlier_run.hpp"
#include "stats/sequence_stats.hpp"
#include "stats/svg_plot.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"

namespace germ::cli {
namespace {

std::string file_label(const std::string& path) { return std::filesystem::path(path).filename().string(); }

std::string check_format(const std::string& format, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed)
    if (format == a) return format;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw Error("-O/--output-type", "'" + format + "' is not one of " + list);
}

}  // namespace

int run_stats(int argc, char** argv) {
  CLI::App app{"Reports on models and sequences.\n\n"
               "  germ stats seqs.fa                       per-contig length, GC, N and soft-masked fractions\n"
               "  germ stats -m model.safetensors          what a model file holds\n"
               "  germ stats -m model.safetensors --data seqs.fa|tasks.csv [--vs other.safetensors] [--plot out.svg]\n"
               "        activation outliers per layer (GERM paper metrics): kurtosis and inf-norm of the FFN\n"
               "        output and the layer output, Softmax_1's attend-to-nothing mass per head\n"
               "  germ stats --fidelity -m focus.safetensors held_out.fa\n"
               "        FOCUS vs uncompressed next-base distributions (as germ score --fidelity)\n\n"
               "Definitions: docs/stats.md",
               "germ stats"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kSeed | kVerbosity | kRegion);
  std::string input, model_path, data_path, versus_path, plot_path, output_type = "text";
  io::SequenceSample sample;
  int64_t batch_size = 16, fidelity_windows = 4, fidelity_sequences = 32;
  bool fidelity = false;
  app.add_option("input", input, "FASTA/FASTQ to summarise (plain, gzip, bgzip; '-' = stdin)");
  app.add_option("-m,--model", model_path, "Model file");
  app.add_option("--data", data_path, "Sequences for the outlier statistics: FASTA/FASTQ, a GUE CSV or directory");
  app.add_option("--vs", versus_path, "A second model (the baseline) measured on the same sequences");
  app.add_option("--plot", plot_path, "Write an SVG of per-layer kurtosis, inf-norm and the activation histogram");
  app.add_option("-n,--sequences", sample.count, "Sequences sampled from --data")->capture_default_str();
  app.add_option("--length", sample.window_bases, "FASTA --data: bases per sampled tile")->capture_default_str();
  app.add_option("--batch-size", batch_size, "Sequences per forward pass")->capture_default_str();
  app.add_option("-O,--output-type", output_type, "text | tsv | json")->capture_default_str();
  app.add_flag("--fidelity", fidelity, "FOCUS vs uncompressed next-base distributions on the input");
  app.add_option("--fidelity-windows", fidelity_windows, "--fidelity: windows per compared sequence")
      ->capture_default_str();
  app.add_option("--fidelity-sequences", fidelity_sequences, "--fidelity: sequences compared")->capture_default_str();
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    std::vector<io::Region> regions;
    if (!common.region.empty()) regions.push_back(io::parse_region(common.region));

    if (fidelity) {
      if (model_path.empty()) model_path = model::default_model_path();
      if (input.empty()) throw Error("--fidelity", "needs a FASTA input to compare on");
      model::FocusModel focus = engine::open_model(model_path).focus_model();
      if (!focus.has_adapter) throw Error(model_path, "has no FOCUS adapter to compare");
      util::OutputFile out(common.output);
      out.write(score::fidelity_report(focus, focus.geometry, {input, regions, fidelity_windows, fidelity_sequences}));
      out.commit();
      return 0;
    }

    if (!data_path.empty() || !versus_path.empty() || !plot_path.empty()) {
      check_format(output_type, {"text", "tsv", "json"});
      if (model_path.empty()) throw Error("--data", "needs -m/--model");
      if (data_path.empty()) throw Error("--vs/--plot", "need --data sequences to run the models on");
      if (!input.empty()) throw Error(input, "give the sequences with --data when measuring a model");
      // Fail before the models run, not after.
      if (auto folder = std::filesystem::path(plot_path).parent_path(); !plot_path.empty() && !folder.empty() &&
                                                                         !std::filesystem::is_directory(folder))
        throw Error(plot_path, "cannot create: folder " + folder.string() + " does not exist");
      sample.seed = common.seed;
      sample.regions = regions;
      std::vector<std::string> sequences = io::sample_sequences(data_path, sample);
      std::vector<stats::OutlierReport> reports;
      for (const std::string& path : {model_path, versus_path}) {
        if (path.empty()) continue;
        // A model is measured as it predicts: LoRA adapters folded in, quantized layers
        // simulated (integer kernels would hide the activations being measured).
        engine::OpenOptions measured;
        measured.execution = quant::Execution::kFakeQuant;
        measured.merge_adapters = true;
        model::ModelBundle bundle = engine::open_model(path, measured).bundle;
        reports.push_back(stats::measure_outliers(bundle, file_label(path), sequences, batch_size));
      }
      if (reports.size() == 2 && reports[0].label == reports[1].label) {
        reports[0].label = model_path;
        reports[1].label = versus_path;
      }
      // The plot is written before the report is committed: a failing --plot leaves no report.
      util::OutputFile out(common.output);
      out.write(output_type == "json"  ? stats::format_outliers_json(reports)
                : output_type == "tsv" ? stats::format_outliers_tsv(reports)
                                       : stats::format_outliers_text(reports));
      if (!plot_path.empty()) stats::write_outlier_svg(plot_path, reports);
      out.commit();
      return 0;
    }

    if (!model_path.empty()) {
      if (!input.empty()) throw Error(input, "give either a model (-m) or sequences to summarise, not both");
      check_format(output_type, {"text", "json"});
      util::OutputFile out(common.output);
      out.write(stats::describe_model_file(model_path, output_type));
      out.commit();
      return 0;
    }

    if (input.empty()) throw Error("germ stats", "nothing to report: give a FASTA, -m model, or see --help");
    check_format(output_type, {"text", "tsv", "json"});
    util::OutputFile out(common.output);
    stats::ContigComposition total;
    total.name = "total";
    std::vector<stats::ContigComposition> rows;  // JSON is one document; text and TSV stream
    stats::CompositionTextFormat text_format;
    // The header waits for the first row, so input rejected up front (not a FASTA, a bad
    // region) leaves nothing at all on stdout.
    bool header_written = output_type == "json";
    auto write_header = [&] {
      if (!header_written) out.write(output_type == "tsv" ? stats::composition_tsv_header() : text_format.header());
      header_written = true;
    };
    stats::summarise_sequences(input, regions, [&](const stats::ContigComposition& row) {
      total.merge(row);
      write_header();
      if (output_type == "json") rows.push_back(row);
      else out.write(output_type == "tsv" ? stats::composition_tsv_row(row) : text_format.row(row));
    });
    write_header();
    if (output_type == "json") out.write(stats::format_composition_json(rows, total));
    else if (output_type == "tsv") out.write(stats::composition_tsv_total_row(total));
    else out.write(text_format.row(total));
    out.commit();
    return 0;
  });
}

}  // namespace germ::cli
