#include "commands.hpp"
#include "common_options.hpp"

namespace germ::cli {

int run_score(int argc, char** argv) {
  CLI::App app{"germ score", "germ score"};
  CommonOptions common;
  add_common_options(app, common, kAllCommon);
  return run_command(app, argc, argv, [&] { return not_implemented("score"); });
}

}  // namespace germ::cli
