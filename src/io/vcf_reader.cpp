#include "io/vcf_reader.hpp"

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kseq.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "util/error.hpp"

namespace germ::io {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Sorted by begin within each contig, overlaps merged; contigs keep their first-seen order.
std::vector<Region> merge_regions(std::vector<Region> regions) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<Region>> by_contig;
  for (Region& r : regions) {
    if (!by_contig.count(r.contig)) order.push_back(r.contig);
    by_contig[r.contig].push_back(std::move(r));
  }
  std::vector<Region> merged;
  for (const std::string& contig : order) {
    auto& list = by_contig[contig];
    auto end_of = [](const Region& r) { return r.end < 0 ? INT64_MAX : r.end; };
    std::sort(list.begin(), list.end(), [](const Region& a, const Region& b) { return a.begin < b.begin; });
    for (const Region& r : list) {
      if (!merged.empty() && merged.back().contig == contig && r.begin <= end_of(merged.back())) {
        const int64_t end = std::max(end_of(merged.back()), end_of(r));
        merged.back().end = end == INT64_MAX ? -1 : end;
      } else {
        merged.push_back(r);
      }
    }
  }
  return merged;
}

// A VCF data line has at least 8 tab-separated columns; htslib accepts fewer (a line cut
// short by truncation would pass as a record without ALT or INFO).
bool has_fixed_columns(const kstring_t& line) {
  return std::count(line.s, line.s + line.l, '\t') >= 7;
}

// A plain-text VCF always ends with a line end; without one its last record may have been cut
// anywhere (even inside INFO, where nothing else would show it).
bool ends_mid_line(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) return false;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  char last = '\n';
  const bool read = ::pread(fd, &last, 1, info.st_size - 1) == 1;
  ::close(fd);
  return read && last != '\n';
}

}  // namespace

struct VcfReader::State {
  htsFile* file = nullptr;
  tbx_t* tabix = nullptr;         // region queries on bgzip VCF
  hts_idx_t* bcf_index = nullptr;  // region queries on BCF
  hts_itr_t* iterator = nullptr;
  size_t next_region = 0;
  kstring_t line = {0, 0, nullptr};
  bool is_bcf = false;
  int declared_contigs = 0;  // contigs of the file's own header (BCF records index into them)

  ~State() {
    if (iterator) hts_itr_destroy(iterator);
    if (tabix) tbx_destroy(tabix);
    if (bcf_index) hts_idx_destroy(bcf_index);
    if (file) hts_close(file);
    free(line.s);
  }
};

VcfReader::VcfReader(const std::string& path, std::vector<Region> regions)
    : path_(path), regions_(merge_regions(std::move(regions))), state_(std::make_unique<State>()) {
  // htslib would print its own multi-line diagnostics; germ reports one line per failure.
  hts_set_log_level(HTS_LOG_OFF);
  state_->file = hts_open(path.c_str(), "r");
  if (!state_->file) throw Error(path, "cannot open (missing, unreadable, or not a VCF/BCF file)");
  const htsFormat* format = hts_get_format(state_->file);
  if (format->category != variant_data) throw Error(path, "not a VCF or BCF file");
  state_->is_bcf = format->format == bcf;
  if (format->compression == bgzf && path != "-" && hts_check_EOF(state_->file) == 0)
    throw Error(path, "truncated: the BGZF end-of-file block is missing");
  if (format->compression == no_compression && path != "-" && ends_mid_line(path))
    throw Error(path, "truncated: the last line has no line end");
  header_ = bcf_hdr_read(state_->file);
  if (!header_) throw Error(path, "damaged or missing VCF header");
  state_->declared_contigs = header_->n[BCF_DT_CTG];
  if (regions_.empty()) return;
  if (path == "-") throw Error(path, "-r/-R need an indexed file, not stdin");
  if (format->compression != bgzf)
    throw Error(path, "-r/-R need a bgzip-compressed, indexed file (bgzip it, then bcftools index)");
  if (state_->is_bcf) {
    state_->bcf_index = bcf_index_load(path.c_str());
  } else {
    state_->tabix = tbx_index_load(path.c_str());
  }
  if (!state_->bcf_index && !state_->tabix)
    throw Error(path, "-r/-R need an index (.tbi or .csi): run 'bcftools index " + path + "'");
}

VcfReader::~VcfReader() {
  if (header_) bcf_hdr_destroy(header_);
}

int VcfReader::declare_contigs(const ContigSizes& contigs) {
  int added = 0;
  for (const auto& [name, length] : contigs) {
    if (bcf_hdr_name2id(header_, name.c_str()) >= 0) continue;
    std::string line = "##contig=<ID=" + name + ",length=" + std::to_string(length) + ">";
    if (bcf_hdr_append(header_, line.c_str()) != 0) throw Error(path_, "cannot declare contig '" + name + "'");
    ++added;
  }
  if (added && bcf_hdr_sync(header_) != 0) throw Error(path_, "cannot update the header");
  return added;
}

