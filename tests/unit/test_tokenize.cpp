#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "germ/version.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "tokenize/sentencepiece_bpe_tokenizer.hpp"
#include "tokenize/sentencepiece_module.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

using namespace germ;
using namespace germ::tokenize;

namespace {

constexpr const char* kMotif = "GATTACAGGCCTTAGC";

std::string random_bases(std::mt19937& rng, size_t length) {
  static constexpr char kBases[] = "ACGT";
  std::string bases(length, 'A');
  for (auto& base : bases) base = kBases[rng() % 4];
  return bases;
}

// Random DNA with kMotif planted every ~100 bases and a sprinkle of N.
std::vector<std::string> training_corpus(unsigned seed, size_t sentences = 120,
                                         size_t length = 600) {
  std::mt19937 rng(seed);
  std::vector<std::string> corpus;
  for (size_t i = 0; i < sentences; ++i) {
    std::string sentence;
    while (sentence.size() < length) {
      sentence += random_bases(rng, 60 + rng() % 80);
      sentence += kMotif;
      if (rng() % 10 == 0) sentence += "NNNN";
    }
    corpus.push_back(sentence);
  }
  return corpus;
}

const SentencePieceBpeTokenizer& trained_bpe() {
  static const SentencePieceBpeTokenizer tokenizer =
      SentencePieceBpeTokenizer::train(training_corpus(7), 256);
  return tokenizer;
}

template <typename Callable>
std::string error_message(Callable&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no germ::Error thrown)";
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old, had_ = true;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { had_ ? (void)::setenv(name_, saved_.c_str(), 1) : (void)::unsetenv(name_); }

 private:
  const char* name_;
  std::string saved_;
  bool had_ = false;
};

}  // namespace

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(util::base64_encode(plain), encoded);
    EXPECT_EQ(util::base64_decode(encoded), plain);
  }
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int value = 0; value < 256; ++value) bytes += static_cast<char>(value);
  for (size_t cut = 0; cut < 4; ++cut) {
    std::string part = bytes.substr(cut);
    EXPECT_EQ(util::base64_decode(util::base64_encode(part)), part);
  }
}

TEST(Base64, RejectsMalformedText) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "====", "Zm9v\n", "Zm9 v", "Zm=v",
                          "Z!==", "=Zg=", "Zg==Zg==", "Zh==", "Zm9="}) {
    std::string message = error_message([&] { util::base64_decode(bad); });
    EXPECT_EQ(message.rfind("base64: ", 0), 0u) << bad << " -> " << message;
  }
}

TEST(NucleotideTokenizer, FixedIdsAndVocabulary) {
  NucleotideTokenizer tokenizer;
  EXPECT_EQ(tokenizer.kind(), "nucleotide");
  EXPECT_EQ(tokenizer.vocab_size(), 10);
  EXPECT_EQ(tokenizer.encode("ACGTN"), (std::vector<int64_t>{5, 6, 7, 8, 9}));
  const char* specials[] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
  for (int64_t id = 0; id < 5; ++id) EXPECT_EQ(tokenizer.token_text(id), specials[id]);
  EXPECT_EQ(tokenizer.token_text(7), "G");
  EXPECT_EQ(kUnkId, 0);
  EXPECT_EQ(kClsId, 1);
  EXPECT_EQ(kSepId, 2);
  EXPECT_EQ(kPadId, 3);
  EXPECT_EQ(kMaskId, 4);
}

TEST(NucleotideTokenizer, UnnormalisedCharactersBecomeUnknown) {
  NucleotideTokenizer tokenizer;
  EXPECT_EQ(tokenizer.encode("AaX-\xff"), (std::vector<int64_t>{5, 0, 0, 0, 0}));
}

TEST(NucleotideTokenizer, RoundTripAndBufferEncoding) {
  NucleotideTokenizer tokenizer;
  std::mt19937 rng(3);
  std::string bases = random_bases(rng, 5000) + "NNN";
  auto ids = tokenizer.encode(bases);
  EXPECT_EQ(tokenizer.decode(ids), bases);
  std::vector<int64_t> buffer(bases.size(), -1);
  NucleotideTokenizer::encode_into(bases, buffer.data());
  EXPECT_EQ(buffer, ids);
}

TEST(NucleotideTokenizer, DecodeDropsFramingAndRejectsUnknownIds) {
  NucleotideTokenizer tokenizer;
  EXPECT_EQ(tokenizer.decode({kClsId, 5, kMaskId, 6, kUnkId, 8, kPadId, kSepId}), "ACNT");
  EXPECT_NE(error_message([&] {
              tokenizer.decode({5, 10});
            }).find("token id 10"),
            std::string::npos);
  EXPECT_NE(error_message([&] { tokenizer.token_text(-1); }).find("outside the vocabulary"),
            std::string::npos);
}

TEST(Tokenizer, WithClsSepFramesIds) {
  EXPECT_EQ(with_cls_sep({7, 8}), (std::vector<int64_t>{kClsId, 7, 8, kSepId}));
  EXPECT_EQ(with_cls_sep({}), (std::vector<int64_t>{kClsId, kSepId}));
}

