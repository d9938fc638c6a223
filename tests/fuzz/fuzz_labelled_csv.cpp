// GUE-style task CSVs ("sequence,label"): every row read back must hold DNA and a label in
// range, or the reader throws germ::Error. The first byte bounds the label count (0: inferred).
#include <cstdint>

#include "fuzz_input_file.hpp"
#include "io/bases.hpp"
#include "io/labelled_sequences.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace germ::io;
  if (size == 0) return 0;
  const int64_t num_labels = data[0] % 4;
  try {
    LabelledSet set = read_labelled_csv(germ_fuzz::input_file(data + 1, size - 1), num_labels);
    germ_fuzz::check(!set.rows.empty(), "at least one row");
    germ_fuzz::check(num_labels == 0 || set.num_labels == num_labels, "the label count given");
    for (const LabelledSequence& row : set.rows) {
      germ_fuzz::check(row.label >= 0 && row.label < set.num_labels, "label in range");
      germ_fuzz::check(!row.bases.empty(), "a sequence");
      for (char base : row.bases) germ_fuzz::check(is_sequence_char(base), "DNA only");
    }
  } catch (const germ::Error&) {
  }
  return 0;
}
