// germ: genomic foundation models on the command line. This file owns the command table
// (help and dispatch both read it) and the process-wide set-up; each command lives in its
// own cmd_*.cpp and only parses options before calling the library.
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "germ/version.hpp"
#include "util/output_file.hpp"
#include "util/runtime.hpp"
#include "version_report.hpp"

namespace germ::cli {

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {"pretrain", "Models", "train a tokenizer and an MLM encoder or a causal DNA LM", run_pretrain},
      {"finetune", "Models", "fine-tune a classifier (full, LoRA, QLoRA, LoftQ)", run_finetune},
      {"launch", "Models", "run pretrain/finetune as N data-parallel processes", run_launch},
      {"eval", "Models", "evaluate a classifier (MCC, F1) or a causal LM (bits/base vs Markov)", run_eval},
      {"predict", "Models", "class probabilities per sequence from a classifier", run_predict},
      {"quantize", "Models", "post-training quantization (W8A8, W6A6, W4A4)", run_quantize},
      {"import", "Models", "convert a Hugging Face DNABERT-2 / GERM checkpoint", run_import},
      {"score", "Scoring", "per-base scores of FASTA/VCF/reads as bedGraph, bigWig or VCF", run_score},
      {"bigwig", "Scoring", "bedGraph to bigWig (gathers a scattered score run)", run_bigwig},
      {"stats", "Reports", "outlier statistics, model and sequence summaries", run_stats},
  };
  return table;
}

namespace {

// Help, version and sequence-only statistics never start OpenMP work, so they skip the
// re-execution below (a quarter of a second of start-up).
bool runs_a_model(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string command = argv[1];
  if (command.empty() || command[0] == '-' || command == "help" || command == "version") return false;
  bool model_option = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return false;
    model_option |= arg == "-m" || arg.rfind("--model", 0) == 0 || arg == "--data" || arg == "--fidelity";
  }
  return command != "stats" || model_option;
}

bool asks_for_verbose_version(int argc, char** argv) {
  if (argc < 3) return false;
  const std::string first = argv[1], second = argv[2];
  return (first == "--version" || first == "version") && (second == "--verbose" || second == "-v");
}

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "\nProgram: germ (genomic foundation models, outlier-free)\n"
               "Version: %s\n\n"
               "Usage:   germ <command> [options]\n",
               kVersion);
  std::string group;
  for (const Command& command : command_table()) {
    if (group != command.group) {
      group = command.group;
      std::fprintf(out, "\n  -- %s\n", command.group);
    }
    std::fprintf(out, "     %-12s %s\n", command.name, command.summary);
  }
  std::fprintf(out,
               "\n  -- Information\n"
               "     --version    print 'germ %s' (add --verbose for library versions)\n"
               "     --help       this message; 'germ help <command>' or 'germ <command> --help' for a command\n\n",
               kVersion);
}

}  // namespace
}  // namespace germ::cli

int main(int argc, char** argv) {
  using namespace germ::cli;
  // OMP_WAIT_POLICY and the OpenBLAS core are read when the libraries load: set them and
  // re-execute once (util/runtime.hpp). `--version --verbose` does it too, so that it reports
  // the core a command would run with.
  if (runs_a_model(argc, argv) || asks_for_verbose_version(argc, argv))
    germ::util::reexecute_with_tuned_environment(argv);
  // Large tensors (attention scores) are freed and reallocated every step; glibc's default
  // returns each to the kernel (mmap/munmap, then page faults to zero it again). Measured on
  // CLM training: 5.2k -> 9.1k tokens/s and system time 10 s -> 4 s with these settings.
  // Few arenas and a moderate trim threshold: every arena keeps up to the threshold cached, and
  // pipeline stages run on whichever TBB thread is free, so many arenas would make peak memory
  // grow with run time (measured: 440 MiB at 1 Mb, 870 MiB at 5 Mb with 256 MiB and no cap).
  // `score` gets one arena: its model stage moves between TBB threads, and with two arenas each
  // came to cache one batch's activations once a second batch ran (peak RSS 431 MiB for 1 Mb,
  // 587 MiB from 1.1 Mb on; one arena: 429 MiB at 3 Mb, and no slower, measured). A user's
  // MALLOC_ARENA_MAX is left alone.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  const bool scoring = argc > 1 && std::strcmp(argv[1], "score") == 0;
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, scoring ? 1 : 2);
  // A closed stdout pipe must surface as a write error (EPIPE), not kill us before temporaries
  // are removed; run_command then exits quietly with 141, as if killed by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  germ::util::remove_temporaries_on_signal();
  if (argc < 2) {
    print_usage(stderr);
    return 1;
  }
  const std::string first = argv[1];
  if (first == "help" && argc > 2) {  // `germ help score` = `germ score --help`, as in bcftools
    for (const Command& command : command_table()) {
      if (argv[2] != std::string(command.name)) continue;
      std::string program = std::string("germ ") + command.name, help = "--help";
      char* help_argv[] = {program.data(), help.data(), nullptr};
      return command.run(2, help_argv);
    }
    std::fprintf(stderr, "germ help: unknown command '%s' (see 'germ --help')\n", argv[2]);
    return 1;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(stdout);
    return 0;
  }
  if (first == "--version" || first == "version") {
    if (asks_for_verbose_version(argc, argv))
      std::fputs(library_versions().c_str(), stdout);
    else
      std::printf("germ %s\n", germ::kVersion);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  for (const Command& command : command_table()) {
    if (first == command.name) {
      std::string program = std::string("germ ") + command.name;
      argv[1] = program.data();
      return command.run(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "germ: unknown command '%s' (see 'germ --help')\n", first.c_str());
  return 1;
}
