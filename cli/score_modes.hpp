#pragma once
// The three inputs `germ score` accepts, each in its own file: FASTA tracks (cmd_score.cpp),
// VCF variant effects (score_variants.cpp) and per-read tags on SAM/BAM/CRAM/FASTQ
// (score_reads.cpp). cmd_score.cpp parses every option and dispatches on the input.
#include <cstdint>
#include <string>
#include <vector>

#include "common_options.hpp"

namespace germ::cli {

struct VariantScoreArgs {
  std::string vcf;           // --vcf: VCF/BCF (plain, bgzip) or "-"
  std::string reference;     // --ref: FASTA (plain or bgzip; a .fai is built when missing)
  std::string model_path;
  std::string output_type;   // v | z | b | u | tsv (empty: from the output name)
  std::string regions_file;  // -R: BED or chr<TAB>beg<TAB>end, 1-based
  int64_t window = 0;        // bases of the scoring window centred on the variant (0: default);
                             // encoders: context bases read around the allele (0: fitted to the model)
  bool both_strands = false;
  bool prefix_reuse = true;  // off only to measure what sharing saves
  std::string methods = "window";  // --llr: site | window | site,window
  bool methods_given = false;      // --llr on the command line (refused for encoders)
  bool strand_values = false;      // --llr site: each strand's value too
  // --llr window: bases past the REF summed (-1: to the window end). 300: the LLR is within
  // r = 0.998 of the whole 8,192-base window's at 1/4 of the model windows (docs/score_variants.md).
  int64_t downstream = 300;
  int64_t segment_windows = 0;     // 0: each method's default grid
  int64_t lanes = 0;               // 0: 4 per thread, at least 8
  bool write_index = false;
  bool fake_quant = false;
  std::string command_line;  // recorded as ##germ_command
  CommonOptions common;
};
int score_variants(const VariantScoreArgs& args);

struct ReadScoreArgs {
  std::string input;        // SAM/BAM/CRAM/FASTQ (plain or gzip) or "-"
  std::string reference;    // --ref: needed to decode (and write) CRAM
  std::string model_path;
  std::string output_type;  // sam | bam | cram (empty: from the output name, else sam on stdout)
  std::string class_name;   // classifier models: the class whose probability gp:f reports (default: the predicted)
  int64_t window = 0;       // --window: classifier tile / causal window in bases (0: the model's)
  bool fake_quant = false;
  std::string command_line;  // recorded in the @PG line
  CommonOptions common;
};
int score_reads(const ReadScoreArgs& args);

// True when the file name says reads (.sam, .bam, .cram, .fq, .fastq, optionally .gz).
bool looks_like_reads(const std::string& path);

}  // namespace germ::cli
