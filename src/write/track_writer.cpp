#include "write/track_writer.hpp"

#include <bigWig.h>
extern "C" {  // bwCommon.h, unlike bigWig.h, has no C++ guard
#include <bwCommon.h>  // bwFinalize: called directly so that its result is not lost (see finish())
}
#include <htslib/bgzf.h>
#include <htslib/tbx.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "util/error.hpp"
#include "util/file_sync.hpp"
#include "util/output_file.hpp"
#include "write/committed_output.hpp"

namespace germ::write {

TrackWriter::~TrackWriter() = default;

TrackFormat parse_track_format(const std::string& o_type) {
  if (o_type.empty() || o_type == "bedgraph" || o_type == "b") return TrackFormat::kBedGraph;
  if (o_type == "z" || o_type == "bedgraph.gz") return TrackFormat::kBedGraphGz;
  if (o_type == "bigwig" || o_type == "bw") return TrackFormat::kBigWig;
  throw Error("-O", "unknown output type '" + o_type + "' (use bedgraph, z or bigwig)");
}

namespace {

std::string subject_for(const std::string& path) { return path == "-" ? "stdout" : path; }

using util::sync_file;
std::string reason(int error) { return util::error_text(error); }

std::string interval_text(const std::string& contig, int64_t begin, int64_t end) {
  return contig + ":" + std::to_string(begin) + "-" + std::to_string(end);
}

// The order checks that every format relies on (merging, tabix and bigWig indexes): contig by
// contig, each contig once, records increasing and non-overlapping.
class OrderedTrackWriter : public TrackWriter {
 public:
  void write(const std::string& contig, int64_t begin, int64_t end, float value) final {
    if (state_ != State::kOpen) fail(state_ == State::kCommitted ? "write after commit" : "write after an error");
    guarded([&] {
      if (contig.empty() || begin < 0 || end <= begin)
        fail("invalid record " + interval_text(contig, begin, end));
      if (contig != contig_) {
        if (!contig_.empty()) finished_.insert(contig_);
        if (finished_.count(contig))
          fail("records out of order: contig '" + contig + "' comes back after '" + contig_ + "'");
        start_contig(contig);
        contig_ = contig;
      } else if (begin < previous_end_) {
        fail("records out of order: " + interval_text(contig, begin, end) + " starts before " +
             std::to_string(previous_end_) + ", the end of the previous record");
      }
      previous_end_ = end;
      add(begin, end, value);
    });
  }

  void commit() final {
    if (state_ == State::kCommitted) return;
    if (state_ == State::kFailed) fail("cannot commit after an error");
    guarded([&] { finish(); });
    state_ = State::kCommitted;
  }

 protected:
  explicit OrderedTrackWriter(const std::string& path) : subject_(subject_for(path)) {}
  [[noreturn]] void fail(const std::string& problem) const { throw Error(subject_, problem); }
  // The contig of the records that add() receives.
  const std::string& contig() const { return contig_; }
  // Called when a new contig starts, while contig() is still the previous one ("" at first).
  virtual void start_contig(const std::string& next) {}
  virtual void add(int64_t begin, int64_t end, float value) = 0;
  virtual void finish() = 0;

 private:
  enum class State { kOpen, kFailed, kCommitted };
  template <typename Action>
  void guarded(Action&& action) {
    try {
      action();
    } catch (...) {
      state_ = State::kFailed;
      throw;
    }
  }

  std::string subject_;
  State state_ = State::kOpen;
  std::string contig_;
  int64_t previous_end_ = 0;
  std::unordered_set<std::string> finished_;
};

// ---------------------------------------------------------------------------------------------
// bedGraph text, plain or BGZF.

class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual void write(std::string_view data) = 0;
  virtual void commit() = 0;
};

class PlainSink : public TextSink {
 public:
  explicit PlainSink(const std::string& path) : out_(path) {}
  void write(std::string_view data) override { out_.write(data); }
  void commit() override { out_.commit(); }

