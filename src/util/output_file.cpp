#include "util/output_file.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace germ::util {
namespace {

// The temporaries a signal handler must remove. Only async-signal-safe things are touched in
// the handler: a fixed array, lock-free atomics, unlink(), signal() and raise(). A slot is
// claimed, filled, then published as live, so the handler never reads a half-written path.
// More than kMaxLiveTemporaries at once, or a longer path, is simply not removed on a signal.
constexpr size_t kMaxLiveTemporaries = 64;
enum SlotState : int { kFree, kFilling, kLive };
struct TemporarySlot {
  std::atomic<int> state{kFree};
  char path[PATH_MAX];
};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
TemporarySlot g_temporaries[kMaxLiveTemporaries];

int register_temporary(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (size_t i = 0; i < kMaxLiveTemporaries; ++i) {
    TemporarySlot& slot = g_temporaries[i];
    int expected = kFree;
    if (!slot.state.compare_exchange_strong(expected, kFilling)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.state.store(kLive, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void unregister_temporary(int& index) {
  if (index >= 0) g_temporaries[index].state.store(kFree, std::memory_order_release);
  index = -1;
}

extern "C" void remove_temporaries_and_reraise(int signal_number) {
  for (TemporarySlot& slot : g_temporaries)
    if (slot.state.load(std::memory_order_acquire) == kLive) ::unlink(slot.path);
  // The signal is blocked while its handler runs: it is delivered, with the default action,
  // as soon as the handler returns.
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// A target that exists and is neither a regular file nor a directory (/dev/null, /dev/stdout,
// a FIFO) is written in place: renaming a temporary onto it would replace the device node (as
// root, even /dev/null) instead of writing to it. A directory is refused before any work.
bool writes_in_place(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return false;
  if (S_ISDIR(info.st_mode)) throw Error(path, "is a directory, not an output file");
  return !S_ISREG(info.st_mode);
}

}  // namespace

void remove_temporaries_on_signal() {
  // SIGABRT too: a library's failed assertion must not leave a half-written output either.
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) {
    struct sigaction previous {};
    // A signal ignored by whoever started us (nohup, a background job) stays ignored.
    if (::sigaction(signal_number, nullptr, &previous) != 0 || previous.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_handler = remove_temporaries_and_reraise;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal_number, &action, nullptr);
  }
}

size_t live_temporary_count() {
  size_t count = 0;
  for (const TemporarySlot& slot : g_temporaries) count += slot.state.load() == kLive;
  return count;
}

std::string temporary_name_for(const std::string& final_path) {
  static std::atomic<unsigned> counter{0};
  std::string dir = ".";
  std::string base = final_path;
  auto slash = final_path.find_last_of('/');
  if (slash != std::string::npos) {
    dir = final_path.substr(0, slash == 0 ? 1 : slash);
    base = final_path.substr(slash + 1);
  }
  std::ostringstream name;
  name << dir << (dir.back() == '/' ? "" : "/") << "." << base << ".germ-tmp." << ::getpid() << "."
       << counter++;
  return name.str();
}

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw Error("output", "empty output file name");
  if (is_stdout()) {
    temp_path_ = "-";
    stream_ = stdout;
    return;
  }
  in_place_ = writes_in_place(path_);
  temp_path_ = in_place_ ? path_ : temporary_name_for(path_);
  if (!in_place_) signal_slot_ = register_temporary(temp_path_);
  stream_ = std::fopen(temp_path_.c_str(), "wb");
  if (!stream_) {
    int saved = errno;
    unregister_temporary(signal_slot_);
    throw Error(path_, std::string("cannot create: ") + std::strerror(saved));
  }
}

OutputFile::~OutputFile() {
  if (committed_ || is_stdout()) return;
  if (stream_) std::fclose(stream_);
  if (!in_place_) std::remove(temp_path_.c_str());
  unregister_temporary(signal_slot_);
}

void OutputFile::fail(const std::string& problem) {
  if (is_stdout() && errno == EPIPE) throw StdoutClosed();
  throw Error(is_stdout() ? std::string("stdout") : path_, problem);
}

void OutputFile::write(std::string_view data) {
  if (committed_) fail("write after the file was closed");
  if (data.empty()) return;
  if (std::fwrite(data.data(), 1, data.size(), stream_) != data.size())
    fail(std::string("write failed: ") + std::strerror(errno));
}

void OutputFile::commit() {
  if (committed_) return;
  if (std::fflush(stream_) != 0 || std::ferror(stream_))
    fail(std::string("write failed: ") + std::strerror(errno));
  if (is_stdout()) {
    committed_ = true;
    return;
  }
  if (::fsync(::fileno(stream_)) != 0 && errno != EINVAL)
    fail(std::string("sync failed: ") + std::strerror(errno));
  int closed = std::fclose(stream_);
  stream_ = nullptr;
  if (closed != 0) fail(std::string("close failed: ") + std::strerror(errno));
  if (!in_place_ && std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail(std::string("cannot rename temporary file into place: ") + std::strerror(errno));
  committed_ = true;
  unregister_temporary(signal_slot_);
}

TemporaryPath::TemporaryPath(std::string final_path)
    : final_path_(std::move(final_path)), in_place_(writes_in_place(final_path_)) {
  temp_path_ = in_place_ ? final_path_ : temporary_name_for(final_path_);
  if (!in_place_) signal_slot_ = register_temporary(temp_path_);
}

TemporaryPath::~TemporaryPath() {
  if (!committed_ && !in_place_) std::remove(temp_path_.c_str());
  unregister_temporary(signal_slot_);
}

void TemporaryPath::commit() {
  if (!in_place_ && std::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    throw Error(final_path_, std::string("cannot rename temporary file into place: ") +
                                 std::strerror(errno));
  committed_ = true;
  unregister_temporary(signal_slot_);
}

void write_file_atomically(const std::string& path, std::string_view data) {
  OutputFile out(path);
  out.write(data);
  out.commit();
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path, "read failed");
  return buffer.str();
}

}  // namespace germ::util
