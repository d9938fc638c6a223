#include "util/output_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace germ::util {

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
  temp_path_ = temporary_name_for(path_);
  stream_ = std::fopen(temp_path_.c_str(), "wb");
  if (!stream_) throw Error(path_, std::string("cannot create: ") + std::strerror(errno));
}

OutputFile::~OutputFile() {
  if (committed_ || is_stdout()) return;
  if (stream_) std::fclose(stream_);
  std::remove(temp_path_.c_str());
}

void OutputFile::fail(const std::string& problem) {
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
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail(std::string("cannot rename temporary file into place: ") + std::strerror(errno));
  committed_ = true;
}

TemporaryPath::TemporaryPath(std::string final_path)
    : final_path_(std::move(final_path)), temp_path_(temporary_name_for(final_path_)) {}

TemporaryPath::~TemporaryPath() {
  if (!committed_) std::remove(temp_path_.c_str());
}

void TemporaryPath::commit() {
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    throw Error(final_path_, std::string("cannot rename temporary file into place: ") +
                                 std::strerror(errno));
  committed_ = true;
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
