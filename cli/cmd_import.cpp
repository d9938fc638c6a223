#include <cstdio>

#include "commands.hpp"
#include "common_options.hpp"
#include "model/hf_import.hpp"
#include "tokenize/hf_bpe_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::cli {

int run_import(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face DNABERT-2 or GERM checkpoint into a germ model (docs/import.md).\n\n"
               "The directory holds config.json, model.safetensors and tokenizer.json (BPE). An MLM checkpoint\n"
               "(BertForMaskedLM) becomes an encoder-mlm model, one with classifier.* a classifier.\n\n"
               "Examples:\n"
               "  germ import DNABERT-2-117M/ -o dnabert2.safetensors\n"
               "  germ import GERM-hf/ --attention softmax1 -o germ.safetensors\n"
               "  germ pretrain --objective mlm --init-from dnabert2.safetensors --attention softmax1 -o germ_t.safetensors genome.fa",
               "germ import"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kVerbosity);
  std::string directory, attention = "softmax";
  bool non_strict = false;
  app.add_option("directory", directory, "Hugging Face checkpoint directory")->required();
  app.add_option("--attention", attention, "softmax (DNABERT-2) | softmax1 (GERM checkpoints)")->capture_default_str();
  app.add_flag("--non-strict", non_strict,
               "Skip checkpoint tensors germ does not use and keep germ's initialisation for missing ones");
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    if (common.output == "-") throw Error("-o/--output", "a model file is required (not stdout)");
    model::HfImportOptions options;
    options.attention = model::parse_normaliser(attention);
    options.strict = !non_strict;
    model::HfImport imported = model::import_hf_checkpoint(directory, options);
    imported.bundle.provenance_json = model::make_provenance(
        command_line(argc, argv), {{"imported_from", directory}, {"weights", imported.weight_file}});
    model::save_model(common.output, imported.bundle);
    if (!common.quiet) {
      const auto& model = *imported.bundle.model;
      const auto& tokenizer = static_cast<const tokenize::HfBpeTokenizer&>(*imported.bundle.tokenizer);
      std::fprintf(stderr, "germ import: %s, %lld layers x %lld, %lld parameters, %lld tokens (%zu merges) -> %s\n",
                   model::to_string(model.kind()), static_cast<long long>(model.config().layers),
                   static_cast<long long>(model.config().hidden), static_cast<long long>(model.parameter_count()),
                   static_cast<long long>(tokenizer.vocab_size()), tokenizer.merge_count(), common.output.c_str());
      for (const auto& name : imported.skipped) std::fprintf(stderr, "  skipped (not used): %s\n", name.c_str());
      for (const auto& name : imported.initialised) std::fprintf(stderr, "  initialised (missing): %s\n", name.c_str());
    }
    return 0;
  });
}

}  // namespace germ::cli
