#pragma once
// SAM/BAM/CRAM output of records read by io::AlignmentReader, unchanged but for the tags a
// caller set, with a @PG line recording the program (docs/score_reads.md).
#include <optional>
#include <string>

#include "io/alignment_file.hpp"
#include "util/output_file.hpp"

struct sam_hdr_t;
struct htsFile;

namespace germ::write {

enum class AlignmentFormat { kSam, kBam, kCram };

// -O as samtools spells it (sam, bam, cram; any case); empty: from the output name's extension,
// SAM for anything else (stdout included).
AlignmentFormat parse_alignment_format(const std::string& output_type, const std::string& output_path);

// What the @PG line says. ID is made unique (germ.1, ...) and PP names the last @PG, as
// samtools does.
struct ProgramRecord {
  std::string id = "germ";
  std::string name = "germ";
  std::string version;
  std::string command_line;
};

// Writes to a temporary beside `path` that commit() renames into place ("-": stdout), so an
// error leaves no partial output behind.
class AlignmentWriter {
 public:
  AlignmentWriter(const std::string& path, AlignmentFormat format, const io::AlignmentReader& input,
                  const ProgramRecord& program, const std::string& reference);
  ~AlignmentWriter();
  AlignmentWriter(const AlignmentWriter&) = delete;
  AlignmentWriter& operator=(const AlignmentWriter&) = delete;

  void write(const io::AlignmentBatch& batch);
  void commit();

 private:
  void open(const std::string& path, AlignmentFormat format, const std::string& reference);
  void abandon();  // closes without committing: no output under the final name
  std::string subject_;
  std::optional<util::TemporaryPath> temporary_;  // none for stdout
  int stdout_fd_ = -1;                             // stdout: a duplicate htslib may close
  htsFile* file_ = nullptr;
  sam_hdr_t* header_ = nullptr;
};

}  // namespace germ::write
