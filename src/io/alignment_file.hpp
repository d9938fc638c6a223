#pragma once
// SAM/BAM/CRAM/FASTQ records through htslib, read in batches whose tags a caller may set;
// write::AlignmentWriter writes them back (docs/score_reads.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct bam1_t;
struct sam_hdr_t;
struct htsFile;

namespace germ::io {

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
  // The htslib record, for a writer.
  const bam1_t* record(size_t i) const { return records_[i]; }

 private:
  friend class AlignmentReader;
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
  // The htslib header, for a writer of the same records.
  const sam_hdr_t* header() const { return header_; }

 private:
  void check_complete();
  std::string path_;
  htsFile* file_ = nullptr;
  sam_hdr_t* header_ = nullptr;
  bool fastq_ = false;
  bool bam_ = false;
  int64_t records_read_ = 0;
};

}  // namespace germ::io