 private:
  util::OutputFile out_;
};

// BGZF through htslib, to a temporary beside the target (or to stdout), with an optional tabix
// index that is built on the temporary and renamed to <path>.tbi just before the data.
class BgzfSink : public TextSink {
 public:
  BgzfSink(const std::string& path, bool write_index, int header_lines)
      : path_(path), subject_(subject_for(path)) {
    errno = 0;
    if (path == "-") {
      std::fflush(stdout);
      // A duplicate, so that bgzf_close() leaves the process's stdout open.
      stdout_fd_ = ::dup(::fileno(stdout));
      if (stdout_fd_ < 0) throw Error(subject_, "cannot open for bgzip output: " + reason(errno));
      file_ = bgzf_dopen(stdout_fd_, "w");
      if (!file_) {
        ::close(stdout_fd_);
        throw Error(subject_, "cannot open for bgzip output: " + reason(errno));
      }
      return;
    }
    data_.emplace(path);
    if (write_index) {
      index_.emplace(path + ".tbi");
      index_conf_ = tbx_conf_bed;
      index_conf_.line_skip = header_lines;
    }
    file_ = bgzf_open(data_->path().c_str(), "w");
    if (!file_) throw Error(subject_, "cannot create: " + reason(errno));
  }

  ~BgzfSink() override {
    if (!file_) return;
    discard_abandoned_stdout(stdout_fd_);
    bgzf_close(file_);  // the temporaries are removed by their TemporaryPath
  }

  void write(std::string_view data) override {
    errno = 0;
    if (bgzf_write(file_, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      throw Error(subject_, "write failed: " + reason(errno));
  }

  void commit() override {
    BGZF* file = file_;
    file_ = nullptr;
    CommitSteps steps;
    if (index_) {
      steps.after_sync = [&] { build_index(); };
      steps.if_rename_fails = [&] { std::remove((path_ + ".tbi").c_str()); };  // no index without its data
    }
    close_sync_commit([&] { return bgzf_close(file); }, data_ ? &*data_ : nullptr, subject_, steps);
  }

 private:
  // On the synced data, renamed to <path>.tbi just before the data.
  void build_index() {
    errno = 0;
    int built = tbx_index_build2(data_->path().c_str(), index_->path().c_str(), 0, &index_conf_);
    if (built != 0) throw Error(path_ + ".tbi", "cannot build the tabix index: " + reason(errno));
    sync_file(index_->path(), path_ + ".tbi");
    index_->commit();
  }

  std::string path_;
  std::string subject_;
  int stdout_fd_ = -1;
  BGZF* file_ = nullptr;
  std::optional<util::TemporaryPath> data_;
  std::optional<util::TemporaryPath> index_;
  tbx_conf_t index_conf_{};
};

class BedGraphWriter : public OrderedTrackWriter {
 public:
  BedGraphWriter(const std::string& path, std::string header, std::unique_ptr<TextSink> sink)
      : OrderedTrackWriter(path), buffer_(std::move(header)), sink_(std::move(sink)) {
    buffer_.reserve(kFlushBytes + 256);
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 16;

  void start_contig(const std::string& next) override { emit_pending(); }

  void add(int64_t begin, int64_t end, float value) override {
    char text[32];
    int length = std::snprintf(text, sizeof text, "%.6g", static_cast<double>(value));
    std::string_view printed(text, static_cast<size_t>(length));
    if (has_pending_ && pending_end_ == begin && printed == pending_value_) {
      pending_end_ = end;
      return;
    }
    emit_pending();
    has_pending_ = true;
    pending_begin_ = begin;
    pending_end_ = end;
    pending_value_.assign(printed);
  }

  void finish() override {
    emit_pending();
    sink_->write(buffer_);
    buffer_.clear();
    sink_->commit();
  }

  void emit_pending() {
    if (!has_pending_) return;
    has_pending_ = false;
    char digits[24];
    buffer_ += contig();
    buffer_ += '\t';
    buffer_.append(digits, std::to_chars(digits, digits + sizeof digits, pending_begin_).ptr);
    buffer_ += '\t';
    buffer_.append(digits, std::to_chars(digits, digits + sizeof digits, pending_end_).ptr);
    buffer_ += '\t';
    buffer_ += pending_value_;
    buffer_ += '\n';
    if (buffer_.size() >= kFlushBytes) {
      sink_->write(buffer_);
      buffer_.clear();
    }
  }

  std::string buffer_;
  std::unique_ptr<TextSink> sink_;
  bool has_pending_ = false;
  int64_t pending_begin_ = 0;
  int64_t pending_end_ = 0;
  std::string pending_value_;
};

// ---------------------------------------------------------------------------------------------
// bigWig through libBigWig.

void init_libbigwig() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only sets libBigWig's buffer size for remote files and calls curl_global_init; never
    // undone with bwCleanup(), which would break writers still open elsewhere in the process.
    if (bwInit(1 << 17) != 0) throw Error("libBigWig", "initialisation failed");
  });
}

// Releases an unfinished file: bwClose() must not finalize a file that is removed anyway.
struct AbandonBigWig {
  void operator()(bigWigFile_t* file) const {
    file->isWrite = 0;
    bwClose(file);
  }
};

class BigWigWriter : public OrderedTrackWriter {
 public:
  explicit BigWigWriter(const TrackWriterOptions& options)
      : OrderedTrackWriter(options.path), temp_(options.path) {
    std::vector<const char*> names;
    std::vector<uint32_t> lengths;
    for (const auto& [name, length] : options.chrom_sizes) {
      if (name.empty()) fail("empty contig name in the chromosome sizes");
      if (length <= 0 || length > std::numeric_limits<uint32_t>::max())
        fail("contig '" + name + "' has length " + std::to_string(length) +
             ", outside what bigWig stores (1 to 4294967295)");
      if (!tids_.emplace(name, static_cast<uint32_t>(names.size())).second)
        fail("contig '" + name + "' is twice in the chromosome sizes");
      names.push_back(name.c_str());
      lengths.push_back(static_cast<uint32_t>(length));
    }
    if (names.empty()) fail("bigWig output needs the chromosome sizes");
    lengths_ = lengths;
    init_libbigwig();
    errno = 0;
    file_.reset(bwOpen(temp_.path().c_str(), nullptr, "w"));
    if (!file_) fail("cannot create: " + reason(errno));
    if (bwCreateHdr(file_.get(), 10) != 0) fail("cannot create the bigWig header");
    // bwCreateChromList copies the names; the list must be attached by hand.
    file_->cl = bwCreateChromList(names.data(), lengths.data(), static_cast<int64_t>(names.size()));
    if (!file_->cl) fail("cannot create the bigWig chromosome list");
    errno = 0;
    if (bwWriteHdr(file_.get()) != 0) fail("write failed: " + reason(errno));
  }