TEST(Tokenizer, NucleotideSerializationRoundTrips) {
  auto restored = tokenizer_from_json(NucleotideTokenizer().serialize());
  EXPECT_EQ(restored->kind(), "nucleotide");
  EXPECT_EQ(restored->encode("GATTACA"), NucleotideTokenizer().encode("GATTACA"));
}

TEST(Tokenizer, CorruptMetadataIsAnError) {
  std::string good_model = util::base64_encode(trained_bpe().serialized_model());
  const std::pair<std::string, const char*> cases[] = {
      {"{not json", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"vocab_size":10})", "\"kind\""},
      {R"({"kind":"wordpiece"})", "unknown tokenizer kind"},
      {R"({"kind":"nucleotide","vocab_size":11})", "does not match"},
      {R"({"kind":"sentencepiece-bpe"})", "\"model\""},
      {R"({"kind":"sentencepiece-bpe","model":"@@@@"})", "base64"},
      {R"({"kind":"sentencepiece-bpe","model":")" + util::base64_encode("garbage!") + "\"}",
       "invalid SentencePiece model"},
      {R"({"kind":"sentencepiece-bpe","model":")" +
           good_model.substr(0, good_model.size() / 2 / 4 * 4) + "\"}",
       "invalid SentencePiece model"},
      {R"({"kind":"sentencepiece-bpe","vocab_size":300,"model":")" + good_model + "\"}",
       "does not match"},
  };
  for (const auto& [json, expected] : cases) {
    std::string message = error_message([&] { tokenizer_from_json(json); });
    EXPECT_EQ(message.rfind("tokenizer: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << json << " -> " << message;
  }
}

TEST(SentencePieceBpe, ModelWithoutGermSpecialsIsRejected) {
  std::string model = trained_bpe().serialized_model();
  size_t at = model.find("[UNK]");
  ASSERT_NE(at, std::string::npos);
  model.replace(at, 5, "[UNX]");  // same length: the protobuf still parses
  std::string message = error_message([&] { SentencePieceBpeTokenizer tokenizer(model); });
  EXPECT_EQ(message,
            "tokenizer: SentencePiece model does not have germ's special token [UNK] at id 0");
}

TEST(SentencePieceBpe, SpecialTokensHaveFixedIds) {
  const auto& tokenizer = trained_bpe();
  EXPECT_EQ(tokenizer.kind(), "sentencepiece-bpe");
  EXPECT_EQ(tokenizer.vocab_size(), 256);
  const char* specials[] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
  for (int64_t id = 0; id < 5; ++id) {
    EXPECT_EQ(tokenizer.token_text(id), specials[id]);
    EXPECT_EQ(tokenizer.token_id(specials[id]), id);
  }
  for (int64_t id = 5; id < tokenizer.vocab_size(); ++id)
    EXPECT_EQ(tokenizer.token_text(id).find_first_not_of("ACGTN"), std::string::npos) << id;
  // Specials are never produced from text, even when it spells them.
  for (int64_t id : tokenizer.encode("AC[MASK]GT[CLS]"))
    EXPECT_TRUE(id == kUnkId || id >= kSpecialTokenCount) << id;
}

TEST(SentencePieceBpe, RoundTripsUnseenSequencesWithMerges) {
  const auto& tokenizer = trained_bpe();
  std::mt19937 rng(99);
  size_t bases = 0, tokens = 0;
  for (int i = 0; i < 200; ++i) {
    std::string sequence = random_bases(rng, 1 + rng() % 700);
    if (i % 5 == 0) sequence += "NN" + random_bases(rng, 20);
    auto ids = tokenizer.encode(sequence);
    ASSERT_EQ(tokenizer.decode(ids), sequence);
    bases += sequence.size();
    tokens += ids.size();
  }
  EXPECT_GT(static_cast<double>(bases) / tokens, 2.0);
  EXPECT_TRUE(tokenizer.encode("").empty());
  std::string chromosome_chunk = random_bases(rng, 100'000);
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(chromosome_chunk)), chromosome_chunk);
}

TEST(SentencePieceBpe, FrequentMotifBecomesFewTokens) {
  const auto& tokenizer = trained_bpe();
  EXPECT_LE(tokenizer.encode(kMotif).size(), 2u);
  std::mt19937 rng(5);
  size_t random_tokens = 0;
  for (int i = 0; i < 20; ++i) random_tokens += tokenizer.encode(random_bases(rng, 16)).size();
  EXPECT_GT(random_tokens / 20.0, 3.0);
}

TEST(SentencePieceBpe, UnknownCharactersDecodeAsN) {
  auto tokenizer = SentencePieceBpeTokenizer::train(
      {std::string(200, 'A') + std::string(200, 'C') + "ACACGTGT"}, 20);
  auto ids = tokenizer.encode("ACNA");
  EXPECT_NE(std::find(ids.begin(), ids.end(), kUnkId), ids.end());
  EXPECT_EQ(tokenizer.decode(ids), "ACNA");
}

