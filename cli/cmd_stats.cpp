#include "commands.hpp"
#include "common_options.hpp"

namespace germ::cli {

int run_stats(int argc, char** argv) {
  CLI::App app{"germ stats", "germ stats"};
  CommonOptions common;
  add_common_options(app, common, kAllCommon);
  return run_command(app, argc, argv, [&] { return not_implemented("stats"); });
}

}  // namespace germ::cli
