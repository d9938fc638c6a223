#pragma once
// Helpers shared by test_io.cpp and test_region.cpp.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace germ::io::testing {

inline std::string data_path(const std::string& name) {
  return std::string(GERM_TEST_DATA_DIR) + "/" + name;
}

using Contigs = std::vector<std::pair<std::string, std::string>>;

// The expected sequences, written by scripts/make_test_data.py as "name<TAB>bases" lines
// independently of the parser under test.
inline Contigs expected_contigs(const std::string& seq_file) {
  Contigs contigs;
  std::ifstream in(data_path(seq_file));
  std::string name, bases;
  while (std::getline(in, name, '\t') && std::getline(in, bases)) contigs.emplace_back(name, bases);
  return contigs;
}

// The message of the germ::Error that `action` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

inline std::filesystem::path fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("germ-io-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace germ::io::testing
