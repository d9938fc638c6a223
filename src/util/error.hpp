#pragma once
#include <stdexcept>
#include <string>

namespace germ {

// Every user-facing failure is an Error whose message is "<subject>: <problem>", where the
// subject is the file (or option) at fault. The CLI prefixes "germ <command>: " and exits 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(const std::string& subject, const std::string& problem)
      : std::runtime_error(subject.empty() ? problem : subject + ": " + problem) {}
};

// A model file that fails validation; the message always starts with "model is corrupted".
class ModelCorrupted : public Error {
 public:
  ModelCorrupted(const std::string& path, const std::string& reason)
      : Error(path, "model is corrupted: " + reason) {}
};

// The reader of stdout went away (`germ score x.fa | head`): not a failure to report. The CLI
// exits quietly with status 141 (128 + SIGPIPE), as a tool killed by SIGPIPE does.
class StdoutClosed : public Error {
 public:
  StdoutClosed() : Error("stdout", "closed by the reader") {}
};

}  // namespace germ
