#pragma once
#include <cstdint>
#include <string>

namespace germ::model {

enum class Normaliser { kSoftmax, kSoftmax1 };
enum class MaskKind { kBidirectional, kCausal };
enum class NormPlacement { kPost, kPre };
enum class PositionScheme { kAlibi };
enum class FfnKind { kGeglu, kGelu };
enum class ModelKind { kEncoderMlm, kClassifier, kCausalLm };
// What a classifier's head reads: the [CLS] row (DNABERT-2's pooler) or the mean over the tokens.
enum class Pooling { kCls, kMean };

// Architecture of every germ transformer. Serialised as JSON into the model file
// ("germ.config"), so field names are part of the file format (docs/model_file.md).
struct ModelConfig {
  int64_t layers = 2;
  int64_t hidden = 128;
  int64_t heads = 4;
  int64_t intermediate = 512;
  int64_t vocab = 10;
  int64_t type_vocab = 2;  // token-type table kept for DNABERT-2 compatibility
  double dropout = 0.1;
  double attention_dropout = 0.0;
  double layer_norm_eps = 1e-12;
  Normaliser normaliser = Normaliser::kSoftmax1;
  MaskKind mask = MaskKind::kBidirectional;
  NormPlacement norm = NormPlacement::kPost;
  PositionScheme position = PositionScheme::kAlibi;
  FfnKind ffn = FfnKind::kGeglu;
  int64_t max_length = 512;  // training length; ALiBi extrapolates beyond it
  // ALiBi slopes are 2^(-alibi_max_bias * i / heads), i = 1..heads: 8 is the ALiBi paper's and
  // DNABERT-2's set; a larger value adds heads with shallower slopes, which see further back.
  double alibi_max_bias = 8.0;
  int64_t num_labels = 0;    // classifier heads only
  Pooling pooling = Pooling::kCls;  // classifier heads only (docs/finetune.md)

  int64_t head_dim() const { return hidden / heads; }
  // Throws germ::Error("config", ...) naming the offending field.
  void validate() const;
  std::string to_json() const;
  static ModelConfig from_json(const std::string& json);

  // Named sizes: "tiny" and "small" are sized for CPU work and tests, "base" is DNABERT-2
  // (12 x 768, 12 heads, 3072 GeGLU). The objective picks mask and norm placement.
  static ModelConfig preset(const std::string& size, ModelKind kind);
};

bool operator==(const ModelConfig& a, const ModelConfig& b);

const char* to_string(Normaliser);
const char* to_string(MaskKind);
const char* to_string(NormPlacement);
const char* to_string(FfnKind);
const char* to_string(ModelKind);
const char* to_string(Pooling);
Pooling parse_pooling(const std::string&);
Normaliser parse_normaliser(const std::string&);
ModelKind parse_model_kind(const std::string&);

}  // namespace germ::model