// htslib flags a VCF contig missing from the header but declares it and parses the record
// anyway (many real VCFs have no ##contig lines); a BCF record must name a contig of the file's
// own header (contigs declared later by germ would silently take its unknown numbers). Every
// other error code, a POS that is not a positive number (htslib reads "abc" as 0), or a record
// without even a REF allele (NUL bytes where REF should be; found by fuzzing), is damage.
bool VcfReader::usable(const bcf1_t* record) const {
  if (record->pos < 0 || record->n_allele < 1) return false;
  if (state_->is_bcf) return record->errcode == 0 && record->rid >= 0 && record->rid < state_->declared_contigs;
  return (record->errcode & ~BCF_ERR_CTG_UNDEF) == 0;
}

// 0: a record; -1: the end; -2: damage. Text lines are read here rather than by bcf_read so
// that their columns can be counted.
int VcfReader::read_next(bcf1_t* record) {
  State& s = *state_;
  if (s.is_bcf) return bcf_read(s.file, header_, record);
  int status = hts_getline(s.file, KS_SEP_LINE, &s.line);
  if (status < 0) return status;
  if (!has_fixed_columns(s.line) || vcf_parse(&s.line, header_, record) != 0) return -2;
  return 0;
}

bool VcfReader::next(bcf1_t* record) {
  bool got = regions_.empty() ? false : next_in_regions(record);
  if (regions_.empty()) {
    int status = read_next(record);
    if (status < -1 || (status == 0 && !usable(record)))
      throw Error(path_, "damaged or truncated record after record " + std::to_string(records_read_));
    got = status == 0;
  }
  if (got) ++records_read_;
  return got;
}

bool VcfReader::next_in_regions(bcf1_t* record) {
  State& s = *state_;
  while (true) {
    if (!s.iterator) {
      if (s.next_region >= regions_.size()) return false;
      const Region& region = regions_[s.next_region++];
      const int64_t end = region.end < 0 ? HTS_POS_MAX : region.end;
      // A contig absent from the index simply has no records.
      if (s.is_bcf) {
        int tid = bcf_hdr_name2id(header_, region.contig.c_str());
        if (tid >= 0) s.iterator = bcf_itr_queryi(s.bcf_index, tid, region.begin, end);
      } else {
        int tid = tbx_name2id(s.tabix, region.contig.c_str());
        if (tid >= 0) s.iterator = tbx_itr_queryi(s.tabix, tid, region.begin, end);
      }
      if (!s.iterator) continue;
    }
    const Region& region = regions_[s.next_region - 1];
    int status = s.is_bcf ? bcf_itr_next(s.file, s.iterator, record)
                          : tbx_itr_next(s.file, s.tabix, s.iterator, &s.line);
    if (status >= 0 && !s.is_bcf && (!has_fixed_columns(s.line) || vcf_parse(&s.line, header_, record) != 0))
      status = -2;
    if (status >= 0 && !usable(record)) status = -2;
    if (status < -1)
      throw Error(path_, "damaged or truncated record after record " + std::to_string(records_read_));
    if (status == -1) {
      hts_itr_destroy(s.iterator);
      s.iterator = nullptr;
      continue;
    }
    // POS inside the region (bcftools --regions-overlap pos): merged regions never repeat a record.
    if (record->pos >= region.begin && (region.end < 0 || record->pos < region.end)) return true;
  }
}

std::vector<Region> read_regions_file(const std::string& path) {
  const bool bed = ends_with(path, ".bed") || ends_with(path, ".bed.gz");
  hts_set_log_level(HTS_LOG_OFF);
  htsFile* file = hts_open(path.c_str(), "r");
  if (!file) throw Error(path, "cannot open regions file");
  kstring_t line = {0, 0, nullptr};
  std::vector<Region> regions;
  int64_t number = 0;
  auto fail = [&](const std::string& problem) {
    free(line.s);
    hts_close(file);
    throw Error(path, "line " + std::to_string(number) + ": " + problem);
  };
  int status;
  while ((status = hts_getline(file, KS_SEP_LINE, &line)) >= 0) {
    ++number;
    std::string text(line.s, line.l);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#' || text.rfind("track", 0) == 0 || text.rfind("browser", 0) == 0) continue;
    std::vector<std::string> fields;
    size_t from = 0;
    for (size_t tab; (tab = text.find('\t', from)) != std::string::npos; from = tab + 1)
      fields.push_back(text.substr(from, tab - from));
    fields.push_back(text.substr(from));
    if (fields.size() < 3 || fields[0].empty()) fail("expected contig, begin and end separated by tabs");
    int64_t begin = 0, end = 0;
    try {
      size_t used_begin = 0, used_end = 0;
      begin = std::stoll(fields[1], &used_begin);
      end = std::stoll(fields[2], &used_end);
      if (used_begin != fields[1].size() || used_end != fields[2].size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      fail("begin and end must be whole numbers");
    }
    if (!bed) --begin;  // 1-based inclusive -> 0-based half-open
    if (begin < 0) fail(bed ? "begin must be >= 0" : "positions are 1-based; begin must be >= 1");
    if (end <= begin) fail("end is not after begin");
    regions.push_back(Region{fields[0], begin, end});
  }
  free(line.s);
  hts_close(file);
  if (status < -1) throw Error(path, "read error after line " + std::to_string(number));
  return regions;
}

}  // namespace germ::io
