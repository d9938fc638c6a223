#include "io/indexed_fasta.hpp"

#include <htslib/faidx.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "io/compressed_input.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"

namespace germ::io {
namespace fs = std::filesystem;
namespace {

std::string fai_path_for(const std::string& path) { return path + ".fai"; }
std::string gzi_path_for(const std::string& path) { return path + ".gzi"; }

// faidx_seq_len() is limited to int; the .fai text has 64-bit lengths, so read it directly.
ContigSizes parse_fai(const std::string& fasta_path, const std::string& fai_path) {
  std::ifstream in(fai_path);
  if (!in) throw Error(fai_path, "cannot read the FASTA index");
  ContigSizes contigs;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string name;
    long long length = -1;
    if (!std::getline(fields, name, '\t') || !(fields >> length) || length < 0)
      throw Error(fai_path, "malformed index line " + std::to_string(contigs.size() + 1) +
                                " (rebuild it with `samtools faidx " + fasta_path + "`)");
    contigs.emplace_back(name, length);
  }
  return contigs;
}

// Checks what the format allows before htslib is asked to index, so the user gets a reason
// rather than htslib's generic failure. Returns whether the file is bgzip-compressed.
bool check_indexable(const std::string& path) {
  if (path == "-")
    throw Error("-", "random access (-r/--region) needs a FASTA file; it cannot read stdin");
  CompressedInput input(path);
  if (input.is_gzip())
    throw Error(path, "is gzip- but not bgzip-compressed, so it cannot be indexed for -r/--region: "
                      "recompress it with `zcat " + path + " | bgzip > out.fa.gz`");
  int64_t lines = 0;
  int first = input.skip_blank(lines);
  if (first < 0) throw Error(path, "empty file, no sequence records");
  if (first == '@') throw Error(path, "is FASTQ; -r/--region needs an indexed FASTA file");
  if (first != '>') throw Error(path, "is not a FASTA file (it does not start with '>')");
  return input.is_bgzf();
}

std::string build_failure(const std::string& path) {
  return "no index " + fai_path_for(path) + " and building one failed (each record's lines must "
         "have equal lengths); run `samtools faidx " + path + "` to see why";
}

// htslib trusts the .gzi (it asserts, aborting the process, on offsets that do not match the
// blocks), so a damaged one is caught here. Layout: u64 entry count, then per entry the u64
// compressed and uncompressed offsets of a block start, both increasing.
void check_gzi(const std::string& fasta_path, const std::string& gzi_path) {
  std::ifstream in(gzi_path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u64_at = [&](size_t offset) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
    return value;
  };
  auto corrupted = [&](const std::string& problem) {
    throw Error(gzi_path, "bgzip index is corrupted (" + problem + "); delete it to have it rebuilt, or run "
                          "`samtools faidx " + fasta_path + "`");
  };
  if (bytes.size() < 8) corrupted("shorter than its 8-byte entry count");
  uint64_t entries = u64_at(0);
  if (entries != (bytes.size() - 8) / 16 || (bytes.size() - 8) % 16 != 0)
    corrupted(std::to_string(entries) + " entries in " + std::to_string(bytes.size()) + " bytes");
  const uint64_t compressed_size = fs::file_size(fasta_path);
  uint64_t previous_compressed = 0, previous_uncompressed = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t compressed = u64_at(8 + 16 * i), uncompressed = u64_at(16 + 16 * i);
    if (compressed <= previous_compressed || uncompressed < previous_uncompressed || compressed >= compressed_size)
      corrupted("entry " + std::to_string(i + 1) + " is out of order or past the end of " + fasta_path);
    previous_compressed = compressed;
    previous_uncompressed = uncompressed;
  }
}

bool directory_is_writable(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return ::access(dir.c_str(), W_OK) == 0;
}

}  // namespace

bool IndexedFasta::has_index(const std::string& path) {
  if (path == "-" || !fs::exists(fai_path_for(path))) return false;
  try {
    CompressedInput input(path);
    if (input.is_gzip()) return false;
    return !input.is_bgzf() || fs::exists(gzi_path_for(path));
  } catch (const Error&) {
    return false;
  }
}

