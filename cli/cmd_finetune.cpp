#include "commands.hpp"
#include "common_options.hpp"

namespace germ::cli {

int run_finetune(int argc, char** argv) {
  CLI::App app{"germ finetune", "germ finetune"};
  CommonOptions common;
  add_common_options(app, common, kAllCommon);
  return run_command(app, argc, argv, [&] { return not_implemented("finetune"); });
}

}  // namespace germ::cli
