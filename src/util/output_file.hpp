#pragma once
#include <cstdio>
#include <string>
#include <string_view>

namespace germ::util {

// A file that appears under its final name only when complete: data goes to a temporary
// file beside the target and commit() renames it. An OutputFile destroyed without commit()
// (an error, an exception, an early return) removes the temporary, and so does SIGINT/SIGTERM/
// SIGHUP/SIGABRT once remove_temporaries_on_signal() ran, so a partial result never looks like a
// finished one. "-" writes to stdout; commit() then flushes and
// reports write errors (full disk, closed pipe) instead of losing them. An existing device or
// FIFO (/dev/null, /dev/full, a named pipe) is written in place; a directory is an error.
class OutputFile {
 public:
  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view data);
  void commit();

  bool is_stdout() const { return path_ == "-"; }
  const std::string& path() const { return path_; }
  // Where bytes go before commit(): the temporary file, or "-".
  const std::string& staging_path() const { return temp_path_; }
  std::FILE* stream() { return stream_; }

 private:
  void fail(const std::string& problem);
  std::string path_;
  std::string temp_path_;
  std::FILE* stream_ = nullptr;
  bool committed_ = false;
  bool in_place_ = false;  // an existing device or FIFO: written directly, never renamed over
  int signal_slot_ = -1;
};

// Removes `path` at scope exit unless release() was called: for outputs written by libraries
// that insist on opening the file themselves (htslib, libBigWig).
class TemporaryPath {
 public:
  explicit TemporaryPath(std::string final_path);
  ~TemporaryPath();
  TemporaryPath(const TemporaryPath&) = delete;
  TemporaryPath& operator=(const TemporaryPath&) = delete;
  const std::string& path() const { return temp_path_; }
  // Renames the temporary onto the final path.
  void commit();

 private:
  std::string final_path_;
  bool in_place_ = false;
  std::string temp_path_;
  bool committed_ = false;
  int signal_slot_ = -1;
};

std::string temporary_name_for(const std::string& final_path);

// Installs handlers for SIGINT, SIGTERM, SIGHUP and SIGABRT (those not ignored when the process started)
// that unlink every live temporary of OutputFile and TemporaryPath, then re-raise the signal
// with its default action, so the exit status still says "killed by signal". Call once, early.
void remove_temporaries_on_signal();
// How many temporaries are registered for removal on a signal now (for tests).
size_t live_temporary_count();

// Writes the whole string atomically (temporary + rename).
void write_file_atomically(const std::string& path, std::string_view data);
std::string read_whole_file(const std::string& path);

}  // namespace germ::util
