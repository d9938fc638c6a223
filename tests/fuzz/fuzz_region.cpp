// -r/--region text: parse_region must accept or throw germ::Error, and whatever it accepts
// must survive to_string() and back unchanged.
#include <cstdint>
#include <string>

#include "fuzz_input_file.hpp"
#include "io/region.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace germ::io;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (bool with_header : {false, true}) {
    // With a header at hand, names of even length count as contigs (any deterministic rule).
    auto is_contig = [](const std::string& name) { return name.size() % 2 == 0; };
    Region region;
    try {
      region = with_header ? parse_region(text, is_contig) : parse_region(text);
    } catch (const germ::Error&) {
      continue;
    }
    germ_fuzz::check(!region.contig.empty(), "a contig name");
    germ_fuzz::check(region.begin >= 0 && (region.end == -1 || region.end > region.begin), "a non-empty range");
    // Outside the try: text that parse_region accepted must print as text it accepts again.
    Region again;
    try {
      again = parse_region(region.to_string());
    } catch (const germ::Error& error) {
      std::fprintf(stderr, "germ fuzz: %s\n", error.what());
      germ_fuzz::check(false, "to_string() of a parsed region parses");
    }
    germ_fuzz::check(again == region, "to_string() round-trips");
  }
  return 0;
}
