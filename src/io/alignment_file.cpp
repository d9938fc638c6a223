#include "io/alignment_file.hpp"

#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/sam.h>

#include <cerrno>
#include <cstring>

#include "io/bases.hpp"
#include "util/error.hpp"
#include "util/file_sync.hpp"

namespace germ::io {
namespace {

// errno as text for a failed htslib call, which does not always set it.
std::string reason(int error) { return util::error_text(error); }

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

}  // namespace germ::io
