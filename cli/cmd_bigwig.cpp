// germ bigwig: a bedGraph (plain or bgzip) to bigWig, so that a workflow that scattered
// `germ score` by region can gather one bigWig without UCSC's bedGraphToBigWig (not in Debian).
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common_options.hpp"
#include "io/compressed_input.hpp"
#include "io/indexed_fasta.hpp"
#include "write/track_writer.hpp"
#include "util/error.hpp"

namespace germ::cli {
namespace {

bool is_header_line(const std::string& line) {
  return line.empty() || line[0] == '#' || line.rfind("track", 0) == 0 || line.rfind("browser", 0) == 0;
}

// "contig begin end value" (tabs); anything else names the file and line.
void parse_record(const std::string& path, int64_t line_number, const std::string& line, std::string& contig,
                  int64_t& begin, int64_t& end, float& value) {
  const auto where = path + ":" + std::to_string(line_number);
  std::vector<std::string> fields;
  for (size_t from = 0;;) {
    const size_t tab = line.find('\t', from);
    fields.push_back(line.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
    if (tab == std::string::npos) break;
    from = tab + 1;
  }
  if (fields.size() < 4) throw Error(where, "a bedGraph record has 4 tab-separated columns");
  auto number = [&](const std::string& text, const char* column) {
    char* rest = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(text.c_str(), &rest, 10);
    if (text.empty() || *rest != '\0' || errno != 0 || parsed < 0)
      throw Error(where, std::string(column) + " '" + text + "' is not a non-negative integer");
    return static_cast<int64_t>(parsed);
  };
  contig = fields[0];
  begin = number(fields[1], "begin");
  end = number(fields[2], "end");
  if (end <= begin) throw Error(where, "end must be greater than begin");
  char* rest = nullptr;
  value = std::strtof(fields[3].c_str(), &rest);
  if (fields[3].empty() || *rest != '\0') throw Error(where, "value '" + fields[3] + "' is not a number");
}

}  // namespace

int run_bigwig(int argc, char** argv) {
  CLI::App app{"Convert a bedGraph (plain, gzip or bgzip; '-' = stdin) to bigWig, e.g. to gather the chunks of\n"
               "a scattered `germ score` run (workflows/snakemake). Records must be sorted as the reference's\n"
               ".fai lists the contigs; adjacent records with equal values are merged. track/browser/# lines\n"
               "are skipped.\n\n"
               "Example:\n"
               "  germ bigwig --ref genome.fa -o genome.bw genome.bedgraph.gz",
               "germ bigwig"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kVerbosity);
  std::string input, reference;
  app.add_option("input", input, "bedGraph (plain, gzip or bgzip; '-' = stdin)")->required();
  app.add_option("--ref", reference, "FASTA whose .fai (or a scan) gives the contig sizes and order")->required();
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    write::TrackWriterOptions options;
    options.path = common.output;
    options.format = write::TrackFormat::kBigWig;
    options.chrom_sizes = io::read_contig_sizes(reference);
    auto writer = write::make_track_writer(options);
    io::CompressedInput in(input);
    std::string line, contig;
    int64_t line_number = 0, begin = 0, end = 0, records = 0;
    float value = 0;
    while (in.read_line(line, size_t{1} << 20, ++line_number)) {
      if (is_header_line(line)) continue;
      parse_record(input, line_number, line, contig, begin, end, value);
      writer->write(contig, begin, end, value);
      ++records;
    }
    writer->commit();
    if (common.verbose > 0) std::fprintf(stderr, "germ bigwig: %lld records\n", static_cast<long long>(records));
    return 0;
  });
}

}  // namespace germ::cli
