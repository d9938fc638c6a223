#include "write/alignment_writer.hpp"

#include <htslib/hfile.h>
#include <htslib/sam.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>

#include "util/error.hpp"
#include "util/file_sync.hpp"
#include "write/committed_output.hpp"

namespace germ::write {
namespace {

// errno as text for a failed htslib call, which does not always set it.
std::string reason(int error) { return util::error_text(error); }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
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

AlignmentWriter::AlignmentWriter(const std::string& path, AlignmentFormat format, const io::AlignmentReader& input,
                                 const ProgramRecord& program, const std::string& reference)
    : subject_(path == "-" ? "stdout" : path) {
  header_ = sam_hdr_dup(input.header());
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
    open(path, format, reference);
  } catch (...) {
    abandon();
    throw;
  }
}

void AlignmentWriter::open(const std::string& path, AlignmentFormat format, const std::string& reference) {
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
}

AlignmentWriter::~AlignmentWriter() { abandon(); }

void AlignmentWriter::abandon() {
  if (file_) {
    discard_abandoned_stdout(stdout_fd_);
    hts_close(file_);  // a temporary is removed by its TemporaryPath
    file_ = nullptr;
  }
  if (header_) sam_hdr_destroy(header_);
  header_ = nullptr;
}

void AlignmentWriter::write(const io::AlignmentBatch& batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    errno = 0;
    if (sam_write1(file_, header_, batch.record(i)) < 0) throw Error(subject_, "write failed: " + reason(errno));
  }
}

void AlignmentWriter::commit() {
  htsFile* file = file_;
  file_ = nullptr;
  close_sync_commit([&] { return hts_close(file); }, temporary_ ? &*temporary_ : nullptr, subject_);
}

}  // namespace germ::write
