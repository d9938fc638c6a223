#pragma once
#include <string>
#include <vector>

namespace germ::cli {

// A subcommand's entry point: arguments after the command name, argv[0] is "germ <name>".
using CommandFn = int (*)(int argc, char** argv);

struct Command {
  const char* name;
  const char* group;
  const char* summary;
  CommandFn run;
};

// The one table that drives `germ --help` and dispatch (see main.cpp).
const std::vector<Command>& command_table();

int run_pretrain(int argc, char** argv);
int run_finetune(int argc, char** argv);
int run_launch(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_predict(int argc, char** argv);
int run_quantize(int argc, char** argv);
int run_import(int argc, char** argv);
int run_score(int argc, char** argv);
int run_bigwig(int argc, char** argv);
int run_stats(int argc, char** argv);

}  // namespace germ::cli
