#pragma once
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/transformer.hpp"

namespace germ::tokenize {
class Tokenizer;
}

namespace germ::model {

class SafetensorsReader;
struct TensorInfo;

// A germ model file: one safetensors file whose __metadata__ carries everything needed to
// use the weights (docs/model_file.md).
struct ModelBundle {
  GermModel model{nullptr};
  std::shared_ptr<tokenize::Tokenizer> tokenizer;
  std::vector<std::string> labels;
  std::string provenance_json = "{}";
  // Further tensors stored beside the weights (training state in checkpoints, adapters).
  std::map<std::string, at::Tensor> extra_tensors;
  // Further metadata entries (e.g. "germ.checkpoint").
  std::map<std::string, std::string> extra_metadata;
  // Parameters not written because extra tensors replace them: a quantized layer's fp32
  // weight "<layer>.weight" is stored as "quant.<layer>.codes" (docs/quantize.md).
  std::set<std::string> omitted_parameters;
};

// Writes atomically (temporary file + rename).
void save_model(const std::string& path, const ModelBundle& bundle);

// Validates the container, the config, the tokenizer and every tensor's name, dtype and shape
// against the model built from the config; any mismatch is germ::ModelCorrupted.
// Tensors whose names start with one of `extra_prefixes` go to extra_tensors. A parameter
// "<layer>.weight" may be absent when "quant.<layer>.codes" is present and "quant." is one of
// the prefixes; it is listed in omitted_parameters.
ModelBundle load_model(const std::string& path, const std::vector<std::string>& extra_prefixes = {});
// The same from a file whose header is already read (engine::ModelFile): errors name reader.path().
ModelBundle load_model(const SafetensorsReader& reader, const std::vector<std::string>& extra_prefixes = {});

// The kind recorded in a model file's header (the container is validated, the weights are not
// read): lets a command pick its code path before loading.
ModelKind peek_model_kind(const std::string& path);
ModelKind peek_model_kind(const SafetensorsReader& reader);

// Copies tensor `info` of `reader` into `target` after checking that it is a float tensor of
// target's shape; otherwise germ::ModelCorrupted naming the file, the tensor and what
// `expectation` ("the config expects") says the shape should be.
void copy_checked(const SafetensorsReader& reader, const TensorInfo& info, at::Tensor& target,
                  const std::string& expectation);

// Provenance entry for a new model: germ version, command line, time, plus `fields`.
std::string make_provenance(const std::string& command_line, const std::map<std::string, std::string>& fields);

}  // namespace germ::model
