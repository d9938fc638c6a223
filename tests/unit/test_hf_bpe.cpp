// The "hf-bpe" tokenizer on hand-written tokenizer.json files whose encodings are worked out
// by hand from the `tokenizers` rules (lowest merge rank first, leftmost on ties).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenize/hf_bpe_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::tokenize {
namespace {

using nlohmann::json;

// ids: 0-4 specials, A=5 C=6 G=7 T=8 N=9, then one id per merge result in order.
json tokenizer_file(const std::vector<std::string>& merges) {
  json vocab = json::object();
  std::vector<std::string> tokens = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "A", "C", "G", "T", "N"};
  for (const auto& merge : merges) {
    std::string joined = merge.substr(0, merge.find(' ')) + merge.substr(merge.find(' ') + 1);
    if (std::find(tokens.begin(), tokens.end(), joined) == tokens.end()) tokens.push_back(joined);
  }
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  return {{"version", "1.0"},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "Whitespace"}}},
          {"post_processor", nullptr},
          {"model", {{"type", "BPE"}, {"unk_token", "[UNK]"}, {"fuse_unk", false}, {"vocab", vocab}, {"merges", merges}}}};
}

HfBpeTokenizer make(const json& file) { return HfBpeTokenizer::from_tokenizer_json(file.dump(), "tokenizer.json"); }

TEST(HfBpeTokenizer, LowestRankMergesFirst) {
  // "C G" outranks "A C", so ACG is A + CG, not AC + G; "A CG" then completes it.
  auto t = make(tokenizer_file({"C G", "A C", "A CG"}));
  EXPECT_EQ(t.vocab_size(), 13);
  EXPECT_EQ(t.encode("ACG"), (std::vector<int64_t>{t.token_id("ACG")}));
  EXPECT_EQ(t.encode("ACT"), (std::vector<int64_t>{t.token_id("AC"), 8}));
  EXPECT_EQ(t.encode("CGAC"), (std::vector<int64_t>{t.token_id("CG"), t.token_id("AC")}));
  auto without_completion = make(tokenizer_file({"C G", "A C"}));
  EXPECT_EQ(without_completion.encode("ACG"), (std::vector<int64_t>{5, without_completion.token_id("CG")}));
}

TEST(HfBpeTokenizer, OverlappingPairsMergeLeftmostFirst) {
  auto t = make(tokenizer_file({"A A", "AA AA"}));
  const int64_t aa = t.token_id("AA"), aaaa = t.token_id("AAAA");
  EXPECT_EQ(t.encode("AAA"), (std::vector<int64_t>{aa, 5}));
  EXPECT_EQ(t.encode("AAAA"), (std::vector<int64_t>{aaaa}));
  EXPECT_EQ(t.encode("AAAAA"), (std::vector<int64_t>{aaaa, 5}));
  EXPECT_EQ(t.decode(t.encode("AAAAAAA")), "AAAAAAA");
}

TEST(HfBpeTokenizer, UnknownCharactersAndWords) {
  json file = tokenizer_file({"A C", "G T"});
  auto t = make(file);
  const int64_t ac = t.token_id("AC"), gt = t.token_id("GT");
  // X is a word character without a token: [UNK], and it blocks merges across it.
  EXPECT_EQ(t.encode("AXC"), (std::vector<int64_t>{5, kUnkId, 6}));
  EXPECT_EQ(t.encode("ACXXGT"), (std::vector<int64_t>{ac, kUnkId, kUnkId, gt}));
  // Whitespace splits words and vanishes; punctuation runs are words of their own.
  EXPECT_EQ(t.encode("A C GT"), (std::vector<int64_t>{5, 6, gt}));
  EXPECT_EQ(t.encode("AC-GT"), (std::vector<int64_t>{ac, kUnkId, gt}));
  EXPECT_EQ(t.encode(""), std::vector<int64_t>{});
  file["model"]["fuse_unk"] = true;
  EXPECT_EQ(make(file).encode("ACXXGT"), (std::vector<int64_t>{ac, kUnkId, gt}));
  file["pre_tokenizer"] = nullptr;  // one word: the space itself is an unknown character
  EXPECT_EQ(make(file).encode("AC GT"), (std::vector<int64_t>{ac, kUnkId, gt}));
}

TEST(HfBpeTokenizer, ArrayMergesAndIgnoreMerges) {
  json file = tokenizer_file({"A C", "AC G"});
  file["model"]["merges"] = json::array({json::array({"A", "C"}), json::array({"AC", "G"})});
  auto t = make(file);
  EXPECT_EQ(t.encode("ACGT"), (std::vector<int64_t>{t.token_id("ACG"), 8}));
  // ignore_merges: a whole word in the vocabulary is one token even without a merge path.
  file["model"]["vocab"]["GGG"] = 12;
  file["model"]["ignore_merges"] = true;
  auto direct = make(file);
  EXPECT_EQ(direct.encode("GGG"), (std::vector<int64_t>{12}));
  EXPECT_EQ(direct.encode("GGGA"), (std::vector<int64_t>{7, 7, 7, 5}));
}

TEST(HfBpeTokenizer, SerializesAndRestoresTheSameTokenizer) {
  auto t = make(tokenizer_file({"A C", "G T", "AC GT"}));
  auto restored = tokenizer_from_json(t.serialize());
  EXPECT_EQ(restored->kind(), "hf-bpe");
  EXPECT_EQ(restored->vocab_size(), t.vocab_size());
  EXPECT_EQ(restored->encode("ACGTNACGTTT"), t.encode("ACGTNACGTTT"));
  EXPECT_EQ(restored->token_text(t.token_id("ACGT")), "ACGT");
  EXPECT_EQ(restored->decode(with_cls_sep(t.encode("ACGTNA"))), "ACGTNA");
}

void expect_refused(const json& file, const std::string& fragment) {
  try {
    make(file);
    ADD_FAILURE() << "accepted a tokenizer.json that should fail with: " << fragment;
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_EQ(message.rfind("tokenizer.json: ", 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(HfBpeTokenizer, RefusesWhatItWouldEncodeDifferently) {
  json good = tokenizer_file({"A C"});
  json f = good;
  f["pre_tokenizer"] = {{"type", "ByteLevel"}};
  expect_refused(f, "pre-tokenizer 'ByteLevel'");
  f = good;
  f["normalizer"] = {{"type", "Lowercase"}};
  expect_refused(f, "normalizer 'Lowercase'");
  f = good;
  f["model"]["vocab"]["[CLS]"] = 2;
  f["model"]["vocab"]["[SEP]"] = 1;
  expect_refused(f, "special token [CLS] must have id 1");
  f = good;
  f["model"]["merges"].push_back("G X");
  expect_refused(f, "merge 1 ('G X')");
  f = good;
  f["model"]["type"] = "WordPiece";
  expect_refused(f, "'WordPiece' is not supported");
  f = good;
  f["model"]["byte_fallback"] = true;
  expect_refused(f, "byte fallback");
  f = good;
  f["model"]["vocab"]["GG"] = 40;
  expect_refused(f, "token ids are not 0..");
  f = good;
  f["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", json::array({{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  expect_refused(f, "does not frame sequences as [CLS] $A [SEP]");
  f = good;
  f["model"]["merges"] = json::array({42});
  expect_refused(f, "merge 0 is neither");
  f = good;
  f["model"]["fuse_unk"] = "yes";
  expect_refused(f, "\"fuse_unk\" must be true or false");
  expect_refused(json::array(), "not a JSON object");
}

}  // namespace
}  // namespace germ::tokenize
