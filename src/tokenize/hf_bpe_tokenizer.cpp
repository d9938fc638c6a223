#include "tokenize/hf_bpe_tokenizer.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "util/error.hpp"

namespace germ::tokenize {
namespace {

using nlohmann::json;

enum class PreTokenizer { kNone, kWhitespace, kWhitespaceSplit };

struct MergeResult {
  int64_t rank;
  int64_t merged_id;
};

uint64_t pair_key(int64_t left, int64_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
}

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
// \w of the Whitespace pre-tokenizer; non-ASCII bytes count as letters (DNA never has them).
bool is_word(unsigned char c) {
  return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  if (lead >= 0xE0) return lead < 0xF0 ? 3 : 1;
  if (lead >= 0xC0) return 2;
  return 1;
}

bool null_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty());
}

bool flag(const json& object, const char* key, const std::string& subject) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw Error(subject, std::string("model field \"") + key + "\" must be true or false");
  return it->get<bool>();
}

std::string type_of(const json& component) {
  auto it = component.find("type");
  return it != component.end() && it->is_string() ? it->get<std::string>() : "?";
}

PreTokenizer parse_pre_tokenizer(const json& root, const std::string& subject) {
  auto it = root.find("pre_tokenizer");
  if (it == root.end() || it->is_null()) return PreTokenizer::kNone;
  std::string type = type_of(*it);
  if (type == "Whitespace") return PreTokenizer::kWhitespace;
  if (type == "WhitespaceSplit") return PreTokenizer::kWhitespaceSplit;
  throw Error(subject, "pre-tokenizer '" + type + "' is not supported (germ reads Whitespace, WhitespaceSplit or none)");
}

// germ frames every sequence as [CLS] A [SEP]; a file that frames differently would give the
// model inputs it was not trained on.
void check_framing(const json& root, const std::string& subject) {
  auto it = root.find("post_processor");
  if (it == root.end() || it->is_null()) return;
  std::string type = type_of(*it);
  std::string framing;
  if (type == "TemplateProcessing" && it->contains("single") && (*it)["single"].is_array()) {
    for (const auto& piece : (*it)["single"]) {
      if (piece.contains("SpecialToken")) framing += piece["SpecialToken"].value("id", "?") + " ";
      else if (piece.contains("Sequence")) framing += "$" + piece["Sequence"].value("id", "?") + " ";
    }
  } else if (type == "BertProcessing") {
    auto special = [&](const char* key) {
      auto entry = it->find(key);
      bool named = entry != it->end() && entry->is_array() && !entry->empty() && (*entry)[0].is_string();
      return named ? (*entry)[0].get<std::string>() : std::string("?");
    };
    framing = special("cls") + " $A " + special("sep") + " ";
  }
  if (framing != "[CLS] $A [SEP] ")
    throw Error(subject, "post-processor '" + type + "' does not frame sequences as [CLS] $A [SEP], as germ does");
}

std::pair<std::string, std::string> parse_merge(const json& entry, size_t index, const std::string& subject) {
  if (entry.is_string()) {
    const std::string text = entry.get<std::string>();
    auto space = text.find(' ');
    if (space != std::string::npos && text.find(' ', space + 1) == std::string::npos)
      return {text.substr(0, space), text.substr(space + 1)};
  } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
    return {entry[0].get<std::string>(), entry[1].get<std::string>()};
  }
  throw Error(subject, "merge " + std::to_string(index) + " is neither \"a b\" nor [\"a\", \"b\"]");
}

}  // namespace

struct HfBpeTokenizer::Model {
  std::string source;  // the tokenizer.json text, kept for serialize()
  std::vector<std::string> texts;  // by id
  std::unordered_map<std::string, int64_t> ids;
  std::unordered_map<uint64_t, MergeResult> merges;
  PreTokenizer pre_tokenizer = PreTokenizer::kNone;
  bool fuse_unk = false;
  bool ignore_merges = false;
  // Ids of one-byte characters, so the per-base lookup of long sequences allocates nothing.
  std::array<int64_t, 128> ascii_ids{};

  int64_t id_of(std::string_view text) const {
    auto it = ids.find(std::string(text));
    return it == ids.end() ? kUnkId : it->second;
  }

  void encode_word(std::string_view word, std::vector<int64_t>& out) const;
};

