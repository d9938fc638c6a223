#include <bigWig.h>
#include <gtest/gtest.h>
#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/tbx.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>

#include "write/track_writer.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace germ;
using write::TrackFormat;
using write::TrackWriterOptions;

namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

class TrackWriterTest : public test_support::TempDirTest {
 protected:
  static TrackWriterOptions options(const std::string& path, TrackFormat format) {
    TrackWriterOptions o;
    o.path = path;
    o.format = format;
    return o;
  }
};

// Lines of a tabix query, as htslib returns them.
std::vector<std::string> tabix_query(const std::string& file, const std::string& region) {
  std::vector<std::string> lines;
  htsFile* in = hts_open(file.c_str(), "r");
  EXPECT_NE(in, nullptr);
  if (!in) return lines;
  tbx_t* index = tbx_index_load(file.c_str());
  EXPECT_NE(index, nullptr);
  if (index) {
    hts_itr_t* it = tbx_itr_querys(index, region.c_str());
    kstring_t line = KS_INITIALIZE;
    while (it && tbx_itr_next(in, index, it, &line) >= 0) lines.emplace_back(line.s, line.l);
    ks_free(&line);
    tbx_itr_destroy(it);
    tbx_destroy(index);
  }
  hts_close(in);
  return lines;
}

using Intervals = std::vector<std::pair<uint32_t, uint32_t>>;

// (start, end) of the intervals a bigWig file stores overlapping [begin, end).
Intervals stored_intervals(bigWigFile_t* in, const char* chrom, uint32_t begin, uint32_t end) {
  Intervals intervals;
  bwOverlappingIntervals_t* found = bwGetOverlappingIntervals(in, chrom, begin, end);
  EXPECT_NE(found, nullptr) << chrom;
  if (!found) return intervals;
  for (uint32_t i = 0; i < found->l; ++i) intervals.emplace_back(found->start[i], found->end[i]);
  bwDestroyOverlappingIntervals(found);
  return intervals;
}

std::string bgzf_text(const std::string& file) {
  BGZF* in = bgzf_open(file.c_str(), "r");
  EXPECT_NE(in, nullptr);
  if (!in) return "";
  EXPECT_EQ(bgzf_compression(in), 2);  // BGZF, not plain gzip
  EXPECT_EQ(bgzf_check_EOF(in), 1);
  std::string text;
  char buffer[4096];
  ssize_t count;
  while ((count = bgzf_read(in, buffer, sizeof buffer)) > 0) text.append(buffer, count);
  bgzf_close(in);
  return text;
}

}  // namespace

TEST(TrackFormat, ParsesTheOTypes) {
  EXPECT_EQ(write::parse_track_format(""), TrackFormat::kBedGraph);
  EXPECT_EQ(write::parse_track_format("b"), TrackFormat::kBedGraph);
  EXPECT_EQ(write::parse_track_format("bedgraph"), TrackFormat::kBedGraph);
  EXPECT_EQ(write::parse_track_format("z"), TrackFormat::kBedGraphGz);
  EXPECT_EQ(write::parse_track_format("bedgraph.gz"), TrackFormat::kBedGraphGz);
  EXPECT_EQ(write::parse_track_format("bw"), TrackFormat::kBigWig);
  EXPECT_EQ(write::parse_track_format("bigwig"), TrackFormat::kBigWig);
  EXPECT_EQ(error_of([] { write::parse_track_format("v"); }),
            "-O: unknown output type 'v' (use bedgraph, z or bigwig)");
}

