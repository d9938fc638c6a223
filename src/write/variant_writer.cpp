#include "write/variant_writer.hpp"

#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <optional>

#include "germ/version.hpp"
#include "util/error.hpp"
#include "util/file_sync.hpp"
#include "util/output_file.hpp"
#include "write/committed_output.hpp"

namespace germ::write {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// VCF header values may not hold double quotes or line breaks.
std::string header_safe(std::string text) {
  for (char& c : text)
    if (c == '"' || c == '\n' || c == '\r') c = '\'';
  return text;
}

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

void append_line(bcf_hdr_t* header, const std::string& line) {
  if (bcf_hdr_append(header, line.c_str()) != 0) throw Error("VCF header", "cannot add: " + line);
}

}  // namespace

VariantFormat parse_variant_format(const std::string& type, const std::string& path) {
  if (type == "v" || type == "vcf") return VariantFormat::kVcf;
  if (type == "z") return VariantFormat::kVcfGz;
  if (type == "b" || type == "bcf") return VariantFormat::kBcf;
  if (type == "u") return VariantFormat::kBcfUncompressed;
  if (type == "tsv" || type == "t") return VariantFormat::kTsv;
  if (!type.empty()) throw Error("-O/--output-type", "unknown type '" + type + "' for --vcf (use v, z, b, u or tsv)");
  if (ends_with(path, ".vcf.gz") || ends_with(path, ".vcf.bgz")) return VariantFormat::kVcfGz;
  if (ends_with(path, ".bcf")) return VariantFormat::kBcf;
  if (ends_with(path, ".tsv") || ends_with(path, ".txt")) return VariantFormat::kTsv;
  return VariantFormat::kVcf;
}

struct VariantWriter::State {
  VariantWriterOptions options;
  bcf_hdr_t* header = nullptr;
  std::string subject;
  // VCF/BCF through htslib
  htsFile* file = nullptr;
  std::optional<util::TemporaryPath> data, index;
  std::string index_name;
  // TSV
  std::optional<util::OutputFile> table;
  std::string line;
  std::vector<float> values;
  int contigs_in_header = 0;
};

VariantWriter::VariantWriter(VariantWriterOptions options, bcf_hdr_t* header) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  s.header = header;
  s.subject = s.options.path == "-" ? "stdout" : s.options.path;
  const VariantWriterOptions& o = s.options;
  if (o.write_index && (o.path == "-" || o.format == VariantFormat::kVcf || o.format == VariantFormat::kTsv))
    throw Error("-W/--write-index", "needs -o FILE with -O z, b or u (an index needs a compressed file)");

  if (o.format == VariantFormat::kTsv) {
    std::string columns = "#chrom\tpos\tref\talt";
    for (const VariantField& field : o.fields) columns += "\t" + lower_case(field.key);
    s.table.emplace(o.path);
    s.table->write(columns + "\tflags\n");
    return;
  }
  for (const VariantField& field : o.fields)
    if (bcf_hdr_get_hrec(header, BCF_HL_INFO, "ID", field.key.c_str(), nullptr) == nullptr)
      append_line(header, "##INFO=<ID=" + field.key + ",Number=A,Type=Float,Description=\"" +
                              header_safe(field.description) + "\">");
  if (bcf_hdr_get_hrec(header, BCF_HL_INFO, "ID", "GERM_FLAG", nullptr) == nullptr)
    append_line(header, "##INFO=<ID=GERM_FLAG,Number=.,Type=String,Description=\"" +
                            header_safe(o.flag_description) + "\">");
  append_line(header, std::string("##germ_version=") + kVersion);
  append_line(header, "##germ_command=" + header_safe(o.command));
  if (bcf_hdr_sync(header) != 0) throw Error("VCF header", "cannot update");

  const char* mode = o.format == VariantFormat::kVcf      ? "w"
                     : o.format == VariantFormat::kVcfGz ? "wz"
                     : o.format == VariantFormat::kBcf   ? "wb"
                                                         : "wbu";
  std::string target = "-";
  if (o.path != "-") {
    s.data.emplace(o.path);
    target = s.data->path();
    if (o.write_index) {
      s.index_name = o.path + (o.format == VariantFormat::kVcfGz ? ".tbi" : ".csi");
      s.index.emplace(s.index_name);
    }
  }
  errno = 0;
  s.file = hts_open(target.c_str(), mode);
  if (!s.file) throw Error(s.subject, "cannot open for writing: " + util::error_text(errno));
  if (bcf_hdr_write(s.file, header) != 0) throw Error(s.subject, "write failed: " + util::error_text(errno));
  s.contigs_in_header = header->n[BCF_DT_CTG];
}

