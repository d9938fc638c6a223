#include "tokenize/sentencepiece_bpe_tokenizer.hpp"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <regex>

#include "tokenize/sentencepiece_module.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

namespace germ::tokenize {
namespace {

constexpr const char* kSubject = "tokenizer";
// SentencePiece's bounds on max_sentence_length.
constexpr size_t kShortestSentenceLimit = 4192;
constexpr size_t kLongestTrainingSentence = size_t{1} << 30;

// SentencePiece statuses read "./src/x.cc(660) [condition] Explanation"; users need only the
// explanation (or the condition when there is none).
std::string readable(const std::string& message) {
  static const std::regex location(R"(^\S+\(\d+\) \[(.*)\] ?(.*)$)");
  std::smatch parts;
  if (!std::regex_match(message, parts, location)) return message;
  return parts[2].length() > 0 ? parts[2].str() : "check failed: " + parts[1].str();
}

void check_training_sentence(const std::string& sentence, size_t index) {
  for (char base : sentence) {
    if (base != 'A' && base != 'C' && base != 'G' && base != 'T' && base != 'N')
      throw Error(kSubject, "training sentence " + std::to_string(index) +
                                " contains a character other than A, C, G, T, N (byte " +
                                std::to_string(static_cast<unsigned char>(base)) + ")");
  }
  if (sentence.size() > kLongestTrainingSentence)
    throw Error(kSubject, "training sentence " + std::to_string(index) + " is longer than " +
                              std::to_string(kLongestTrainingSentence) + " bases");
}

std::string training_arguments(int64_t vocab_size, size_t longest_sentence,
                               const BpeTrainingOptions& options) {
  // identity normalisation, no dummy prefix and no whitespace handling keep every piece a
  // plain run of bases, so decode(encode(x)) == x; byte fallback would add 256 useless pieces.
  std::string args =
      "--model_type=bpe --vocab_size=" + std::to_string(vocab_size) +
      " --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3"
      " --unk_piece=[UNK] --bos_piece=[CLS] --eos_piece=[SEP] --pad_piece=[PAD]"
      " --control_symbols=[MASK]"
      " --normalization_rule_name=identity --add_dummy_prefix=false"
      " --remove_extra_whitespaces=false --split_by_whitespace=false"
      " --character_coverage=1.0 --byte_fallback=false --num_threads=1 --minloglevel=2"
      " --max_sentencepiece_length=" +
      std::to_string(options.max_token_length) + " --max_sentence_length=" +
      std::to_string(std::max(longest_sentence, kShortestSentenceLimit)) +
      " --hard_vocab_limit=" + (options.allow_smaller_vocab ? "false" : "true");
  if (options.sample_sentences > 0)
    args += " --input_sentence_size=" + std::to_string(options.sample_sentences) +
            " --shuffle_input_sentence=true";
  return args;
}

std::string explain_training_failure(const std::string& message, int64_t vocab_size) {
  static const std::regex too_high(R"(Vocabulary size too high.*<= (\d+))");
  std::smatch limit;
  if (std::regex_search(message, limit, too_high))
    return "vocabulary size " + std::to_string(vocab_size) +
           " is too large for this training data, which supports at most " + limit[1].str() +
           " tokens; choose a smaller --vocab";
  return "SentencePiece training failed: " + readable(message);
}

}  // namespace

struct SentencePieceBpeTokenizer::Model {
  const SentencePieceModule* module = nullptr;
  void* handle = nullptr;
  std::string serialized;
  std::vector<std::string> pieces;  // by id; the texts never change, so cache them once

