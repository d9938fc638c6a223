#include "util/file_sync.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace germ::util {

std::string error_text(int error) { return error ? std::strerror(error) : "unknown error"; }

void sync_file(const std::string& path, const std::string& subject) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(subject, "cannot reopen to sync: " + error_text(errno));
  int synced = ::fsync(fd);
  int error = errno;
  ::close(fd);
  // EINVAL: the file lives somewhere that cannot be synced (a pipe-backed or special file).
  if (synced != 0 && error != EINVAL) throw Error(subject, "sync failed: " + error_text(error));
}

}  // namespace germ::util
