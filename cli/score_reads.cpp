// germ score on reads: option parsing for score::tag_reads (docs/score_reads.md).
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "germ/version.hpp"
#include "io/alignment_file.hpp"
#include "score/read_tagging.hpp"
#include "score_modes.hpp"
#include "write/alignment_writer.hpp"

namespace germ::cli {

bool looks_like_reads(const std::string& path) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const char* suffix : {".sam", ".bam", ".cram", ".fq", ".fastq", ".fq.gz", ".fastq.gz"})
    if (ends_with(suffix)) return true;
  return false;
}

int score_reads(const ReadScoreArgs& args) {
  const write::AlignmentFormat format = write::parse_alignment_format(args.output_type, args.common.output);
  io::AlignmentReader reader(args.input, args.reference);
  score::ReadTaggingOptions options;
  options.model_path = args.model_path;
  options.fake_quant = args.fake_quant;
  options.device = args.common.device;
  options.window = args.window;
  options.class_name = args.class_name;
  options.quiet = args.common.quiet;
  std::unique_ptr<score::ReadTagger> tagger = score::open_read_tagger(options);
  write::ProgramRecord program;
  program.version = kVersion;
  program.command_line = args.command_line;
  write::AlignmentWriter writer(args.common.output, format, reader, program, args.reference);
  const score::ReadTaggingSummary summary =
      score::tag_reads(reader, *tagger, options, [&](const io::AlignmentBatch& batch) { writer.write(batch); });
  writer.commit();
  if (args.common.verbose > 0) {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::fprintf(stderr, "germ score: %lld reads in %.2f s (%.0f reads/s), %s, peak RSS %.1f MiB\n",
                 static_cast<long long>(summary.reads), summary.seconds, summary.reads / std::max(1e-9, summary.seconds),
                 tagger->summary().c_str(), usage.ru_maxrss / 1024.0);
  }
  return 0;
}

}  // namespace germ::cli