  ~Model() {
    if (handle != nullptr) module->unload(handle);
  }
};

SentencePieceBpeTokenizer SentencePieceBpeTokenizer::train(
    const std::vector<std::string>& sentences, int64_t vocab_size,
    const BpeTrainingOptions& options) {
  if (vocab_size <= kSpecialTokenCount || vocab_size > INT32_MAX)
    throw Error(kSubject, "vocabulary size " + std::to_string(vocab_size) +
                              " must leave room for tokens beyond the " +
                              std::to_string(kSpecialTokenCount) + " special ones");
  std::vector<const char*> data;
  std::vector<size_t> lengths;
  size_t longest = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    check_training_sentence(sentences[i], i);
    if (sentences[i].empty()) continue;
    data.push_back(sentences[i].data());
    lengths.push_back(sentences[i].size());
    longest = std::max(longest, sentences[i].size());
  }
  if (data.empty()) throw Error(kSubject, "no training sequence to learn a vocabulary from");

  const auto& module = SentencePieceModule::instance();
  std::string args = training_arguments(vocab_size, longest, options);
  char* model = nullptr;
  size_t model_size = 0;
  char* error = nullptr;
  if (module.train(data.data(), lengths.data(), data.size(), args.c_str(), options.seed, &model,
                   &model_size, &error) != 0)
    throw Error(kSubject, explain_training_failure(module.take_error(error), vocab_size));
  std::string serialized(model, model_size);
  module.free(model);
  return SentencePieceBpeTokenizer(std::move(serialized));
}

SentencePieceBpeTokenizer::SentencePieceBpeTokenizer(std::string serialized_model) {
  const auto& module = SentencePieceModule::instance();
  auto model = std::make_shared<Model>();
  model->module = &module;
  model->serialized = std::move(serialized_model);
  char* error = nullptr;
  if (module.load(model->serialized.data(), model->serialized.size(), &model->handle, &error) != 0)
    throw Error(kSubject, "invalid SentencePiece model: " + readable(module.take_error(error)));
  int32_t size = module.piece_size(model->handle);
  model->pieces.reserve(static_cast<size_t>(std::max(size, 0)));
  for (int32_t id = 0; id < size; ++id) {
    size_t length = 0;
    const char* text = module.id_to_piece(model->handle, id, &length);
    model->pieces.emplace_back(text, length);
  }
  for (int64_t id = 0; id < kSpecialTokenCount; ++id) {
    if (id >= size || model->pieces[id] != kSpecialTokenTexts[id])
      throw Error(kSubject, "SentencePiece model does not have germ's special token " +
                                std::string(kSpecialTokenTexts[id]) + " at id " +
                                std::to_string(id));
  }
  model_ = std::move(model);
}

int64_t SentencePieceBpeTokenizer::vocab_size() const {
  return static_cast<int64_t>(model_->pieces.size());
}

std::vector<int64_t> SentencePieceBpeTokenizer::encode(std::string_view bases) const {
  if (bases.empty()) return {};
  std::vector<int32_t> pieces(bases.size());
  size_t count = 0;
  char* error = nullptr;
  if (model_->module->encode(model_->handle, bases.data(), bases.size(), pieces.data(),
                             pieces.size(), &count, &error) != 0)
    throw Error(kSubject,
                "SentencePiece encoding failed: " + readable(model_->module->take_error(error)));
  return std::vector<int64_t>(pieces.begin(), pieces.begin() + static_cast<ptrdiff_t>(count));
}

std::string SentencePieceBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  return decode_with(ids, vocab_size(),
                     [this](int64_t id) -> const std::string& { return model_->pieces[id]; });
}

std::string SentencePieceBpeTokenizer::token_text(int64_t id) const {
  if (id < 0 || id >= vocab_size()) throw_id_out_of_range(id, vocab_size());
  return model_->pieces[static_cast<size_t>(id)];
}

int64_t SentencePieceBpeTokenizer::token_id(std::string_view text) const {
  return model_->module->piece_to_id(model_->handle, text.data(), text.size());
}

std::string SentencePieceBpeTokenizer::serialize() const {
  return nlohmann::json{{"kind", kind()},
                        {"vocab_size", vocab_size()},
                        {"model", util::base64_encode(model_->serialized)}}
      .dump();
}

const std::string& SentencePieceBpeTokenizer::serialized_model() const {
  return model_->serialized;
}

}  // namespace germ::tokenize