 private:
  static constexpr size_t kBatch = 1024;

  void start_contig(const std::string& next) override {
    emit_pending();
    flush_batch();
    auto found = tids_.find(next);
    if (found == tids_.end()) fail("contig '" + next + "' is not in the chromosome sizes");
    // libBigWig's index and zoom levels need the data in chromosome-list order.
    if (has_tid_ && found->second < tid_)
      fail("records out of order: contig '" + next + "' comes after '" + contig() +
           "' but precedes it in the chromosome sizes");
    tid_ = found->second;
    has_tid_ = true;
  }

  void add(int64_t begin, int64_t end, float value) override {
    if (end > lengths_[tid_])
      fail("record " + interval_text(contig(), begin, end) + " ends past the contig's length " +
           std::to_string(lengths_[tid_]));
    ++records_;
    min_value_ = std::min(min_value_, static_cast<double>(value));
    max_value_ = std::max(max_value_, static_cast<double>(value));
    // Merge only what is lossless: the same float, not the same printed text as in bedGraph.
    if (has_pending_ && pending_end_ == begin && pending_value_ == value) {
      pending_end_ = static_cast<uint32_t>(end);
      return;
    }
    emit_pending();
    has_pending_ = true;
    pending_begin_ = static_cast<uint32_t>(begin);
    pending_end_ = static_cast<uint32_t>(end);
    pending_value_ = value;
  }

  void emit_pending() {
    if (!has_pending_) return;
    has_pending_ = false;
    if (starts_.size() == kBatch) flush_batch();
    starts_.push_back(pending_begin_);
    ends_.push_back(pending_end_);
    values_.push_back(pending_value_);
  }

