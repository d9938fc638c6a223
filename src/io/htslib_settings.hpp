#pragma once
// The process-wide htslib settings the command line touches, so that cli/ holds no htslib call.

namespace germ::io {

// htslib prints its own "[E::...]" lines before germ's one-line error says the same thing with
// the file name: they are kept only when `verbose` (-v).
void set_htslib_messages(bool verbose);

// The linked htslib's version, for germ --version --verbose.
const char* htslib_version();

}  // namespace germ::io
