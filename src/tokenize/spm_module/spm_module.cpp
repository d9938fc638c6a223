// libgerm_sentencepiece.so: the only code that touches SentencePiece (and, through it, the
// protobuf-lite bundled in Debian's libsentencepiece). germ loads it with RTLD_DEEPBIND; see
// src/tokenize/sentencepiece_module_abi.hpp for the contract and docs/tokenizers.md for why.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "../sentencepiece_module_abi.hpp"

// Exported by libsentencepiece but absent from its public headers; it gates LOG(INFO), which
// includes the trainer's "Running command" banner printed before any flag is parsed.
namespace sentencepiece::logging {
int GetMinLogLevel();
void SetMinLogLevel(int level);
}  // namespace sentencepiece::logging

#define GERM_SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kSentencePieceLogError = 2;

char* copy_to_malloc(const char* data, size_t size) {
  char* copy = static_cast<char*>(std::malloc(size + 1));
  if (copy == nullptr) throw std::bad_alloc();
  if (size > 0) std::memcpy(copy, data, size);
  copy[size] = '\0';
  return copy;
}

int fail(char** error, const std::string& message) {
  if (error != nullptr) {
    *error = static_cast<char*>(std::malloc(message.size() + 1));
    if (*error != nullptr) std::memcpy(*error, message.c_str(), message.size() + 1);
  }
  return 1;
}

class BufferSentences : public sentencepiece::SentenceIterator {
 public:
  BufferSentences(const char* const* sentences, const size_t* lengths, size_t count)
      : sentences_(sentences), lengths_(lengths), count_(count) {
    load_current();
  }
  bool done() const override { return index_ >= count_; }
  void Next() override {
    ++index_;
    load_current();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load_current() {
    if (index_ < count_) current_.assign(sentences_[index_], lengths_[index_]);
  }
  const char* const* sentences_;
  const size_t* lengths_;
  size_t count_;
  size_t index_ = 0;
  std::string current_;
};

class QuietLogging {
 public:
  QuietLogging() : saved_(sentencepiece::logging::GetMinLogLevel()) {
    sentencepiece::logging::SetMinLogLevel(kSentencePieceLogError);
  }
  ~QuietLogging() { sentencepiece::logging::SetMinLogLevel(saved_); }

 private:
  int saved_;
};

// Exceptions must not cross the C boundary: they become an error message.
template <typename Body>
int guarded(char** error, const char* activity, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(error, e.what());
  } catch (...) {
    return fail(error, std::string("unknown failure in SentencePiece ") + activity);
  }
}

const sentencepiece::SentencePieceProcessor& processor(const void* handle) {
  return *static_cast<const sentencepiece::SentencePieceProcessor*>(handle);
}

}  // namespace

GERM_SPM_EXPORT int germ_spm_abi_version(void) { return GERM_SPM_ABI_VERSION; }

GERM_SPM_EXPORT int germ_spm_train(const char* const* sentences, const size_t* lengths,
                                   size_t count, const char* options, unsigned int seed,
                                   char** model, size_t* model_size, char** error) {
  return guarded(error, "training", [&] {
    QuietLogging quiet;
    sentencepiece::SetRandomGeneratorSeed(seed);
    BufferSentences iterator(sentences, lengths, count);
    std::string serialized;
    auto status = sentencepiece::SentencePieceTrainer::Train(options, &iterator, &serialized);
    if (!status.ok()) return fail(error, status.error_message());
    *model = copy_to_malloc(serialized.data(), serialized.size());
    *model_size = serialized.size();
    return 0;
  });
}

GERM_SPM_EXPORT int germ_spm_load(const char* model, size_t model_size, void** handle,
                                  char** error) {
  return guarded(error, "loading", [&] {
    auto loaded = std::make_unique<sentencepiece::SentencePieceProcessor>();
    auto status = loaded->LoadFromSerializedProto(std::string_view(model, model_size));
    if (!status.ok()) return fail(error, status.error_message());
    *handle = loaded.release();
    return 0;
  });
}

GERM_SPM_EXPORT void germ_spm_unload(void* handle) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(handle);
}

GERM_SPM_EXPORT int germ_spm_encode(const void* handle, const char* text, size_t length,
                                    int32_t* ids, size_t capacity, size_t* count, char** error) {
  return guarded(error, "encoding", [&] {
    std::vector<int> encoded;
    auto status = processor(handle).Encode(std::string_view(text, length), &encoded);
    if (!status.ok()) return fail(error, status.error_message());
    if (encoded.size() > capacity) return fail(error, "encoding longer than the caller buffer");
    std::copy(encoded.begin(), encoded.end(), ids);
    *count = encoded.size();
    return 0;
  });
}

GERM_SPM_EXPORT int32_t germ_spm_piece_size(const void* handle) {
  return processor(handle).GetPieceSize();
}

GERM_SPM_EXPORT const char* germ_spm_id_to_piece(const void* handle, int32_t id, size_t* length) {
  const auto& sp = processor(handle);
  if (id < 0 || id >= sp.GetPieceSize()) return nullptr;
  const std::string& piece = sp.IdToPiece(id);
  *length = piece.size();
  return piece.c_str();
}

GERM_SPM_EXPORT int32_t germ_spm_piece_to_id(const void* handle, const char* piece, size_t length) {
  return processor(handle).PieceToId(std::string_view(piece, length));
}

GERM_SPM_EXPORT void germ_spm_free(void* memory) { std::free(memory); }
