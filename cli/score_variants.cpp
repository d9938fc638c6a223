#include "score_modes.hpp"
#include "util/error.hpp"

namespace germ::cli {

int score_variants(const VariantScoreArgs& args) { throw Error(args.vcf, "variant scoring is being built (issue 6)"); }

}  // namespace germ::cli
