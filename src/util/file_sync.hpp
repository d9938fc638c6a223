#pragma once
#include <string>

namespace germ::util {

// errno as text for a failed library call; htslib and libBigWig do not always set it.
std::string error_text(int error);

// fsync a file that a library (htslib, libBigWig) wrote and closed, so that an output committed
// under its final name is on disk like every util::OutputFile. Errors name `subject`.
void sync_file(const std::string& path, const std::string& subject);

}  // namespace germ::util
