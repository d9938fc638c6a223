#include "commands.hpp"
#include "common_options.hpp"

namespace germ::cli {

int run_pretrain(int argc, char** argv) {
  CLI::App app{"germ pretrain", "germ pretrain"};
  CommonOptions common;
  add_common_options(app, common, kAllCommon);
  return run_command(app, argc, argv, [&] { return not_implemented("pretrain"); });
}

}  // namespace germ::cli
