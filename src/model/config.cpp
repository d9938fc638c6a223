#include "model/config.hpp"

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace germ::model {
namespace {

template <typename Enum>
Enum parse_enum(const std::string& field, const std::string& text,
                std::initializer_list<std::pair<const char*, Enum>> names) {
  for (const auto& [name, value] : names)
    if (text == name) return value;
  std::string allowed;
  for (const auto& entry : names) allowed += std::string(allowed.empty() ? "" : ", ") + entry.first;
  throw Error("config", "field '" + field + "' has unknown value '" + text + "' (allowed: " + allowed + ")");
}

const std::initializer_list<std::pair<const char*, Normaliser>> kNormalisers = {
    {"softmax", Normaliser::kSoftmax}, {"softmax1", Normaliser::kSoftmax1}};
const std::initializer_list<std::pair<const char*, MaskKind>> kMasks = {
    {"bidirectional", MaskKind::kBidirectional}, {"causal", MaskKind::kCausal}};
const std::initializer_list<std::pair<const char*, NormPlacement>> kNorms = {
    {"post", NormPlacement::kPost}, {"pre", NormPlacement::kPre}};
const std::initializer_list<std::pair<const char*, FfnKind>> kFfns = {{"geglu", FfnKind::kGeglu},
                                                                      {"gelu", FfnKind::kGelu}};
const std::initializer_list<std::pair<const char*, ModelKind>> kKinds = {
    {"encoder-mlm", ModelKind::kEncoderMlm},
    {"classifier", ModelKind::kClassifier},
    {"causal-lm", ModelKind::kCausalLm}};
const std::initializer_list<std::pair<const char*, Pooling>> kPoolings = {{"cls", Pooling::kCls},
                                                                          {"mean", Pooling::kMean}};

template <typename Enum>
const char* name_of(Enum value, std::initializer_list<std::pair<const char*, Enum>> names) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

}  // namespace

const char* to_string(Normaliser v) { return name_of(v, kNormalisers); }
const char* to_string(MaskKind v) { return name_of(v, kMasks); }
const char* to_string(NormPlacement v) { return name_of(v, kNorms); }
const char* to_string(FfnKind v) { return name_of(v, kFfns); }
const char* to_string(ModelKind v) { return name_of(v, kKinds); }
Normaliser parse_normaliser(const std::string& s) { return parse_enum("attention", s, kNormalisers); }
ModelKind parse_model_kind(const std::string& s) { return parse_enum("kind", s, kKinds); }
const char* to_string(Pooling v) { return name_of(v, kPoolings); }
Pooling parse_pooling(const std::string& s) { return parse_enum("pooling", s, kPoolings); }

void ModelConfig::validate() const {
  auto require = [](bool ok, const std::string& problem) {
    if (!ok) throw Error("config", problem);
  };
  require(layers >= 1 && layers <= 256, "layers must be in 1..256");
  require(hidden >= 1 && hidden <= 65536, "hidden must be in 1..65536");
  require(heads >= 1 && hidden % heads == 0, "hidden must be a multiple of heads");
  require(intermediate >= 1 && intermediate <= 1 << 20, "intermediate must be in 1..1048576");
  require(vocab >= 5 && vocab <= 1 << 22, "vocab must be in 5..4194304");
  require(type_vocab >= 0 && type_vocab <= 16, "type_vocab must be in 0..16");
  require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
  require(attention_dropout >= 0 && attention_dropout < 1, "attention_dropout must be in [0, 1)");
  require(layer_norm_eps > 0 && layer_norm_eps < 1, "layer_norm_eps must be in (0, 1)");
  require(max_length >= 1, "max_length must be positive");
  require(alibi_max_bias > 0 && alibi_max_bias <= 64, "alibi_max_bias must be in (0, 64]");
  require(num_labels >= 0 && num_labels <= 1 << 16, "num_labels must be in 0..65536");
}

std::string ModelConfig::to_json() const {
  nlohmann::json j = {
      {"layers", layers},
      {"hidden", hidden},
      {"heads", heads},
      {"intermediate", intermediate},
      {"vocab", vocab},
      {"type_vocab", type_vocab},
      {"dropout", dropout},
      {"attention_dropout", attention_dropout},
      {"layer_norm_eps", layer_norm_eps},
      {"attention", to_string(normaliser)},
      {"mask", to_string(mask)},
      {"norm", to_string(norm)},
      {"position", "alibi"},
      {"ffn", to_string(ffn)},
      {"max_length", max_length},
      {"num_labels", num_labels},
  };
  // Written only when it differs from ALiBi's 8, so files of models without it stay unchanged.
  if (alibi_max_bias != 8.0) j["alibi_max_bias"] = alibi_max_bias;
  if (pooling != Pooling::kCls) j["pooling"] = to_string(pooling);  // likewise
  return j.dump();
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error("config", "not a JSON object");
  ModelConfig c;
  auto get_int = [&](const char* key, int64_t& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_number_integer()) throw Error("config", std::string("field '") + key + "' must be an integer");
    out = j[key].get<int64_t>();
  };
  auto get_double = [&](const char* key, double& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_number()) throw Error("config", std::string("field '") + key + "' must be a number");
    out = j[key].get<double>();
  };
  auto get_string = [&](const char* key) -> std::string {
    if (!j.contains(key)) return "";
    if (!j[key].is_string()) throw Error("config", std::string("field '") + key + "' must be a string");
    return j[key].get<std::string>();
  };
  static const char* kKnown[] = {"layers", "hidden", "heads", "intermediate", "vocab", "type_vocab",
                                 "dropout", "attention_dropout", "layer_norm_eps", "attention",
                                 "mask", "norm", "position", "ffn", "max_length", "num_labels",
                                 "alibi_max_bias", "pooling"};
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* k : kKnown) known |= item.key() == k;
    if (!known) throw Error("config", "unknown field '" + item.key() + "'");
  }
  get_int("layers", c.layers);
  get_int("hidden", c.hidden);
  get_int("heads", c.heads);
  get_int("intermediate", c.intermediate);
  get_int("vocab", c.vocab);
  get_int("type_vocab", c.type_vocab);
  get_double("dropout", c.dropout);
  get_double("attention_dropout", c.attention_dropout);
  get_double("layer_norm_eps", c.layer_norm_eps);
  get_int("max_length", c.max_length);
  get_int("num_labels", c.num_labels);
  get_double("alibi_max_bias", c.alibi_max_bias);
  if (auto s = get_string("attention"); !s.empty()) c.normaliser = parse_enum("attention", s, kNormalisers);
  if (auto s = get_string("mask"); !s.empty()) c.mask = parse_enum("mask", s, kMasks);
  if (auto s = get_string("norm"); !s.empty()) c.norm = parse_enum("norm", s, kNorms);
  if (auto s = get_string("ffn"); !s.empty()) c.ffn = parse_enum("ffn", s, kFfns);
  if (auto s = get_string("pooling"); !s.empty()) c.pooling = parse_enum("pooling", s, kPoolings);
  if (auto s = get_string("position"); !s.empty() && s != "alibi")
    throw Error("config", "field 'position' has unknown value '" + s + "' (allowed: alibi)");
  c.validate();
  return c;
}

ModelConfig ModelConfig::preset(const std::string& size, ModelKind kind) {
  ModelConfig c;
  if (size == "tiny") {
    c.layers = 2, c.hidden = 64, c.heads = 4, c.intermediate = 128, c.max_length = 128;
  } else if (size == "small") {
    c.layers = 4, c.hidden = 256, c.heads = 8, c.intermediate = 512, c.max_length = 512;
  } else if (size == "base") {
    c.layers = 12, c.hidden = 768, c.heads = 12, c.intermediate = 3072, c.max_length = 512;
  } else {
    throw Error("--size", "unknown size '" + size + "' (use tiny, small or base)");
  }
  if (kind == ModelKind::kCausalLm) {
    // Nucleotide-level causal LM: pre-LN trains stably at small scale without warm-up tricks.
    c.mask = MaskKind::kCausal;
    c.norm = NormPlacement::kPre;
    c.type_vocab = 0;
    c.dropout = 0.0;
    c.max_length = std::max<int64_t>(c.max_length, 1024);
  }
  return c;
}

bool operator==(const ModelConfig& a, const ModelConfig& b) { return a.to_json() == b.to_json(); }

}  // namespace germ::model