TEST_F(TrackWriterTest, BedGraphTextMergesAbuttingEqualValues) {
  auto o = options(path("out.bedgraph"), TrackFormat::kBedGraph);
  o.track_line = "track type=bedGraph name=\"germ ll\"";
  auto writer = write::make_track_writer(o);
  writer->write("chr1", 0, 1, 0.5f);
  writer->write("chr1", 1, 2, 0.5f);         // abuts, same value: merged
  writer->write("chr1", 2, 3, 0.50000001f);  // prints as 0.5 too: merged
  writer->write("chr1", 4, 5, 0.5f);         // a gap: a new record
  writer->write("chr1", 5, 6, -1.25f);
  writer->write("chr2", 0, 10, 1e-7f);
  writer->write("chr2", 10, 20, 123456789.0f);
  writer->write("chr2", 20, 21, 123456700.0f);  // differs, but prints the same: merged
  writer->write("chr3", 0, 1, 123456789.0f);    // another contig: never merged
  EXPECT_FALSE(fs::exists(o.path));
  writer->commit();
  EXPECT_EQ(util::read_whole_file(o.path),
            "track type=bedGraph name=\"germ ll\"\n"
            "chr1\t0\t3\t0.5\n"
            "chr1\t4\t5\t0.5\n"
            "chr1\t5\t6\t-1.25\n"
            "chr2\t0\t10\t1e-07\n"
            "chr2\t10\t21\t1.23457e+08\n"
            "chr3\t0\t1\t1.23457e+08\n");
  EXPECT_EQ(files_in_dir(), 1u);
}

TEST_F(TrackWriterTest, EmptyBedGraphIsTheTrackLineAlone) {
  auto o = options(path("empty.bedgraph"), TrackFormat::kBedGraph);
  write::make_track_writer(o)->commit();
  EXPECT_EQ(util::read_whole_file(o.path), "");
  o.track_line = "browser position chr1:1-100\ntrack type=bedGraph\n";
  write::make_track_writer(o)->commit();
  EXPECT_EQ(util::read_whole_file(o.path), o.track_line);
}

TEST_F(TrackWriterTest, BgzipWithTabixIndexAnswersRegionQueries) {
  auto o = options(path("out.bedgraph.gz"), TrackFormat::kBedGraphGz);
  o.write_index = true;
  o.track_line = "track type=bedGraph";  // skipped by the index (line_skip)
  auto writer = write::make_track_writer(o);
  for (int64_t i = 0; i < 5000; ++i) writer->write("chr1", i, i + 1, static_cast<float>(i % 7));
  writer->write("chr2", 0, 4, 1);
  writer->write("chr2", 4, 6, 2);
  writer->write("chr2", 6, 8, 3);
  writer->write("chr2", 9, 12, 4);
  writer->write("chr2", 12, 15, 5);
  writer->write("chrM", 3, 4, 6);
  writer->commit();
  ASSERT_TRUE(fs::exists(o.path));
  ASSERT_TRUE(fs::exists(o.path + ".tbi"));
  EXPECT_EQ(files_in_dir(), 2u);

  // chr2:5-10 is 1-based inclusive, i.e. [4, 10) in BED coordinates.
  EXPECT_EQ(tabix_query(o.path, "chr2:5-10"),
            (std::vector<std::string>{"chr2\t4\t6\t2", "chr2\t6\t8\t3", "chr2\t9\t12\t4"}));
  EXPECT_EQ(tabix_query(o.path, "chrM"), (std::vector<std::string>{"chrM\t3\t4\t6"}));
  EXPECT_EQ(tabix_query(o.path, "chr1:4001-4002"),
            (std::vector<std::string>{"chr1\t4000\t4001\t3", "chr1\t4001\t4002\t4"}));
  std::string text = bgzf_text(o.path);
  EXPECT_EQ(text.rfind("track type=bedGraph\nchr1\t0\t1\t0\nchr1\t1\t2\t1\n", 0), 0u);
  const std::string tail = "chr2\t12\t15\t5\nchrM\t3\t4\t6\n";
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
}