// Symbols form a linked list over the word's characters; a heap of candidate merges, ordered
// by (rank, position), is drained lazily: an entry whose pair no longer exists is skipped. This
// is the `tokenizers` algorithm, so ties and overlapping pairs ("AAA") resolve identically.
void HfBpeTokenizer::Model::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges) {
    auto whole = ids.find(std::string(word));
    if (whole != ids.end()) {
      out.push_back(whole->second);
      return;
    }
  }
  struct Symbol {
    int64_t id;
    int64_t previous, next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (size_t at = 0; at < word.size();) {
    auto lead = static_cast<unsigned char>(word[at]);
    size_t length = std::min(utf8_length(lead), word.size() - at);
    int64_t id = lead < 0x80 ? ascii_ids[lead] : id_of(word.substr(at, length));
    at += length;
    if (id == kUnkId && fuse_unk && !symbols.empty() && symbols.back().id == kUnkId) continue;
    int64_t index = static_cast<int64_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  }
  symbols.back().next = -1;

  struct Candidate {
    int64_t rank, position, merged_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int64_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    auto it = merges.find(pair_key(symbols[left].id, symbols[symbols[left].next].id));
    if (it != merges.end()) queue.push({it->second.rank, left, it->second.merged_id});
  };
  for (int64_t i = 0; i + 1 < static_cast<int64_t>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.position];
    if (!left.alive || left.next < 0) continue;
    auto it = merges.find(pair_key(left.id, symbols[left.next].id));
    if (it == merges.end() || it->second.merged_id != top.merged_id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].previous = top.position;
    consider(left.previous);
    consider(top.position);
  }
  for (int64_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

// A function-try-block: nlohmann's type errors on odd field types become one-line errors too.
HfBpeTokenizer HfBpeTokenizer::from_tokenizer_json(const std::string& text, const std::string& subject) try {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) throw Error(subject, "not a JSON object (expected a Hugging Face tokenizer.json)");
  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) throw Error(subject, "has no \"model\" object");
  const json& model = *model_it;
  if (model.contains("type") && type_of(model) != "BPE")
    throw Error(subject, "tokenizer model '" + type_of(model) + "' is not supported (germ reads BPE)");
  if (root.contains("normalizer") && !root["normalizer"].is_null())
    throw Error(subject, "normalizer '" + type_of(root["normalizer"]) + "' is not supported (germ input is already uppercase ACGTN)");
  if (!null_or_empty(model, "continuing_subword_prefix") || !null_or_empty(model, "end_of_word_suffix"))
    throw Error(subject, "subword prefixes and word suffixes are not supported");
  if (model.contains("dropout") && !model["dropout"].is_null() && !(model["dropout"].is_number() && model["dropout"].get<double>() == 0))
    throw Error(subject, "BPE dropout is not supported (encoding would not be deterministic)");
  if (flag(model, "byte_fallback", subject)) throw Error(subject, "byte fallback is not supported");

  auto state = std::make_shared<Model>();
  state->source = text;
  state->pre_tokenizer = parse_pre_tokenizer(root, subject);
  check_framing(root, subject);
  state->fuse_unk = flag(model, "fuse_unk", subject);
  state->ignore_merges = flag(model, "ignore_merges", subject);

  auto vocab_it = model.find("vocab");
  if (vocab_it == model.end() || !vocab_it->is_object()) throw Error(subject, "model has no \"vocab\" object");
  std::unordered_map<int64_t, std::string> by_id;
  auto add_token = [&](const std::string& token, const json& id_json) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 || id_json.get<int64_t>() >= (int64_t{1} << 31))
      throw Error(subject, "token '" + token + "' has an invalid id " + id_json.dump());
    int64_t id = id_json.get<int64_t>();
    auto [existing, inserted] = by_id.emplace(id, token);
    if (!inserted && existing->second != token)
      throw Error(subject, "id " + std::to_string(id) + " is both '" + existing->second + "' and '" + token + "'");
    auto [known, fresh] = state->ids.emplace(token, id);
    if (!fresh && known->second != id) throw Error(subject, "token '" + token + "' has two ids");
  };
  for (const auto& [token, id] : vocab_it->items()) add_token(token, id);
  if (root.contains("added_tokens") && root["added_tokens"].is_array())
    for (const auto& added : root["added_tokens"])
      if (added.is_object() && added.contains("content") && added["content"].is_string() && added.contains("id"))
        add_token(added["content"].get<std::string>(), added["id"]);
  state->texts.resize(by_id.size());
  for (auto& [id, token] : by_id) {
    if (id >= static_cast<int64_t>(by_id.size()))
      throw Error(subject, "token ids are not 0.." + std::to_string(by_id.size() - 1) + " (id " + std::to_string(id) + ")");
    state->texts[id] = token;
  }
  for (int64_t id = 0; id < kSpecialTokenCount; ++id) {
    auto it = state->ids.find(kSpecialTokenTexts[id]);
    if (it == state->ids.end() || it->second != id)
      throw Error(subject, std::string("special token ") + kSpecialTokenTexts[id] + " must have id " + std::to_string(id) +
                               " (germ's fixed special ids)" +
                               (it == state->ids.end() ? ", it is missing" : ", it has " + std::to_string(it->second)));
  }
  for (int c = 0; c < 128; ++c) state->ascii_ids[c] = state->id_of(std::string(1, static_cast<char>(c)));
  auto unk = model.find("unk_token");
  if (unk == model.end() || !unk->is_string() || unk->get<std::string>() != kSpecialTokenTexts[kUnkId])
    throw Error(subject, "model.unk_token must be \"[UNK]\"");

  auto merges_it = model.find("merges");
  if (merges_it == model.end() || !merges_it->is_array()) throw Error(subject, "model has no \"merges\" array");
  for (size_t rank = 0; rank < merges_it->size(); ++rank) {
    auto [left, right] = parse_merge((*merges_it)[rank], rank, subject);
    auto left_id = state->ids.find(left), right_id = state->ids.find(right), merged = state->ids.find(left + right);
    if (left_id == state->ids.end() || right_id == state->ids.end() || merged == state->ids.end())
      throw Error(subject, "merge " + std::to_string(rank) + " ('" + left + " " + right + "') uses a token that is not in the vocabulary");
    // Like `tokenizers`, a repeated pair keeps its last rank.
    state->merges[pair_key(left_id->second, right_id->second)] = {static_cast<int64_t>(rank), merged->second};
  }
  return HfBpeTokenizer(std::move(state));
} catch (const json::exception& error) {
  throw Error(subject, std::string("malformed tokenizer.json: ") + error.what());
}