IndexedFasta::IndexedFasta(const std::string& path) : path_(path) {
  bool bgzf = check_indexable(path);
  std::string fai = fai_path_for(path);
  std::string gzi = gzi_path_for(path);
  if (has_index(path)) {
    if (bgzf) check_gzi(path, gzi);
    load_contigs(fai);
    index_ = fai_load3(path.c_str(), fai.c_str(), bgzf ? gzi.c_str() : nullptr, 0);
  } else if (directory_is_writable(path)) {
    // Temporary names then rename: a concurrent reader never loads a half-written index.
    util::TemporaryPath fai_file(fai), gzi_file(gzi);
    if (fai_build3(path.c_str(), fai_file.path().c_str(), bgzf ? gzi_file.path().c_str() : nullptr) != 0)
      throw Error(path, build_failure(path));
    if (bgzf) gzi_file.commit();
    fai_file.commit();
    load_contigs(fai);
    index_ = fai_load3(path.c_str(), fai.c_str(), bgzf ? gzi.c_str() : nullptr, 0);
  } else {
    // A read-only reference still works: index into the temporary directory for this run.
    fs::path scratch = fs::temp_directory_path() /
                       ("germ-faidx-" + std::to_string(::getpid()) + "-" + fs::path(path).filename().string());
    std::string scratch_fai = scratch.string() + ".fai", scratch_gzi = scratch.string() + ".gzi";
    int built = fai_build3(path.c_str(), scratch_fai.c_str(), bgzf ? scratch_gzi.c_str() : nullptr);
    if (built == 0) {
      load_contigs(scratch_fai);
      index_ = fai_load3(path.c_str(), scratch_fai.c_str(), bgzf ? scratch_gzi.c_str() : nullptr, 0);
    }
    std::error_code ignored;
    fs::remove(scratch_fai, ignored);
    fs::remove(scratch_gzi, ignored);
    if (built != 0) throw Error(path, build_failure(path));
  }
  if (!index_)
    throw Error(path, "cannot load the FASTA index " + fai + " (rebuild it with `samtools faidx " + path + "`)");
}

IndexedFasta::~IndexedFasta() {
  if (index_) fai_destroy(index_);
}

IndexedFasta::IndexedFasta(IndexedFasta&& other) noexcept
    : path_(std::move(other.path_)),
      index_(other.index_),
      contigs_(std::move(other.contigs_)),
      row_by_name_(std::move(other.row_by_name_)) {
  other.index_ = nullptr;
}

IndexedFasta& IndexedFasta::operator=(IndexedFasta&& other) noexcept {
  if (this != &other) {
    if (index_) fai_destroy(index_);
    path_ = std::move(other.path_);
    index_ = other.index_;
    contigs_ = std::move(other.contigs_);
    row_by_name_ = std::move(other.row_by_name_);
    other.index_ = nullptr;
  }
  return *this;
}

void IndexedFasta::load_contigs(const std::string& fai_path) {
  contigs_ = parse_fai(path_, fai_path);
  for (size_t row = 0; row < contigs_.size(); ++row) row_by_name_.emplace(contigs_[row].first, row);
}

bool IndexedFasta::has_contig(const std::string& name) const { return row_by_name_.count(name) > 0; }

int64_t IndexedFasta::contig_index(const std::string& name) const {
  auto found = row_by_name_.find(name);
  if (found != row_by_name_.end()) return static_cast<int64_t>(found->second);
  throw Error(path_, "no contig named '" + name + "' (the file has " + std::to_string(contigs_.size()) +
                         " contigs, first '" + (contigs_.empty() ? "" : contigs_.front().first) + "')");
}

int64_t IndexedFasta::contig_length(const std::string& name) const {
  return contigs_[static_cast<size_t>(contig_index(name))].second;
}

Region IndexedFasta::resolve(const Region& region) const {
  int64_t length = contig_length(region.contig);
  Region resolved = region;
  if (resolved.end < 0) resolved.end = length;
  if (resolved.begin >= length || resolved.end > length || resolved.begin > resolved.end)
    throw Error(path_, "region " + region.to_string() + " lies outside contig '" + region.contig +
                           "' (length " + std::to_string(length) + ")");
  return resolved;
}

std::string IndexedFasta::fetch(const std::string& contig, int64_t begin, int64_t end) const {
  Region range = resolve(Region{contig, begin, end});
  if (range.begin == range.end) return {};
  hts_pos_t fetched = 0;
  char* bases = faidx_fetch_seq64(index_, contig.c_str(), range.begin, range.end - 1, &fetched);
  std::unique_ptr<char, decltype(&std::free)> owner(bases, &std::free);
  if (!bases || fetched != range.end - range.begin)
    throw Error(path_, "cannot read " + range.to_string() + " through the index; if the file changed "
                       "since it was indexed, delete " + fai_path_for(path_) + " and retry");
  return std::string(bases, static_cast<size_t>(fetched));
}

ContigSizes read_contig_sizes(const std::string& path) {
  ContigSizes sizes;
  if (IndexedFasta::has_index(path)) {
    sizes = parse_fai(path, fai_path_for(path));
  } else {
    SequenceReader reader(path);
    SequenceChunk chunk;
    while (reader.next(chunk)) {
      if (chunk.contig_start) sizes.emplace_back(chunk.contig, 0);
      sizes.back().second += static_cast<int64_t>(chunk.bases.size());
    }
  }
  std::set<std::string> seen;
  for (const auto& contig : sizes)
    if (!seen.insert(contig.first).second)
      throw Error(path, "contig name '" + contig.first + "' appears more than once");
  return sizes;
}

}  // namespace germ::io
