// germ predict: a classifier's class probabilities per sequence.
#include <ATen/ATen.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common_options.hpp"
#include "engine/open_model.hpp"
#include "io/labelled_sequences.hpp"
#include "io/sequence_reader.hpp"
#include "model/token_batch.hpp"
#include "train/classifier.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {

struct Sequences {
  std::vector<std::string> ids, bases;
};

// A CSV's 'sequence' column (ids line<N>), or every record of a FASTA/FASTQ.
Sequences read_sequences(const std::string& input) {
  Sequences out;
  bool csv = input.size() > 4 && (input.rfind(".csv") == input.size() - 4 || input.rfind(".csv.gz") == input.size() - 7);
  if (csv) {
    io::LabelledSet rows = io::read_labelled_csv(input);
    for (auto& row : rows.rows) {
      out.ids.push_back("line" + std::to_string(row.line));
      out.bases.push_back(std::move(row.bases));
    }
  } else {
    io::SequenceReader reader(input);
    io::SequenceChunk chunk;
    while (reader.next(chunk)) {
      if (chunk.contig_start) {
        out.ids.push_back(chunk.contig);
        out.bases.emplace_back();
      }
      out.bases.back() += chunk.bases;
    }
  }
  if (out.bases.empty()) throw Error(input, "no sequences");
  return out;
}

void write_predictions(const std::string& output, const std::vector<std::string>& ids,
                       const std::vector<std::string>& labels, const at::Tensor& probabilities) {
  auto predicted = model::predicted_classes(probabilities);
  util::OutputFile out(output);
  std::string header = "#id\tpredicted";
  for (const auto& label : labels) header += "\tp_" + label;
  out.write(header + "\n");
  auto view = probabilities.accessor<float, 2>();
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string line = ids[i] + "\t" + labels[predicted[i]];
    char value[32];
    for (int64_t c = 0; c < probabilities.size(1); ++c) {
      std::snprintf(value, sizeof value, "\t%.6f", view[i][c]);
      line += value;
    }
    out.write(line + "\n");
  }
  out.commit();
}

}  // namespace

int run_predict(int argc, char** argv) {
  CLI::App app{"Class probabilities per sequence, as TSV: id, predicted class, then one column per class.\n"
               "Input: FASTA/FASTQ (one prediction per record) or a CSV with a 'sequence' column (labels ignored).\n\n"
               "Example:\n  germ predict -m coding.safetensors windows.fa > predictions.tsv",
               "germ predict"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kDevice | kVerbosity);
  std::string model_path, input;
  int64_t batch_size = 64;
  app.add_option("input", input, "FASTA/FASTQ (plain, gzip, bgzip; '-' = stdin) or CSV")->required();
  app.add_option("-m,--model", model_path, "Classifier written by germ finetune")->required();
  app.add_option("--batch-size", batch_size, "Sequences per forward pass")->capture_default_str();
  bool fake_quant = false;
  app.add_flag("--fake-quant", fake_quant, "Quantized model: quantise-dequantise in fp32 instead of integer GEMMs");
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    c10::Device device = util::select_device(common.device);
    const engine::ModelFile file(model_path);
    engine::require_classifier(file);
    const quant::Execution execution = fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger;
    model::ModelBundle bundle = engine::open_model(file, {execution, device}).bundle;
    Sequences sequences = read_sequences(input);
    io::LabelledSet unlabelled{input, {}, bundle.model->config().num_labels};
    for (auto& s : sequences.bases) unlabelled.rows.push_back({s, 0, 0});
    train::EncodedSet set = train::encode_labelled_set(unlabelled, *bundle.tokenizer, bundle.model->config().max_length);
    at::Tensor probabilities = model::class_probabilities(bundle.model, set.tokens, batch_size, device);
    write_predictions(common.output, sequences.ids, bundle.labels, probabilities);
    return 0;
  });
}

}  // namespace germ::cli
