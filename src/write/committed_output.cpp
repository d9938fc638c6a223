#include "write/committed_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"
#include "util/file_sync.hpp"

namespace germ::write {

void close_sync_commit(const std::function<int()>& close, util::TemporaryPath* temporary, const std::string& subject,
                       const CommitSteps& steps) {
  errno = 0;
  if (close() != 0) throw Error(subject, "write failed: " + util::error_text(errno));
  if (!temporary) return;
  util::sync_file(temporary->path(), subject);
  if (steps.after_sync) steps.after_sync();
  try {
    temporary->commit();
  } catch (...) {
    if (steps.if_rename_fails) steps.if_rename_fails();
    throw;
  }
}

void discard_abandoned_stdout(int stdout_duplicate) {
  if (stdout_duplicate < 0) return;
  int null_fd = ::open("/dev/null", O_WRONLY);
  if (null_fd < 0) return;
  ::dup2(null_fd, stdout_duplicate);
  ::close(null_fd);
}

}  // namespace germ::write
