#include "io/htslib_settings.hpp"

#include <htslib/hts.h>
#include <htslib/hts_log.h>

namespace germ::io {

void set_htslib_messages(bool verbose) { hts_set_log_level(verbose ? HTS_LOG_WARNING : HTS_LOG_OFF); }

const char* htslib_version() { return hts_version(); }

}  // namespace germ::io
