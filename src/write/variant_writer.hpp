#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/variant_values.hpp"

typedef struct bcf_hdr_t bcf_hdr_t;
typedef struct bcf1_t bcf1_t;

namespace germ::write {

// -O v (VCF), z (bgzip VCF), b (BCF), u (uncompressed BCF), tsv (one row per ALT).
enum class VariantFormat { kVcf, kVcfGz, kBcf, kBcfUncompressed, kTsv };
// An empty type is taken from the output name (.vcf.gz/.vcf.bgz, .bcf, .tsv, else VCF).
VariantFormat parse_variant_format(const std::string& output_type, const std::string& output_path);

using io::VariantField;
using io::VariantRecordValues;

struct VariantWriterOptions {
  std::string path = "-";
  VariantFormat format = VariantFormat::kVcf;
  bool write_index = false;  // .tbi beside -O z, .csi beside -O b/u
  std::string command;       // ##germ_command
  std::vector<VariantField> fields;
  std::string flag_description;  // INFO/GERM_FLAG's header description (the scorer's flags)
};

// Writes each record as read plus the per-ALT fields and INFO/GERM_FLAG, under the input
// header extended with their definitions and ##germ_version / ##germ_command. Output goes to
// a temporary that commit() renames (with its index), so a failed run leaves nothing.
class VariantWriter {
 public:
  // Appends the germ header lines to `header` (the reader's: records are read against it).
  VariantWriter(VariantWriterOptions options, bcf_hdr_t* header);
  ~VariantWriter();
  VariantWriter(const VariantWriter&) = delete;
  VariantWriter& operator=(const VariantWriter&) = delete;

  void write(bcf1_t* record, const VariantRecordValues& values);
  void commit();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace germ::write
