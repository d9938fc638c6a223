#include "common_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include "io/htslib_settings.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {
// What a shell reports for a process killed by SIGPIPE (128 + 13), as samtools would exit.
constexpr int kStdoutClosedStatus = 141;
}  // namespace

void add_common_options(CLI::App& app, CommonOptions& o, unsigned flags) {
  if (flags & kOutput) app.add_option("-o,--output", o.output, "Output file ('-' = stdout)");
  if (flags & kThreads)
    // Checked by util::configure_threads, whose message is one readable line.
    app.add_option("-@,--threads", o.threads, "Threads in total (0 = all cores; at most the cores)");
  if (flags & kDevice)
    app.add_option("--device", o.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  if (flags & kSeed) app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  if (flags & kVerbosity) {
    app.add_flag("-v,--verbose", o.verbose, "More messages on stderr (repeatable)");
    app.add_flag("-q,--quiet", o.quiet, "No progress or informational messages");
  }
  if (flags & kRegion)
    app.add_option("-r,--region", o.region, "Region chr:beg-end (1-based, inclusive)");
}

void add_distributed_options(CLI::App& app, double& timeout_seconds) {
  app.add_option("--dist-timeout", timeout_seconds,
                 "Data parallel (germ launch, torchrun, srun): seconds to wait for the other processes "
                 "before failing")
      ->capture_default_str();
}

void apply_common_options(const CommonOptions& o) {
  util::Progress::set_global_quiet(o.quiet);
  io::set_htslib_messages(o.verbose > 0);
  util::configure_threads(o.threads);
  util::warn_if_reference_blas();
}

int run_command(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const std::string prefix = app.get_name() + ": ";
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s%s (see '%s --help')\n", prefix.c_str(), e.what(),
                 app.get_name().c_str());
    return 1;
  }
  try {
    int rc = body();
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      if (errno == EPIPE) return kStdoutClosedStatus;
      std::fprintf(stderr, "%sstdout: write failed: %s\n", prefix.c_str(), std::strerror(errno));
      return 1;
    }
    return rc;
  } catch (const StdoutClosed&) {
    return kStdoutClosedStatus;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%sout of memory\n", prefix.c_str());
  } catch (const std::exception& e) {
    // LibTorch errors carry a multi-line backtrace; the first line is the message.
    std::string message = e.what();
    message = message.substr(0, message.find('\n'));
    // LibTorch reports a failed allocation as a c10::Error, not std::bad_alloc.
    if (message.find("can't allocate memory") != std::string::npos)
      std::fprintf(stderr, "%sout of memory (%s)\n", prefix.c_str(), message.c_str());
    else
      std::fprintf(stderr, "%sinternal error: %s\n", prefix.c_str(), message.c_str());
  }
  return 1;
}

std::string command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

}  // namespace germ::cli