TEST_F(TrackWriterTest, TabixToolReadsTheIndex) {
  if (std::system("command -v tabix >/dev/null 2>&1") != 0) GTEST_SKIP() << "tabix not on PATH";
  auto o = options(path("tool.bedgraph.gz"), TrackFormat::kBedGraphGz);
  o.write_index = true;
  o.track_line = "track type=bedGraph";
  auto writer = write::make_track_writer(o);
  writer->write("chr1", 0, 5, 1.5f);
  writer->write("chr2", 5, 9, 2.5f);
  writer->write("chr2", 9, 20, 3.5f);
  writer->commit();
  std::string listed = path("tabix.txt");
  std::string command = "tabix '" + o.path + "' chr2:10-10 > '" + listed + "' && tabix -l '" +
                        o.path + "' >> '" + listed + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(util::read_whole_file(listed), "chr2\t9\t20\t3.5\nchr1\nchr2\n");
  // The index is the one the tool builds itself (skipping the track line with -S 1).
  std::string copy = path("copy.bedgraph.gz");
  fs::copy_file(o.path, copy);
  command = "tabix -S 1 -p bed '" + copy + "' && bgzip -dc '" + copy + ".tbi' > '" + copy +
            ".txt' && bgzip -dc '" + o.path + ".tbi' > '" + o.path + ".txt'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(util::read_whole_file(copy + ".txt"), util::read_whole_file(o.path + ".txt"));
}

TEST_F(TrackWriterTest, BigWigReadsBackThroughLibBigWig) {
  auto o = options(path("out.bw"), TrackFormat::kBigWig);
  o.chrom_sizes = {{"chr1", 30000}, {"chr2", 5000}, {"chrEmpty", 100}, {"chr10", 200}};
  std::vector<float> chr1(30000, NAN), chr2(5000, NAN), chr10(200, NAN);
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-3.0f, 1.0f);
  auto writer = write::make_track_writer(o);
  // Many distinct values in several libBigWig blocks (one holds ~2,700 records) and batches.
  for (int64_t i = 0; i + 2 <= 30000; i += 3) {
    float v = uniform(random);
    writer->write("chr1", i, i + 2, v);
    chr1[i] = chr1[i + 1] = v;
  }
  // Runs of equal values, merged into 50 intervals.
  for (int64_t i = 0; i < 5000; ++i) {
    chr2[i] = static_cast<float>(i / 100) * 0.25f - 5.0f;
    writer->write("chr2", i, i + 1, chr2[i]);
  }
  writer->write("chr10", 190, 200, -7.5f);
  std::fill(chr10.begin() + 190, chr10.end(), -7.5f);
  writer->commit();
  EXPECT_EQ(files_in_dir(), 1u);

  bigWigFile_t* in = bwOpen(o.path.c_str(), nullptr, "r");
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(in->cl->nKeys, 4);
  EXPECT_STREQ(in->cl->chrom[3], "chr10");
  EXPECT_EQ(in->cl->len[0], 30000u);
  EXPECT_DOUBLE_EQ(in->hdr->minVal, -7.5);
  EXPECT_DOUBLE_EQ(in->hdr->maxVal, 7.25);
  auto expect_values = [&](const char* chrom, const std::vector<float>& expected) {
    bwOverlappingIntervals_t* values =
        bwGetValues(in, chrom, 0, static_cast<uint32_t>(expected.size()), 1);
    ASSERT_NE(values, nullptr) << chrom;
    ASSERT_EQ(values->l, expected.size()) << chrom;
    int mismatches = 0;
    for (uint32_t i = 0; i < values->l; ++i) {
      bool same = std::isnan(expected[i]) ? std::isnan(values->value[i])
                                          : std::fabs(values->value[i] - expected[i]) <= 1e-6;
      if (!same && ++mismatches < 5)
        ADD_FAILURE() << chrom << ":" << i << " " << values->value[i] << " != " << expected[i];
    }
    EXPECT_EQ(mismatches, 0) << chrom;
    bwDestroyOverlappingIntervals(values);
  };
  expect_values("chr1", chr1);
  expect_values("chr2", chr2);
  expect_values("chr10", chr10);
  Intervals merged = stored_intervals(in, "chr2", 0, 5000);
  ASSERT_EQ(merged.size(), 50u);
  EXPECT_EQ(merged[1], std::make_pair(100u, 200u));
  EXPECT_EQ(stored_intervals(in, "chr1", 15000, 15004), (Intervals{{15000, 15002}, {15003, 15005}}));
  bwClose(in);
}

