#include "io/alignment_file.hpp"

#include <fcntl.h>
#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/hfile.h>
#include <htslib/sam.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/bases.hpp"
#include "util/error.hpp"
#include "util/file_sync.hpp"

namespace germ::io {
namespace {

// errno as text for a failed htslib call, which does not always set it.
std::string reason(int error) { return util::error_text(error); }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_tag_name(const char* tag) {
  if (std::strlen(tag) != 2) throw Error("tag", std::string("'") + tag + "' is not a two-character SAM tag");
}

// Drops the tag if present, so a tag of another type can take its name.
void delete_tag(bam1_t* record, const char* tag) {
  check_tag_name(tag);
  if (uint8_t* existing = bam_aux_get(record, tag)) bam_aux_del(record, existing);
}

void check_tag_written(int status, const char* tag) {
  if (status != 0) throw Error(std::string("tag ") + tag, "cannot be set: " + reason(errno));
}

}  // namespace

AlignmentFormat parse_alignment_format(const std::string& output_type, const std::string& output_path) {
  std::string type = output_type;
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type.empty()) {
    if (ends_with(output_path, ".bam")) return AlignmentFormat::kBam;
    if (ends_with(output_path, ".cram")) return AlignmentFormat::kCram;
    return AlignmentFormat::kSam;
  }
  if (type == "sam") return AlignmentFormat::kSam;
  if (type == "bam") return AlignmentFormat::kBam;
  if (type == "cram") return AlignmentFormat::kCram;
  throw Error("-O", "unknown output type '" + output_type + "' for reads (use sam, bam or cram)");
}

// ---- AlignmentBatch ----

AlignmentBatch::~AlignmentBatch() {
  for (bam1_t* record : records_) bam_destroy1(record);
}

bam1_t* AlignmentBatch::slot(size_t i) {
  while (records_.size() <= i) {
    bam1_t* record = bam_init1();
    if (!record) throw Error("reads", "out of memory");
    records_.push_back(record);
  }
  return records_[i];
}

std::string AlignmentBatch::sequenced_bases(size_t i) const {
  const bam1_t* record = records_[i];
  const int length = record->core.l_qseq;
  const uint8_t* packed = bam_get_seq(record);
  std::string bases(length, 'N');
  for (int k = 0; k < length; ++k) {
    char base = seq_nt16_str[bam_seqi(packed, k)];
    if (base == 'A' || base == 'C' || base == 'G' || base == 'T') bases[k] = base;
  }
  // The stored SEQ of a reverse-strand alignment is the reverse complement of the read.
  return bam_is_rev(record) ? reverse_complement(bases) : bases;
}

void AlignmentBatch::set_tag(size_t i, const char* tag, float value) {
  delete_tag(records_[i], tag);
  check_tag_written(bam_aux_update_float(records_[i], tag, value), tag);
}

void AlignmentBatch::set_tag(size_t i, const char* tag, int64_t value) {
  delete_tag(records_[i], tag);
  check_tag_written(bam_aux_update_int(records_[i], tag, value), tag);
}

void AlignmentBatch::set_tag(size_t i, const char* tag, const std::string& value) {
  delete_tag(records_[i], tag);
  check_tag_written(bam_aux_update_str(records_[i], tag, static_cast<int>(value.size()), value.c_str()), tag);
}

void AlignmentBatch::remove_tag(size_t i, const char* tag) { delete_tag(records_[i], tag); }

// ---- AlignmentReader ----

AlignmentReader::AlignmentReader(const std::string& path, const std::string& reference) : path_(path) {
  errno = 0;
  file_ = hts_open(path.c_str(), "r");
  if (!file_) throw Error(path, "cannot open: " + reason(errno));
  const htsFormat* format = hts_get_format(file_);
  switch (format->format) {
    case sam: case bam: case cram: break;
    case fastq_format: fastq_ = true; break;
    default:
      hts_close(file_);
      throw Error(path, std::string("is not SAM, BAM, CRAM or FASTQ (") + hts_format_file_extension(format) + ")");
  }
  bam_ = format->format == bam;
  header_ = sam_hdr_read(file_);
  if (!header_) {
    hts_close(file_);
    throw Error(path, "cannot read the header (damaged or not a SAM/BAM/CRAM/FASTQ file)");
  }
  const bool cram_input = format->format == cram;
  try {
    if (cram_input && sam_hdr_nref(header_) > 0 && reference.empty())
      throw Error(path, "CRAM is decoded against its reference: give --ref");
    if (cram_input && !reference.empty() && hts_set_fai_filename(file_, reference.c_str()) != 0)
      throw Error(reference, "cannot be used as the CRAM reference");
    // A file cut at a block boundary reads as a shorter, valid-looking one but for the missing
    // end-of-file block (checked here where the file can be seeked, after the last record otherwise).
    if (path != "-" && ((bam_ && bgzf_check_EOF(file_->fp.bgzf) == 0) || (cram_input && cram_check_EOF(file_->fp.cram) == 0)))
      throw Error(path, "is truncated: its end-of-file block is missing");
  } catch (...) {
    sam_hdr_destroy(header_);
    hts_close(file_);
    throw;
  }
}

