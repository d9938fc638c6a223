#include "tokenize/sentencepiece_module.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "germ/version.hpp"
#include "util/error.hpp"

namespace germ::tokenize {
namespace {

namespace fs = std::filesystem;

template <typename Function>
void resolve(void* library, const std::string& path, const char* symbol, Function& target) {
  void* address = dlsym(library, symbol);
  if (address == nullptr) {
    dlclose(library);
    throw Error(path, std::string("not a germ SentencePiece module: missing symbol ") + symbol);
  }
  target = reinterpret_cast<Function>(address);
}

std::string joined(const std::vector<std::string>& parts) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

}  // namespace

std::vector<std::string> SentencePieceModule::search_paths() {
  if (const char* explicit_path = std::getenv("GERM_SENTENCEPIECE_MODULE");
      explicit_path != nullptr && *explicit_path != '\0')
    return {explicit_path};
  std::vector<std::string> paths{(fs::path(kInstallModuleDir) / kFileName).string()};
  std::error_code error;
  fs::path executable = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    paths.push_back((executable.parent_path() / kFileName).string());
    paths.push_back((executable.parent_path() / ".." / "lib" / "germ" / kFileName).string());
  }
  paths.push_back((fs::path(kBuildModuleDir) / kFileName).string());
  return paths;
}

SentencePieceModule SentencePieceModule::open(const std::vector<std::string>& candidates) {
  std::string found;
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) {
      found = candidate;
      break;
    }
  }
  if (found.empty())
    throw Error(kFileName, "SentencePiece module not found (searched: " + joined(candidates) +
                               "); set GERM_SENTENCEPIECE_MODULE to its full path");

  // DEEPBIND: the module's references resolve inside its own dependency tree first, so
  // SentencePiece uses its bundled protobuf even though LibTorch's is already loaded.
  void* library = dlopen(found.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (library == nullptr) {
    const char* reason = dlerror();
    throw Error(found, std::string("cannot load the SentencePiece module: ") +
                           (reason != nullptr ? reason : "unknown dlopen failure"));
  }
  germ_spm_abi_version_fn abi_version = nullptr;
  resolve(library, found, "germ_spm_abi_version", abi_version);
  if (int version = abi_version(); version != GERM_SPM_ABI_VERSION) {
    dlclose(library);
    throw Error(found, "SentencePiece module has interface version " + std::to_string(version) +
                           " but this germ expects " + std::to_string(GERM_SPM_ABI_VERSION) +
                           " (a stale installation?)");
  }
  SentencePieceModule module;
  module.path = found;
  resolve(library, found, "germ_spm_train", module.train);
  resolve(library, found, "germ_spm_load", module.load);
  resolve(library, found, "germ_spm_unload", module.unload);
  resolve(library, found, "germ_spm_encode", module.encode);
  resolve(library, found, "germ_spm_piece_size", module.piece_size);
  resolve(library, found, "germ_spm_id_to_piece", module.id_to_piece);
  resolve(library, found, "germ_spm_piece_to_id", module.piece_to_id);
  resolve(library, found, "germ_spm_free", module.free);
  // Never dlclose'd: tokenizers holding model handles may outlive any particular scope.
  return module;
}

const SentencePieceModule& SentencePieceModule::instance() {
  static const SentencePieceModule module = open(search_paths());
  return module;
}

std::string SentencePieceModule::take_error(char* error) const {
  if (error == nullptr) return "unknown SentencePiece failure";
  std::string message(error);
  free(error);
  return message;
}

}  // namespace germ::tokenize
