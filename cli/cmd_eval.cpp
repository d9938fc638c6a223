#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "common_options.hpp"
#include "io/labelled_sequences.hpp"
#include "io/sequence_reader.hpp"
#include "model/token_batch.hpp"
#include "train/classification_metrics.hpp"
#include "train/classifier.hpp"
#include "train/finetune.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {

std::vector<int64_t> argmax_rows(const at::Tensor& probabilities) {
  at::Tensor best = probabilities.argmax(1).contiguous();
  return std::vector<int64_t>(best.data_ptr<int64_t>(), best.data_ptr<int64_t>() + best.numel());
}

}  // namespace

int run_eval(int argc, char** argv) {
  CLI::App app{"Evaluate a classifier on labelled sequences: MCC, macro F1, accuracy, confusion matrix.\n\n"
               "Example:\n  germ eval -m coding.safetensors --data tasks/yeast_coding/test.csv -O json",
               "germ eval"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kDevice | kVerbosity);
  std::string model_path, data, output_type = "text";
  int64_t batch_size = 64;
  app.add_option("-m,--model", model_path, "Classifier written by germ finetune")->required();
  app.add_option("--data", data, "GUE CSV (sequence,label) or a GUE directory (its test.csv)")->required();
  app.add_option("-O,--output-type", output_type, "text | json")->capture_default_str();
  app.add_option("--batch-size", batch_size, "Sequences per forward pass")->capture_default_str();
  bool fake_quant = false;
  app.add_flag("--fake-quant", fake_quant, "Quantized model: quantise-dequantise in fp32 instead of integer GEMMs");
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    if (output_type != "text" && output_type != "json") throw Error("-O/--output-type", "'" + output_type + "' is not text or json");
    c10::Device device = util::select_device(common.device);
    model::ModelBundle bundle =
        train::load_classifier(model_path, fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger);
    const int64_t classes = bundle.model->config().num_labels;
    io::LabelledSet rows = io::read_labelled_split(data, "test", classes);
    train::EncodedSet set = train::encode_labelled_set(rows, *bundle.tokenizer, bundle.model->config().max_length);
    bundle.model->to(device);
    at::Tensor probabilities = model::class_probabilities(bundle.model, set.tokens, batch_size, device);
    train::ClassificationMetrics metrics = train::classification_metrics(set.labels, argmax_rows(probabilities), classes);
    util::OutputFile out(common.output);
    out.write(output_type == "json" ? metrics.to_json() + "\n" : metrics.to_text(bundle.labels));
    out.commit();
    return 0;
  });
}

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
    model::ModelBundle bundle =
        train::load_classifier(model_path, fake_quant ? quant::Execution::kFakeQuant : quant::Execution::kInteger);
    std::vector<std::string> ids, sequences;
    bool csv = input.size() > 4 && (input.rfind(".csv") == input.size() - 4 || input.rfind(".csv.gz") == input.size() - 7);
    if (csv) {
      io::LabelledSet rows = io::read_labelled_csv(input);
      for (auto& row : rows.rows) {
        ids.push_back("line" + std::to_string(row.line));
        sequences.push_back(std::move(row.bases));
      }
    } else {
      io::SequenceReader reader(input);
      io::SequenceChunk chunk;
      while (reader.next(chunk)) {
        if (chunk.contig_start) {
          ids.push_back(chunk.contig);
          sequences.emplace_back();
        }
        sequences.back() += chunk.bases;
      }
    }
    if (sequences.empty()) throw Error(input, "no sequences");
    io::LabelledSet unlabelled{input, {}, bundle.model->config().num_labels};
    for (auto& s : sequences) unlabelled.rows.push_back({s, 0, 0});
    train::EncodedSet set = train::encode_labelled_set(unlabelled, *bundle.tokenizer, bundle.model->config().max_length);
    bundle.model->to(device);
    at::Tensor probabilities = model::class_probabilities(bundle.model, set.tokens, batch_size, device);
    auto predicted = argmax_rows(probabilities);
    util::OutputFile out(common.output);
    std::string header = "#id\tpredicted";
    for (const auto& label : bundle.labels) header += "\tp_" + label;
    out.write(header + "\n");
    auto view = probabilities.accessor<float, 2>();
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string line = ids[i] + "\t" + bundle.labels[predicted[i]];
      char value[32];
      for (int64_t c = 0; c < probabilities.size(1); ++c) {
        std::snprintf(value, sizeof value, "\t%.6f", view[i][c]);
        line += value;
      }
      out.write(line + "\n");
    }
    out.commit();
    return 0;
  });
}

}  // namespace germ::cli
