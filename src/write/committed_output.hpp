#pragma once
// How an output that a library writes itself (htslib, libBigWig) reaches its final name, the
// same way for every writer of this folder: the library's close (which flushes and writes the
// end-of-file block) must succeed, the bytes are synced to disk, and only then is the
// temporary renamed onto the final name, so a partial or unsynced file never looks finished.
#include <functional>
#include <string>

#include "util/output_file.hpp"

namespace germ::write {

// Extra steps of an output that has a companion file (a tabix index built on the data).
struct CommitSteps {
  std::function<void()> after_sync;       // between the data's sync and its rename
  std::function<void()> if_rename_fails;  // undoes what after_sync committed
};

// close -> sync -> commit. `close` is the library's close, returning 0 on success and leaving
// errno set otherwise: germ::Error "<subject>: write failed: <reason>". Without a temporary
// (stdout) closing is all there is to do.
void close_sync_commit(const std::function<int()>& close, util::TemporaryPath* temporary, const std::string& subject,
                       const CommitSteps& steps = {});

// An output abandoned on stdout, before the library's close: the duplicate descriptor it
// writes to is pointed at /dev/null, so the end-of-file block and whatever is still buffered
// go nowhere and the reader of the pipe sees a truncated stream, not a complete-looking one.
void discard_abandoned_stdout(int stdout_duplicate);

}  // namespace germ::write