int64_t HfBpeTokenizer::vocab_size() const { return static_cast<int64_t>(model_->texts.size()); }

std::vector<int64_t> HfBpeTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 2 + 1);
  if (model_->pre_tokenizer == PreTokenizer::kNone) {
    model_->encode_word(text, ids);
    return ids;
  }
  for (size_t at = 0; at < text.size();) {
    auto c = static_cast<unsigned char>(text[at]);
    if (is_space(c)) {
      ++at;
      continue;
    }
    size_t end = at + 1;
    if (model_->pre_tokenizer == PreTokenizer::kWhitespaceSplit) {
      while (end < text.size() && !is_space(static_cast<unsigned char>(text[end]))) ++end;
    } else {
      bool word = is_word(c);
      while (end < text.size() && !is_space(static_cast<unsigned char>(text[end])) &&
             is_word(static_cast<unsigned char>(text[end])) == word)
        ++end;
    }
    model_->encode_word(text.substr(at, end - at), ids);
    at = end;
  }
  return ids;
}

std::string HfBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  return decode_with(ids, vocab_size(), [this](int64_t id) -> const std::string& { return model_->texts[id]; });
}

std::string HfBpeTokenizer::token_text(int64_t id) const {
  if (id < 0 || id >= vocab_size()) throw_id_out_of_range(id, vocab_size());
  return model_->texts[static_cast<size_t>(id)];
}

int64_t HfBpeTokenizer::token_id(std::string_view text) const { return model_->id_of(text); }
size_t HfBpeTokenizer::merge_count() const { return model_->merges.size(); }
const std::string& HfBpeTokenizer::tokenizer_json() const { return model_->source; }

std::string HfBpeTokenizer::serialize() const {
  return json{{"kind", kind()}, {"vocab_size", vocab_size()}, {"tokenizer_json", model_->source}}.dump();
}

}  // namespace germ::tokenize
