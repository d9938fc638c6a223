// germ launch: N local processes of one germ command as a data-parallel job, with the
// environment torchrun would set (docs/distributed.md). Kept in cli/ because it is process
// plumbing around the germ binary itself, not library work.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "common_options.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {

constexpr int kMaxRanks = 256;
pid_t g_ranks[kMaxRanks];
int g_rank_count = 0;
volatile std::sig_atomic_t g_signal = 0;

void forward_signal(int signal) {
  g_signal = signal;
  for (int i = 0; i < g_rank_count; ++i)
    if (g_ranks[i] > 0) ::kill(g_ranks[i], signal);
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("--port", std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  if (port < 0) throw Error("--port", "no free loopback port found; pass one with --port");
  return port;
}

bool sets_threads(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "-@" || a.rfind("-@", 0) == 0 || a == "--threads" || a.rfind("--threads=", 0) == 0;
  });
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

[[noreturn]] void exec_rank(int rank, int ranks, const std::string& address, int port,
                            const std::vector<std::string>& command) {
  // A launcher that dies (even by SIGKILL) must not leave ranks training without it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(ranks).c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", std::to_string(ranks).c_str(), 1);
  ::setenv("MASTER_ADDR", address.c_str(), 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv;
  std::string program = "germ";
  argv.push_back(program.data());
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "germ launch: rank %d: cannot start germ: %s\n", rank, std::strerror(errno));
  ::_exit(127);
}

// Waits for every rank; the first failure stops the others (SIGTERM, then SIGKILL after `grace`).
int supervise(double grace_seconds) {
  int running = g_rank_count, result = 0;
  bool stopping = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, stopping ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {
      if (std::chrono::steady_clock::now() > stop_deadline)
        for (int i = 0; i < g_rank_count; ++i)
          if (g_ranks[i] > 0) ::kill(g_ranks[i], SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int rank = static_cast<int>(std::find(g_ranks, g_ranks + g_rank_count, pid) - g_ranks);
    if (rank == g_rank_count) continue;
    g_ranks[rank] = -1;
    --running;
    const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (failed && !stopping) {
      result = g_signal ? 128 + g_signal : std::max(1, exit_code(status));
      if (!g_signal)
        std::fprintf(stderr, "germ launch: rank %d (pid %d) %s; stopping the other %d rank(s)\n", rank,
                     static_cast<int>(pid), describe(status).c_str(), running);
      stopping = true;
      stop_deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(grace_seconds * 1000));
      for (int i = 0; i < g_rank_count; ++i)
        if (g_ranks[i] > 0) ::kill(g_ranks[i], SIGTERM);
    }
  }
  return result;
}

}  // namespace

int run_launch(int argc, char** argv) {
  CLI::App app{"Run a germ command as N local processes of one data-parallel job (Gloo on CPU,\n"
               "NCCL on GPUs), with the variables torchrun sets: RANK, LOCAL_RANK, WORLD_SIZE,\n"
               "MASTER_ADDR, MASTER_PORT. Signals are forwarded to every rank; when one rank fails,\n"
               "the others are stopped and launch exits non-zero. Without -@ in the command, each\n"
               "rank gets an equal share of the cores. Clusters: torchrun or srun (docs/distributed.md).\n\n"
               "Examples:\n"
               "  germ launch -n 2 -- pretrain --objective clm --batch-size 32 -o clm.safetensors genome.fa\n"
               "  germ launch -n 4 -- finetune --base enc.safetensors --data tasks/prom -o prom.safetensors",
               "germ launch"};
  int ranks = 2, port = 0;
  double grace = 10;
  std::string address = "127.0.0.1";
  std::vector<std::string> command;
  app.add_option("-n,--nproc", ranks, "Processes (ranks) to start")->capture_default_str();
  app.add_option("--port", port, "MASTER_PORT for the rendezvous (default: a free port)");
  app.add_option("--master-addr", address, "MASTER_ADDR (this host)")->capture_default_str();
  app.add_option("--grace", grace, "Seconds a stopped rank gets before SIGKILL")->capture_default_str();
  app.add_option("command", command, "germ command and its options, after --")->required();
  app.positionals_at_end();
  return run_command(app, argc, argv, [&] {
    if (ranks < 1 || ranks > kMaxRanks) throw Error("-n/--nproc", "must be between 1 and " + std::to_string(kMaxRanks));
    if (command.front() != "pretrain" && command.front() != "finetune")
      throw Error(command.front(), "is not a data-parallel command (use pretrain or finetune)");
    if (port == 0) port = free_loopback_port();
    if (!sets_threads(command)) {
      command.push_back("-@");
      command.push_back(std::to_string(std::max(1, util::hardware_threads() / ranks)));
    }
    std::fflush(nullptr);
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
    for (int rank = 0; rank < ranks; ++rank) {
      pid_t pid = ::fork();
      if (pid < 0) {
        forward_signal(SIGTERM);
        throw Error("fork", std::string("cannot start rank ") + std::to_string(rank) + ": " + std::strerror(errno));
      }
      if (pid == 0) exec_rank(rank, ranks, address, port, command);
      g_ranks[g_rank_count++] = pid;
    }
    return supervise(grace);
  });
}

}  // namespace germ::cli