AlignmentReader::~AlignmentReader() {
  sam_hdr_destroy(header_);
  hts_close(file_);
}

bool AlignmentReader::read(AlignmentBatch& batch, size_t capacity) {
  batch.size_ = 0;
  while (batch.size_ < capacity) {
    int status = sam_read1(file_, header_, batch.slot(batch.size_));
    if (status == -1) {
      check_complete();
      break;
    }
    if (status < -1)
      throw Error(path_, "damaged or truncated after record " + std::to_string(records_read_) + " (htslib status " +
                             std::to_string(status) + ")");
    ++batch.size_, ++records_read_;
  }
  return batch.size_ > 0;
}

void AlignmentReader::check_complete() {
  if (bam_ && !file_->fp.bgzf->last_block_eof)
    throw Error(path_, "is truncated: it ends without the end-of-file block, after record " +
                           std::to_string(records_read_));
}

// ---- AlignmentWriter ----

AlignmentWriter::AlignmentWriter(const std::string& path, AlignmentFormat format, const AlignmentReader& input,
                                 const ProgramRecord& program, const std::string& reference)
    : subject_(path == "-" ? "stdout" : path) {
  header_ = sam_hdr_dup(input.header_);
  if (!header_) throw Error(subject_, "cannot copy the input header");
  try {
    // htslib gives FASTQ an empty header; samtools import starts its output with this @HD.
    if (input.is_fastq() && sam_hdr_add_lines(header_, "@HD\tVN:1.6\tSO:unsorted\tGO:query\n", 0) != 0)
      throw Error(subject_, "cannot add the @HD line");
    if (sam_hdr_add_pg(header_, program.id.c_str(), "PN", program.name.c_str(), "VN", program.version.c_str(), "CL",
                       program.command_line.c_str(), nullptr) != 0)
      throw Error(subject_, "cannot add the @PG line");
    if (format == AlignmentFormat::kCram && sam_hdr_nref(header_) > 0 && reference.empty())
      throw Error(subject_, "CRAM is encoded against the reference: give --ref");
    const char* mode = format == AlignmentFormat::kBam ? "wb" : format == AlignmentFormat::kCram ? "wc" : "w";
    errno = 0;
    if (path == "-") {
      std::fflush(stdout);
      stdout_fd_ = ::dup(::fileno(stdout));
      hFILE* stream = stdout_fd_ >= 0 ? hdopen(stdout_fd_, "w") : nullptr;
      file_ = stream ? hts_hopen(stream, "-", mode) : nullptr;
      if (!file_ && stream) hclose_abruptly(stream);
    } else {
      temporary_.emplace(path);
      file_ = hts_open(temporary_->path().c_str(), mode);
    }
    if (!file_) throw Error(subject_, "cannot create: " + reason(errno));
    if (format == AlignmentFormat::kCram && !reference.empty() && hts_set_fai_filename(file_, reference.c_str()) != 0)
      throw Error(reference, "cannot be used as the CRAM reference");
    errno = 0;
    if (sam_hdr_write(file_, header_) != 0) throw Error(subject_, "cannot write the header: " + reason(errno));
  } catch (...) {
    abandon();
    throw;
  }
}

AlignmentWriter::~AlignmentWriter() { abandon(); }

void AlignmentWriter::abandon() {
  if (file_) {
    if (stdout_fd_ >= 0) {
      // Abandoned: the end-of-file block and whatever is buffered go to /dev/null, so that a
      // reader of the pipe sees a truncated stream, not a complete-looking one.
      int null_fd = ::open("/dev/null", O_WRONLY);
      if (null_fd >= 0) ::dup2(null_fd, stdout_fd_), ::close(null_fd);
    }
    hts_close(file_);  // a temporary is removed by its TemporaryPath
    file_ = nullptr;
  }
  if (header_) sam_hdr_destroy(header_);
  header_ = nullptr;
}

void AlignmentWriter::write(const AlignmentBatch& batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    errno = 0;
    if (sam_write1(file_, header_, batch.records_[i]) < 0) throw Error(subject_, "write failed: " + reason(errno));
  }
}

void AlignmentWriter::commit() {
  htsFile* file = file_;
  file_ = nullptr;
  errno = 0;
  if (hts_close(file) != 0) throw Error(subject_, "write failed: " + reason(errno));
  if (!temporary_) return;
  util::sync_file(temporary_->path(), subject_);
  temporary_->commit();
}

}  // namespace germ::io
