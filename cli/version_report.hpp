#pragma once
#include <string>

namespace germ::cli {

// `germ --version --verbose`: one line per library and the machine germ runs on (CPU and its
// vector extensions, the BLAS core, the oneDNN ISA, thread counts), so that a user can tell
// from a log whether the fast kernels were in use.
std::string library_versions();

}  // namespace germ::cli
