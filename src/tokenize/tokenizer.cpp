#include "tokenize/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include "tokenize/hf_bpe_tokenizer.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "tokenize/sentencepiece_bpe_tokenizer.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

namespace germ::tokenize {
namespace {

constexpr const char* kSubject = "tokenizer";

std::string string_field(const nlohmann::json& object, const char* name) {
  auto field = object.find(name);
  if (field == object.end() || !field->is_string())
    throw Error(kSubject, std::string("metadata lacks the string field \"") + name + "\"");
  return field->get<std::string>();
}

// A recorded vocab_size that disagrees with the restored tokenizer means the metadata was
// edited or damaged; the model's embedding table would not match.
void check_recorded_vocab_size(const nlohmann::json& object, const Tokenizer& tokenizer) {
  auto field = object.find("vocab_size");
  if (field == object.end()) return;
  if (!field->is_number_integer() || field->get<int64_t>() != tokenizer.vocab_size())
    throw Error(kSubject, "recorded vocab_size " + field->dump() + " does not match the " +
                              tokenizer.kind() + " tokenizer's " +
                              std::to_string(tokenizer.vocab_size()));
}

std::unique_ptr<Tokenizer> sentencepiece_from_json(const nlohmann::json& object) {
  std::string model;
  try {
    model = util::base64_decode(string_field(object, "model"));
  } catch (const Error& error) {
    throw Error(kSubject, std::string("SentencePiece model payload: ") + error.what());
  }
  return std::make_unique<SentencePieceBpeTokenizer>(std::move(model));
}

}  // namespace

Tokenizer::~Tokenizer() = default;

void throw_id_out_of_range(int64_t id, int64_t vocab_size) {
  throw Error(kSubject, "token id " + std::to_string(id) + " is outside the vocabulary (0-" +
                            std::to_string(vocab_size - 1) + ")");
}

std::vector<int64_t> with_cls_sep(const std::vector<int64_t>& ids) {
  std::vector<int64_t> framed;
  framed.reserve(ids.size() + 2);
  framed.push_back(kClsId);
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.push_back(kSepId);
  return framed;
}

std::unique_ptr<Tokenizer> tokenizer_from_json(const std::string& json) {
  nlohmann::json object = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) throw Error(kSubject, "metadata is not valid JSON");
  if (!object.is_object()) throw Error(kSubject, "metadata is not a JSON object");
  std::string kind = string_field(object, "kind");
  std::unique_ptr<Tokenizer> tokenizer;
  if (kind == "nucleotide")
    tokenizer = std::make_unique<NucleotideTokenizer>();
  else if (kind == "sentencepiece-bpe")
    tokenizer = sentencepiece_from_json(object);
  else if (kind == "hf-bpe")
    tokenizer = std::make_unique<HfBpeTokenizer>(
        HfBpeTokenizer::from_tokenizer_json(string_field(object, "tokenizer_json"), kSubject));
  else
    throw Error(kSubject, "unknown tokenizer kind \"" + kind + "\"");
  check_recorded_vocab_size(object, *tokenizer);
  return tokenizer;
}

}  // namespace germ::tokenize
