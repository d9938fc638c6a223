#pragma once
// SAM/BAM/CRAM/FASTQ records through htslib, read in batches and written back unchanged but
// for the tags a caller sets, with a @PG line recording the program (docs/score_reads.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/output_file.hpp"

struct bam1_t;
struct sam_hdr_t;
struct htsFile;

namespace germ::io {

enum class AlignmentFormat { kSam, kBam, kCram };

// -O as samtools spells it (sam, bam, cram; any case); empty: from the output name's extension,
// SAM for anything else (stdout included).
AlignmentFormat parse_alignment_format(const std::string& output_type, const std::string& output_path);

// Up to a capacity of records, in input order; the records are reused from batch to batch.
class AlignmentBatch {
 public:
  AlignmentBatch() = default;
  ~AlignmentBatch();
  AlignmentBatch(const AlignmentBatch&) = delete;
  AlignmentBatch& operator=(const AlignmentBatch&) = delete;

  size_t size() const { return size_; }
  // SEQ as the read was sequenced: upper-case ACGTN (other letters, '=' included, become N),
  // reverse-complemented back when the record is on the reverse strand (flag 0x10). Empty for '*'.
  std::string sequenced_bases(size_t i) const;
  // Replace any tag of the same name (whatever its type); appended after the other tags.
  void set_tag(size_t i, const char* tag, float value);
  void set_tag(size_t i, const char* tag, int64_t value);
  void set_tag(size_t i, const char* tag, const std::string& value);
  void remove_tag(size_t i, const char* tag);

 private:
  friend class AlignmentReader;
  friend class AlignmentWriter;
  bam1_t* slot(size_t i);  // grows the pool
  std::vector<bam1_t*> records_;
  size_t size_ = 0;
};

class AlignmentReader {
 public:
  // reference: FASTA for CRAM (required when the file's header names reference sequences).
  AlignmentReader(const std::string& path, const std::string& reference);
  ~AlignmentReader();
  AlignmentReader(const AlignmentReader&) = delete;
  AlignmentReader& operator=(const AlignmentReader&) = delete;

  // Replaces the batch's records with the next ones, at most `capacity`; false when none were
  // left. Damaged or truncated input (a BAM without its end-of-file block included) is a
  // germ::Error naming the file.
  bool read(AlignmentBatch& batch, size_t capacity);
  bool is_fastq() const { return fastq_; }
  const std::string& path() const { return path_; }
  int64_t records_read() const { return records_read_; }

 private:
  friend class AlignmentWriter;
  void check_complete();
  std::string path_;
  htsFile* file_ = nullptr;
  sam_hdr_t* header_ = nullptr;
  bool fastq_ = false;
  bool bam_ = false;
  int64_t records_read_ = 0;
};

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
  AlignmentWriter(const std::string& path, AlignmentFormat format, const AlignmentReader& input,
                  const ProgramRecord& program, const std::string& reference);
  ~AlignmentWriter();
  AlignmentWriter(const AlignmentWriter&) = delete;
  AlignmentWriter& operator=(const AlignmentWriter&) = delete;

  void write(const AlignmentBatch& batch);
  void commit();

 private:
  void abandon();  // closes without committing: no output under the final name
  std::string subject_;
  std::optional<util::TemporaryPath> temporary_;  // none for stdout
  int stdout_fd_ = -1;                             // stdout: a duplicate htslib may close
  htsFile* file_ = nullptr;
  sam_hdr_t* header_ = nullptr;
};

}  // namespace germ::io
