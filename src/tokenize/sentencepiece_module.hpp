#pragma once
#include <string>
#include <vector>

#include "tokenize/sentencepiece_module_abi.hpp"

namespace germ::tokenize {

// libgerm_sentencepiece.so, loaded with RTLD_DEEPBIND so that SentencePiece binds to the
// protobuf it bundles and LibTorch's libprotobuf never sees it (linking both into one
// executable crashes at start-up). See docs/tokenizers.md.
struct SentencePieceModule {
  static constexpr const char* kFileName = "libgerm_sentencepiece.so";

  // The process-wide module, opened on first use from search_paths(). A failed attempt is
  // retried on the next call.
  static const SentencePieceModule& instance();
  // Where the module is looked for: $GERM_SENTENCEPIECE_MODULE alone when set (an explicit
  // choice is never silently replaced); otherwise the install dir, the executable's dir and
  // its ../lib/germ, then the build dir.
  static std::vector<std::string> search_paths();
  // Opens the first candidate that exists (no caching). Throws germ::Error naming the
  // candidates when none exists, or the file when it is not a compatible module.
  static SentencePieceModule open(const std::vector<std::string>& candidates);

  // Frees a module-allocated error message and returns it as a string.
  std::string take_error(char* error) const;

  std::string path;
  germ_spm_train_fn train = nullptr;
  germ_spm_load_fn load = nullptr;
  germ_spm_unload_fn unload = nullptr;
  germ_spm_encode_fn encode = nullptr;
  germ_spm_piece_size_fn piece_size = nullptr;
  germ_spm_id_to_piece_fn id_to_piece = nullptr;
  germ_spm_piece_to_id_fn piece_to_id = nullptr;
  germ_spm_free_fn free = nullptr;
};

}  // namespace germ::tokenize