  // Only bwAddIntervals, in calls that fit the block being filled. libBigWig checks the write of
  // a full block when a call starts, but ignores it when a block fills up within a call (as
  // bwAppendIntervals always does) and then keeps copying past the end of its buffer: after a
  // failed write (a full disk) that is heap corruption, not an error.
  void flush_batch() {
    const bwWriteBuffer_t* block = file_->writeBuffer;
    const uint32_t capacity = file_->hdr->bufSize;
    std::FILE* stream = file_->URL->x.fp;
    for (size_t done = 0; done < starts_.size();) {
      // A call begins with a (checked) flush where fewer than three records fit.
      uint32_t used = block->l + 36 > capacity ? 24 : block->l;
      size_t count = std::min<size_t>(starts_.size() - done, (capacity - used) / 12);
      names_.assign(count, contig().c_str());
      errno = 0;
      int rc = bwAddIntervals(file_.get(), names_.data(), starts_.data() + done, ends_.data() + done,
                              values_.data() + done, static_cast<uint32_t>(count));
      if (rc != 0 || std::ferror(stream))
        fail("write failed (libBigWig error " + std::to_string(rc) + "): " + reason(errno));
      done += count;
    }
    starts_.clear();
    ends_.clear();
    values_.clear();
  }

  void finish() override {
    emit_pending();
    flush_batch();
    // libBigWig writes an index without its magic number for a file with no data, which its
    // own reader then rejects.
    if (records_ == 0) fail("no records to write; an empty bigWig file would be unreadable");
    // libBigWig's running maximum misses values that never exceed the running minimum (e.g. a
    // track of negative scores); the summary block takes its extremes from here instead.
    file_->hdr->minVal = min_value_;
    file_->hdr->maxVal = max_value_;
    // bwClose() finalizes and closes, but drops both results. Finalize here, flush and sync the
    // stream, and only then let bwClose() (told the file is finished) release everything.
    errno = 0;
    int finalized = bwFinalize(file_.get());
    int error = errno;
    file_->isWrite = 0;
    std::FILE* stream = file_->URL->x.fp;
    bool ok = finalized == 0 && std::fflush(stream) == 0 && !std::ferror(stream);
    if (ok && ::fsync(::fileno(stream)) != 0 && errno != EINVAL) ok = false;
    if (!ok && !error) error = errno;
    bwClose(file_.release());
    if (!ok) fail("write failed: " + reason(error));
    temp_.commit();
  }

  util::TemporaryPath temp_;
  std::unique_ptr<bigWigFile_t, AbandonBigWig> file_;  // after temp_: closed before its removal
  std::unordered_map<std::string, uint32_t> tids_;
  std::vector<uint32_t> lengths_;
  uint32_t tid_ = 0;
  bool has_tid_ = false;
  bool has_pending_ = false;
  uint32_t pending_begin_ = 0;
  uint32_t pending_end_ = 0;
  float pending_value_ = 0;
  std::vector<uint32_t> starts_;
  std::vector<uint32_t> ends_;
  std::vector<float> values_;
  std::vector<const char*> names_;  // bwAddIntervals takes a contig name per record
  uint64_t records_ = 0;
  double min_value_ = std::numeric_limits<double>::infinity();
  double max_value_ = -std::numeric_limits<double>::infinity();
};

// The track line(s) as written: each line ends with a newline. Returns the line count too.
std::pair<std::string, int> header_lines(std::string text) {
  if (text.empty()) return {"", 0};
  if (text.back() != '\n') text += '\n';
  return {text, static_cast<int>(std::count(text.begin(), text.end(), '\n'))};
}

}  // namespace

std::unique_ptr<TrackWriter> make_track_writer(const TrackWriterOptions& options) {
  if (options.path.empty()) throw Error("-o", "empty output file name");
  bool is_stdout = options.path == "-";
  if (options.write_index && options.format != TrackFormat::kBedGraphGz)
    throw Error("-W", "a tabix index needs bgzip bedGraph output (-O z)");
  if (options.write_index && is_stdout)
    throw Error("-W", "a tabix index needs an output file name (-o), not stdout");
  if (options.format == TrackFormat::kBigWig) {
    if (is_stdout) throw Error("stdout", "bigWig output needs a file name (-o)");
    if (!options.track_line.empty())
      throw Error("--track-line", "a track line goes with bedGraph output only, not bigWig");
    return std::make_unique<BigWigWriter>(options);
  }
  auto [header, line_count] = header_lines(options.track_line);
  std::unique_ptr<TextSink> sink;
  if (options.format == TrackFormat::kBedGraphGz)
    sink = std::make_unique<BgzfSink>(options.path, options.write_index, line_count);
  else
    sink = std::make_unique<PlainSink>(options.path);
  return std::make_unique<BedGraphWriter>(options.path, std::move(header), std::move(sink));
}

}  // namespace germ::write
