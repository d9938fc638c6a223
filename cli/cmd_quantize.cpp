#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "common_options.hpp"
#include "engine/open_model.hpp"
#include "io/sequence_sample.hpp"
#include "model/focus_store.hpp"
#include "model/model_store.hpp"
#include "quant/ptq.hpp"
#include "quant/quantized_store.hpp"
#include "util/error.hpp"

namespace germ::cli {

int run_quantize(int argc, char** argv) {
  CLI::App app{"Post-training quantization of a classifier or causal LM (docs/quantize.md).\n\n"
               "Methods: minmax (static per-tensor activations), smoothquant (per-channel smoothing, per-token\n"
               "activations), outlier-suppression (gamma migration + token-wise clipping), omniquant (learnable\n"
               "clipping and equivalent transformation, trained block by block). The output stores integer\n"
               "weights (int8, packed int6/int4); germ eval, predict and score run it with integer GEMMs.\n\n"
               "Examples:\n"
               "  germ quantize -m coding.safetensors --method smoothquant --bits w8a8 --calib tasks/yeast_coding -o coding.w8a8.safetensors\n"
               "  germ quantize -m coding.safetensors --method omniquant --bits w4a4 --calib tasks/yeast_coding -o coding.w4a4.safetensors",
               "germ quantize"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kSeed | kVerbosity);
  std::string model_path, calib, method = "smoothquant", bits = "w8a8", granularity = "channel";
  quant::PtqOptions o;
  io::SequenceSample sample;
  sample.count = 256;
  app.add_option("-m,--model", model_path, "Classifier (germ finetune) or causal LM (germ pretrain) in fp32")->required();
  app.add_option("--method", method, "minmax | smoothquant | outlier-suppression | omniquant")->capture_default_str();
  app.add_option("--bits", bits, "Weight and activation bit widths: w8a8, w6a6, w4a4, w4a8, ...")->capture_default_str();
  app.add_option("--calib", calib, "Calibration data: a GUE directory (its train.csv), a CSV, or FASTA (tiles)")->required();
  app.add_option("--calib-size", sample.count, "Calibration sequences (reservoir-sampled)")->capture_default_str();
  app.add_option("--calib-length", sample.window_bases, "FASTA calibration: bases per tile")->capture_default_str();
  app.add_option("--weight-granularity", granularity, "minmax, outlier-suppression: channel | tensor")->capture_default_str();
  app.add_option("--alpha", o.alpha, "smoothquant: migration strength")->capture_default_str();
  app.add_option("--epochs", o.omniquant_epochs, "omniquant: passes over the calibration set per block")->capture_default_str();
  app.add_option("--lr", o.omniquant_lr, "omniquant: learning rate of the equivalent transformation")->capture_default_str();
  app.add_option("--batch-size", o.calibration.batch_size, "Calibration sequences per forward pass")->capture_default_str();
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    if (common.output == "-") throw Error("-o/--output", "a model file is required (not stdout)");
    o.method = quant::parse_method(method);
    o.bits = quant::parse_bit_widths(bits);
    if (granularity != "channel" && granularity != "tensor")
      throw Error("--weight-granularity", "'" + granularity + "' is not channel or tensor");
    o.per_channel_weights = granularity == "channel";
    if (!(o.alpha > 0 && o.alpha < 1)) throw Error("--alpha", "must be in (0, 1)");
    if (o.omniquant_epochs < 1) throw Error("--epochs", "must be at least 1");
    if (!(o.omniquant_lr > 0)) throw Error("--lr", "must be positive");
    if (o.calibration.batch_size < 1) throw Error("--batch-size", "must be at least 1");
    std::filesystem::path parent = std::filesystem::path(common.output).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
      throw Error(common.output, "directory '" + parent.string() + "' does not exist");
    o.seed = sample.seed = common.seed;
    o.quiet = common.quiet;

    const engine::ModelFile file(model_path);
    if (file.kind() == model::ModelKind::kEncoderMlm)
      throw Error(model_path, "is an encoder (mlm); quantize the classifier fine-tuned from it, or a causal LM");
    engine::OpenOptions open_options;
    open_options.merge_adapters = true;  // a quantized classifier stores plain weights
    engine::LoadedModel loaded = engine::open_model(file, open_options);
    model::ModelBundle& bundle = loaded.bundle;
    if (loaded.quantized) throw Error(model_path, "is already quantized");
    std::vector<std::string> sequences = io::sample_sequences(calib, sample, "train");
    auto tokens = quant::frame_calibration_set(bundle, sequences);
    quant::QuantizedModel quantized = quant::quantize_model(bundle, tokens, o);
    quant::store_quantization(bundle, quantized);
    std::map<std::string, std::string> fields{{"quantized_from", model_path}, {"method", method},
                                              {"bits", o.bits.text()}, {"calibration", calib},
                                              {"calibration_sequences", std::to_string(sequences.size())}};
    bundle.provenance_json = model::make_provenance(command_line(argc, argv), fields);
    if (loaded.has_focus_adapter)
      model::save_focus_model(common.output, bundle, loaded.focus_adapter, loaded.focus_geometry);
    else
      model::save_model(common.output, bundle);
    if (!common.quiet) {
      std::fprintf(stderr, "germ quantize: %s %s, %zu linear layers, %zu calibration sequences -> %s\n",
                   method.c_str(), o.bits.text().c_str(), quantized.layers.size(), sequences.size(),
                   common.output.c_str());
      for (const auto& [key, value] : quantized.details)
        if (common.verbose > 0 || key.rfind("clip.", 0) != 0) std::fprintf(stderr, "  %s: %s\n", key.c_str(), value.c_str());
    }
    return 0;
  });
}

}  // namespace germ::cli