TEST(SentencePieceBpe, SerializationRestoresIdenticalEncodings) {
  const auto& tokenizer = trained_bpe();
  auto restored = tokenizer_from_json(tokenizer.serialize());
  EXPECT_EQ(restored->kind(), "sentencepiece-bpe");
  EXPECT_EQ(restored->vocab_size(), tokenizer.vocab_size());
  std::mt19937 rng(11);
  for (int i = 0; i < 50; ++i) {
    std::string sequence = random_bases(rng, 300) + kMotif;
    EXPECT_EQ(restored->encode(sequence), tokenizer.encode(sequence));
  }
  EXPECT_EQ(restored->serialize(), tokenizer.serialize());
}

TEST(SentencePieceBpe, TrainingIsDeterministic) {
  auto corpus = training_corpus(21, 150, 400);
  BpeTrainingOptions sampled;
  sampled.sample_sentences = 120;
  auto first = SentencePieceBpeTokenizer::train(corpus, 128, sampled);
  auto second = SentencePieceBpeTokenizer::train(corpus, 128, sampled);
  EXPECT_EQ(first.serialized_model(), second.serialized_model());
  EXPECT_EQ(trained_bpe().serialized_model(),
            SentencePieceBpeTokenizer::train(training_corpus(7), 256).serialized_model());
}

TEST(SentencePieceBpe, VocabularyTooLargeForCorpus) {
  std::vector<std::string> tiny{"ACGTACGTTTGACCA", "GGGACGTAC"};
  std::string message = error_message([&] { SentencePieceBpeTokenizer::train(tiny, 4096); });
  EXPECT_EQ(message.rfind("tokenizer: vocabulary size 4096 is too large", 0), 0u) << message;
  EXPECT_NE(message.find("at most"), std::string::npos) << message;
  EXPECT_NE(message.find("--vocab"), std::string::npos) << message;

  BpeTrainingOptions lenient;
  lenient.allow_smaller_vocab = true;
  auto smaller = SentencePieceBpeTokenizer::train(tiny, 4096, lenient);
  EXPECT_LT(smaller.vocab_size(), 4096);
  EXPECT_GT(smaller.vocab_size(), kSpecialTokenCount + 4);
  EXPECT_EQ(smaller.decode(smaller.encode("ACGTACGTTTGACCA")), "ACGTACGTTTGACCA");
}

TEST(SentencePieceBpe, RejectsBadTrainingInput) {
  EXPECT_NE(error_message([] {
              SentencePieceBpeTokenizer::train({"ACGT", "acgt"}, 64);
            }).find("training sentence 1"),
            std::string::npos);
  EXPECT_NE(error_message([] {
              SentencePieceBpeTokenizer::train({"", ""}, 64);
            }).find("no training sequence"),
            std::string::npos);
  EXPECT_NE(error_message([] {
              SentencePieceBpeTokenizer::train({"ACGT"}, 5);
            }).find("vocabulary size 5"),
            std::string::npos);
  EXPECT_NE(error_message([] {
              SentencePieceBpeTokenizer::train({"ACGT"}, 64, {0});
            }).find("tokenizer: SentencePiece training failed"),
            std::string::npos);
}

TEST(SentencePieceBpe, CoexistsWithLibTorch) {
  auto ids = with_cls_sep(trained_bpe().encode(kMotif));
  torch::Tensor tensor = torch::tensor(ids, torch::kLong);
  EXPECT_EQ(tensor.size(0), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(tensor[0].item<int64_t>(), kClsId);
}

TEST(SentencePieceModule, SearchOrderEndsInTheBuildTree) {
  ::unsetenv("GERM_SENTENCEPIECE_MODULE");
  auto paths = SentencePieceModule::search_paths();
  ASSERT_GE(paths.size(), 2u);
  EXPECT_EQ(paths.front(), std::string(kInstallModuleDir) + "/libgerm_sentencepiece.so");
  EXPECT_EQ(paths.back(), std::string(kBuildModuleDir) + "/libgerm_sentencepiece.so");
}

TEST(SentencePieceModule, ExplicitMissingModuleIsReported) {
  ScopedEnv env("GERM_SENTENCEPIECE_MODULE", "/nonexistent/libgerm_sentencepiece.so");
  auto paths = SentencePieceModule::search_paths();
  EXPECT_EQ(paths, std::vector<std::string>{"/nonexistent/libgerm_sentencepiece.so"});
  std::string message = error_message([&] { SentencePieceModule::open(paths); });
  EXPECT_EQ(message,
            "libgerm_sentencepiece.so: SentencePiece module not found (searched: "
            "/nonexistent/libgerm_sentencepiece.so); set GERM_SENTENCEPIECE_MODULE to its full "
            "path");
}

TEST(SentencePieceModule, NonLibraryFileIsReported) {
  auto path = std::filesystem::temp_directory_path() /
              ("germ-test-not-a-module-" + std::to_string(::getpid()) + ".so");
  std::ofstream(path) << "not an ELF file\n";
  std::string message = error_message([&] { SentencePieceModule::open({path.string()}); });
  std::filesystem::remove(path);
  EXPECT_EQ(message.rfind(path.string() + ": cannot load the SentencePiece module", 0), 0u)
      << message;
}
