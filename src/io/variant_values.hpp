#pragma once
// What a scored VCF record carries besides itself: the per-ALT INFO fields a scorer defines and
// fills (src/score/vcf_scoring) and a writer puts into the header and the records
// (src/write/variant_writer). Here, below both, so that neither includes the other.
#include <string>
#include <vector>

namespace germ::io {

// One per-ALT INFO field (Number=A, Type=Float): its key and the header's description of it
// (model, method, strands, span). TSV output names its column after the key in lower case.
struct VariantField {
  std::string key;
  std::string description;
};

// What one record gets: values[f][a] for field f and ALT a (NaN: missing), and its flags.
struct VariantRecordValues {
  std::vector<std::vector<float>> values;
  std::vector<std::string> flags;
};

}  // namespace germ::io
