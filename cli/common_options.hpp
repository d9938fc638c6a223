#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace germ::cli {

// Options spelled the same in every subcommand.
struct CommonOptions {
  std::string output = "-";
  int threads = 0;
  std::string device = "auto";
  uint64_t seed = 42;
  int verbose = 0;
  bool quiet = false;
  std::string region;
};

enum CommonFlag : unsigned {
  kOutput = 1u << 0,
  kThreads = 1u << 1,
  kDevice = 1u << 2,
  kSeed = 1u << 3,
  kVerbosity = 1u << 4,
  kRegion = 1u << 5,
  kAllCommon = 0xffu,
};

void add_common_options(CLI::App& app, CommonOptions& options, unsigned flags);

// --dist-timeout of the commands that train data-parallel (docs/distributed.md).
void add_distributed_options(CLI::App& app, double& timeout_seconds);

// Applies threads and verbosity, and warns about the reference BLAS.
void apply_common_options(const CommonOptions& options);

// Parses argv with CLI11 and runs `body`, turning every failure into the germ error
// convention: "germ <command>: <file>: <problem>" on stderr and a non-zero exit.
int run_command(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

// argv joined with spaces, as recorded in a model file's provenance.
std::string command_line(int argc, char** argv);

}  // namespace germ::cli
