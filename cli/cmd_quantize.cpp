#include "commands.hpp"
#include "common_options.hpp"

namespace germ::cli {

int run_quantize(int argc, char** argv) {
  CLI::App app{"germ quantize", "germ quantize"};
  CommonOptions common;
  add_common_options(app, common, kAllCommon);
  return run_command(app, argc, argv, [&] { return not_implemented("quantize"); });
}

}  // namespace germ::cli