VariantWriter::~VariantWriter() {
  if (state_->file) hts_close(state_->file);  // abandoned: the temporaries remove themselves
}

void VariantWriter::write(bcf1_t* record, const VariantRecordValues& result) {
  State& s = *state_;
  bcf_unpack(record, BCF_UN_STR);
  std::string flags;
  for (const std::string& flag : result.flags) flags += (flags.empty() ? "" : ",") + flag;
  if (s.table) {
    const char* contig = bcf_hdr_id2name(s.header, record->rid);
    for (int a = 1; a < record->n_allele; ++a) {
      s.line = std::string(contig) + "\t" + std::to_string(record->pos + 1) + "\t" + record->d.allele[0] + "\t" +
               record->d.allele[a];
      for (const std::vector<float>& field : result.values) {
        float value = static_cast<size_t>(a - 1) < field.size() ? field[a - 1] : std::nanf("");
        char number[32] = ".";
        if (!std::isnan(value)) std::snprintf(number, sizeof number, "%.6g", value);
        s.line += std::string("\t") + number;
      }
      s.line += "\t" + (flags.empty() ? std::string(".") : flags) + "\n";
      s.table->write(s.line);
    }
    return;
  }
  // htslib declares an unknown contig on the fly when it parses a VCF line; BCF output refers
  // to contigs by number, so one declared after the header was written would be lost.
  const bool binary = s.options.format == VariantFormat::kBcf || s.options.format == VariantFormat::kBcfUncompressed;
  if (binary && record->rid >= s.contigs_in_header)
    throw Error(s.subject, std::string("contig '") + bcf_hdr_id2name(s.header, record->rid) +
                               "' is declared neither in the VCF header nor in the reference; BCF output needs it "
                               "declared (use -O z, or add a ##contig line)");
  for (size_t f = 0; f < s.options.fields.size(); ++f) {
    const std::vector<float>& field = f < result.values.size() ? result.values[f] : std::vector<float>{};
    s.values.assign(static_cast<size_t>(record->n_allele - 1), 0.0f);
    bool any = false;
    for (size_t a = 0; a < s.values.size(); ++a) {
      if (a >= field.size() || std::isnan(field[a])) {
        bcf_float_set_missing(s.values[a]);
      } else {
        s.values[a] = field[a], any = true;
      }
    }
    // A record scored before keeps nothing stale: absent keys are removed.
    bcf_update_info_float(s.header, record, s.options.fields[f].key.c_str(), any ? s.values.data() : nullptr,
                          any ? s.values.size() : 0);
  }
  bcf_update_info_string(s.header, record, "GERM_FLAG", flags.empty() ? nullptr : flags.c_str());
  errno = 0;
  if (bcf_write(s.file, s.header, record) != 0) throw Error(s.subject, "write failed: " + util::error_text(errno));
}

void VariantWriter::commit() {
  State& s = *state_;
  if (s.table) {
    s.table->commit();
    return;
  }
  htsFile* file = s.file;
  s.file = nullptr;
  CommitSteps steps;
  if (s.index) {
    steps.after_sync = [&] {
      int built = s.options.format == VariantFormat::kVcfGz
                      ? tbx_index_build2(s.data->path().c_str(), s.index->path().c_str(), 0, &tbx_conf_vcf)
                      : bcf_index_build2(s.data->path().c_str(), s.index->path().c_str(), 14);
      if (built != 0) throw Error(s.index_name, "cannot build the index (are the records sorted by position?)");
      util::sync_file(s.index->path(), s.index_name);
      s.index->commit();
    };
    steps.if_rename_fails = [&] { std::remove(s.index_name.c_str()); };  // no index without its data
  }
  close_sync_commit([file] { return hts_close(file); }, s.data ? &*s.data : nullptr, s.subject, steps);
}

}  // namespace germ::write