TEST_F(TrackWriterTest, WriterWithoutCommitLeavesNoFile) {
  for (auto format : {TrackFormat::kBedGraph, TrackFormat::kBedGraphGz, TrackFormat::kBigWig}) {
    auto o = options(path("abandoned"), format);
    o.write_index = format == TrackFormat::kBedGraphGz;
    o.chrom_sizes = {{"chr1", 100000}};
    auto writer = write::make_track_writer(o);
    for (int64_t i = 0; i < 20000; ++i) writer->write("chr1", i, i + 1, static_cast<float>(i));
    EXPECT_EQ(files_in_dir(), 1u);  // the temporary
    writer.reset();
    EXPECT_EQ(files_in_dir(), 0u) << static_cast<int>(format);
  }
  // A commit that fails (here the temporary has vanished) leaves nothing either.
  auto o = options(path("gone.bedgraph.gz"), TrackFormat::kBedGraphGz);
  o.write_index = true;
  auto writer = write::make_track_writer(o);
  writer->write("chr1", 0, 1, 1);
  for (const auto& entry : fs::directory_iterator(dir_)) fs::remove(entry.path());
  EXPECT_NE(error_of([&] { writer->commit(); }), "(no error)");
  writer.reset();
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(TrackWriterTest, BigWigSummaryHoldsTheTrueExtremes) {
  // libBigWig's own running maximum stays at DBL_MIN for a track of negative values.
  auto o = options(path("negative.bw"), TrackFormat::kBigWig);
  o.chrom_sizes = {{"chr1", 100}};
  auto writer = write::make_track_writer(o);
  writer->write("chr1", 0, 10, -1.0f);
  writer->write("chr1", 10, 20, -2.0f);
  writer->write("chr1", 20, 30, -3.0f);
  writer->commit();
  bigWigFile_t* in = bwOpen(o.path.c_str(), nullptr, "r");
  ASSERT_NE(in, nullptr);
  EXPECT_DOUBLE_EQ(in->hdr->minVal, -3.0);
  EXPECT_DOUBLE_EQ(in->hdr->maxVal, -1.0);
  EXPECT_EQ(in->hdr->nBasesCovered, 30u);
  bwClose(in);
}

TEST_F(TrackWriterTest, InvalidOptionsAreErrors) {
  auto bigwig = options("-", TrackFormat::kBigWig);
  bigwig.chrom_sizes = {{"chr1", 10}};
  EXPECT_EQ(error_of([&] { write::make_track_writer(bigwig); }),
            "stdout: bigWig output needs a file name (-o)");
  auto index = options(path("x.bedgraph"), TrackFormat::kBedGraph);
  index.write_index = true;
  EXPECT_EQ(error_of([&] { write::make_track_writer(index); }),
            "-W: a tabix index needs bgzip bedGraph output (-O z)");
  index.format = TrackFormat::kBigWig;
  EXPECT_NE(error_of([&] { write::make_track_writer(index); }).find("-W: "), std::string::npos);
  index.format = TrackFormat::kBedGraphGz;
  index.path = "-";
  EXPECT_EQ(error_of([&] { write::make_track_writer(index); }),
            "-W: a tabix index needs an output file name (-o), not stdout");
  auto sizes = options(path("x.bw"), TrackFormat::kBigWig);
  EXPECT_NE(error_of([&] { write::make_track_writer(sizes); }).find("needs the chromosome sizes"),
            std::string::npos);
  sizes.chrom_sizes = {{"chr1", 10}, {"chr1", 20}};
  EXPECT_NE(error_of([&] { write::make_track_writer(sizes); }).find("twice"), std::string::npos);
  sizes.chrom_sizes = {{"chr1", int64_t{1} << 32}};
  EXPECT_NE(error_of([&] { write::make_track_writer(sizes); }).find("4294967295"), std::string::npos);
  sizes.chrom_sizes = {{"chr1", 10}};
  sizes.track_line = "track type=bedGraph";
  EXPECT_NE(error_of([&] { write::make_track_writer(sizes); }).find("--track-line: "), std::string::npos);
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(TrackWriterTest, RecordsOutOfOrderAreErrors) {
  auto rejected = [&](TrackFormat format, const std::function<void(write::TrackWriter&)>& writes) {
    auto o = options(path("order"), format);
    o.chrom_sizes = {{"chr1", 100}, {"chr2", 100}};
    auto writer = write::make_track_writer(o);
    std::string error = error_of([&] { writes(*writer); });
    EXPECT_NE(error_of([&] { writer->commit(); }), "(no error)");  // the writer is spent
    writer.reset();
    EXPECT_EQ(files_in_dir(), 0u);
    return error;
  };
  for (auto format : {TrackFormat::kBedGraph, TrackFormat::kBedGraphGz, TrackFormat::kBigWig}) {
    std::string prefix = path("order") + ": ";
    EXPECT_EQ(rejected(format, [](auto& w) { w.write("chr1", 10, 20, 1); w.write("chr1", 15, 30, 1); }),
              prefix + "records out of order: chr1:15-30 starts before 20, the end of the previous record");
    EXPECT_EQ(rejected(format, [](auto& w) { w.write("chr1", 10, 20, 1); w.write("chr2", 0, 5, 1); w.write("chr1", 30, 40, 1); }),
              prefix + "records out of order: contig 'chr1' comes back after 'chr2'");
    EXPECT_EQ(rejected(format, [](auto& w) { w.write("chr1", 5, 5, 1); }),
              prefix + "invalid record chr1:5-5");
  }
  std::string prefix = path("order") + ": ";
  EXPECT_EQ(rejected(TrackFormat::kBigWig, [](auto& w) { w.write("chr2", 0, 5, 1); w.write("chr1", 0, 5, 1); }),
            prefix + "records out of order: contig 'chr1' comes after 'chr2' but precedes it in the chromosome sizes");
  EXPECT_EQ(rejected(TrackFormat::kBigWig, [](auto& w) { w.write("chrX", 0, 5, 1); }),
            prefix + "contig 'chrX' is not in the chromosome sizes");
  EXPECT_EQ(rejected(TrackFormat::kBigWig, [](auto& w) { w.write("chr1", 90, 101, 1); }),
            prefix + "record chr1:90-101 ends past the contig's length 100");
  EXPECT_EQ(rejected(TrackFormat::kBigWig, [](auto& w) { w.commit(); }),
            prefix + "no records to write; an empty bigWig file would be unreadable");
}

TEST_F(TrackWriterTest, WriteErrorsAreReported) {
  std::mt19937 random(11);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto write_error = [&](TrackFormat format) -> std::string {
    auto o = options(path("full"), format);
    o.write_index = format == TrackFormat::kBedGraphGz;
    o.chrom_sizes = {{"chr1", 1 << 20}};
    try {
      auto writer = write::make_track_writer(o);
      for (int64_t i = 0; i < 200000; ++i) writer->write("chr1", i, i + 1, uniform(random));
      writer->commit();
    } catch (const Error& error) {
      return error.what();
    }
    return "written";
  };
  std::string text, bgzip, bigwig;
  {
    test_support::FileSizeLimit limit(64 * 1024);  // the writes fail halfway, as on a full disk
    text = write_error(TrackFormat::kBedGraph);
    bgzip = write_error(TrackFormat::kBedGraphGz);
    bigwig = write_error(TrackFormat::kBigWig);
  }

  EXPECT_NE(text.find("File too large"), std::string::npos) << text;
  EXPECT_NE(bgzip.find("write failed"), std::string::npos) << bgzip;
  EXPECT_NE(bigwig.find("write failed"), std::string::npos) << bigwig;
  EXPECT_EQ(files_in_dir(), 0u);
}
