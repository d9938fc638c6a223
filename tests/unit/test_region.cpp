#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "io/indexed_fasta.hpp"
#include "io/region.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "io_test_support.hpp"

namespace fs = std::filesystem;
using namespace germ;
using namespace germ::io;
using namespace germ::io::testing;

namespace {

std::map<std::string, std::string> small_fasta_sequences(const std::string& seq_file = "small.fa.seq") {
  Contigs contigs = expected_contigs(seq_file);
  return std::map<std::string, std::string>(contigs.begin(), contigs.end());
}

fs::path copy_into(const fs::path& dir, const std::string& name) {
  fs::copy_file(data_path(name), dir / name);
  return dir / name;
}

// Streams through SequenceReader(path, regions) and checks genomic offsets and flags.
std::vector<std::string> read_regions(const std::string& path, const std::vector<Region>& regions,
                                      size_t chunk_bases) {
  SequenceReader reader(path, regions, chunk_bases);
  std::vector<std::string> pieces;
  SequenceChunk chunk;
  size_t region = 0;
  while (reader.next(chunk)) {
    EXPECT_LT(region, regions.size());
    if (region >= regions.size()) break;
    EXPECT_LE(chunk.bases.size(), chunk_bases);
    EXPECT_EQ(chunk.contig, regions[region].contig);
    if (chunk.contig_start) pieces.emplace_back();
    EXPECT_EQ(chunk.offset, regions[region].begin + static_cast<int64_t>(pieces.back().size()));
    pieces.back() += chunk.bases;
    if (chunk.contig_end) ++region;
  }
  EXPECT_EQ(region, regions.size());
  return pieces;
}

}  // namespace

TEST(ParseRegion, AcceptsSamtoolsSyntax) {
  struct Case {
    std::string text;
    Region expected;
  };
  const Case cases[] = {
      {"chr1", {"chr1", 0, -1}},
      {"chr1:100", {"chr1", 99, -1}},
      {"chr1:100-", {"chr1", 99, -1}},
      {"chr1:-200", {"chr1", 0, 200}},
      {"chr1:100-200", {"chr1", 99, 200}},
      {"chr1:1,000-2,000", {"chr1", 999, 2000}},
      {"chr1:5-5", {"chr1", 4, 5}},
      {"HLA-A*01:01:1-10", {"HLA-A*01:01", 0, 10}},  // rightmost colon
      {"{HLA-A*01:01}", {"HLA-A*01:01", 0, -1}},
      {"{HLA-A*01:01}:5-9", {"HLA-A*01:01", 4, 9}},
      {"{chr1:100-200}", {"chr1:100-200", 0, -1}},
      {"chrUn_KI270742v1", {"chrUn_KI270742v1", 0, -1}},
      // Braces inside a quoted name (found by fuzzing): the closing brace is the last one.
      {"{:}:-}", {":}:-", 0, -1}},
      {"{a}:b}:3-4", {"a}:b", 2, 4}},
      {"{{x}", {"{x", 0, -1}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_region(c.text), c.expected) << c.text;
    EXPECT_EQ(parse_region(c.expected.to_string()), c.expected) << "round trip of " << c.text;
  }
  EXPECT_EQ(Region({"chr1", 99, 200}).to_string(), "chr1:100-200");
  EXPECT_EQ(Region({"a:b", 0, -1}).to_string(), "{a:b}");
  EXPECT_EQ(Region({"{x", 0, -1}).to_string(), "{{x}");
}

TEST(ParseRegion, KnownContigNamesWinOverRanges) {
  auto is_contig = [](const std::string& name) { return name == "22:20000001-21000000"; };
  EXPECT_EQ(parse_region("22:20000001-21000000", is_contig), (Region{"22:20000001-21000000", 0, -1}));
  EXPECT_EQ(parse_region("22:20000001-21000000:11-20", is_contig), (Region{"22:20000001-21000000", 10, 20}));
  EXPECT_EQ(parse_region("22:20000001-21000000"), (Region{"22", 20000000, 21000000}));
}

TEST(ParseRegion, RejectsBadRegionsNamingTheOption) {
  struct Case {
    std::string text;
    std::string problem;
  };
  const Case cases[] = {
      {"", "empty region"},
      {"chr1:0-10", "positions are 1-based"},
      {"chr1:200-100", "end 100 is before begin 200"},
      {"chr1:abc", "position 'abc' is not a number"},
      {"chr1:1k-2k", "position '1k' is not a number"},
      {"chr1:1-2-3", "position '2-3' is not a number"},
      {"chr1:", "missing position after ':'"},
      {"chr1:-", "missing position after ':'"},
      {"chr1:,", "position ',' is not a number"},
      {":1-10", "empty contig name"},
      {"{}", "empty contig name"},
      {"{chr1", "'{' without a closing '}'"},
      {"{chr1}x", "expected ':' after '}'"},
      {"chr1:99999999999999999999", "too large"},
  };
  for (const Case& c : cases) {
    std::string message = error_of([&] { parse_region(c.text); });
    EXPECT_EQ(message.rfind("-r/--region " + c.text + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << c.text << " -> " << message;
  }
}

TEST(IndexedFasta, FetchEqualsSliceOfStreamedSequence) {
  auto sequences = small_fasta_sequences();
  for (const char* file : {"small.fa", "small.fa.gz"}) {
    ASSERT_TRUE(IndexedFasta::has_index(data_path(file))) << file;
    IndexedFasta fasta(data_path(file));
    EXPECT_EQ(fasta.contigs(), (ContigSizes{{"chr1", 3000}, {"chr2", 2500}, {"HLA-A*01:01", 923}}));
    EXPECT_EQ(fasta.contig_index("chr2"), 1);
    EXPECT_EQ(fasta.contig_length("HLA-A*01:01"), 923);
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; ++trial) {
      const auto& [name, length] = fasta.contigs()[rng() % 3];
      int64_t begin = rng() % length;
      int64_t end = begin + static_cast<int64_t>(rng() % (length - begin + 1));
      ASSERT_EQ(fasta.fetch(name, begin, end), sequences[name].substr(begin, end - begin))
          << file << " " << name << ":" << begin << "-" << end;
    }
    EXPECT_EQ(fasta.fetch("chr1", 700, 704), sequences["chr1"].substr(700, 4));  // soft-masked kept
    EXPECT_EQ(fasta.fetch("chr1", 700, 704).find_first_not_of("acgt"), std::string::npos);
  }
}

TEST(IndexedFasta, ErrorsNameFileContigAndLength) {
  IndexedFasta fasta(data_path("small.fa"));
  std::string unknown = error_of([&] { fasta.contig_length("chrX"); });
  EXPECT_EQ(unknown.rfind(data_path("small.fa") + ": no contig named 'chrX'", 0), 0u) << unknown;
  std::string outside = error_of([&] { fasta.fetch("chr1", 2990, 3001); });
  EXPECT_NE(outside.find("region chr1:2991-3001 lies outside contig 'chr1' (length 3000)"), std::string::npos)
      << outside;
  EXPECT_NE(error_of([&] { fasta.resolve(parse_region("chr2:2501")); }).find("lies outside"), std::string::npos);
  EXPECT_EQ(fasta.resolve(parse_region("chr2:2500")), (Region{"chr2", 2499, 2500}));
}

TEST(IndexedFasta, UnindexableInputsExplainWhatToDo) {
  fs::path dir = fresh_dir("unindexable");
  std::string ragged = copy_into(dir, "ragged.fa").string();
  EXPECT_NE(error_of([&] { IndexedFasta{ragged}; }).find("samtools faidx " + ragged), std::string::npos);
  EXPECT_FALSE(fs::exists(ragged + ".fai"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporaries
  EXPECT_NE(error_of([] { IndexedFasta{data_path("small.plain.fa.gz")}; }).find("bgzip"), std::string::npos);
  EXPECT_NE(error_of([] { IndexedFasta{data_path("small.fq")}; }).find("is FASTQ"), std::string::npos);
  EXPECT_NE(error_of([] { IndexedFasta{"-"}; }).find("stdin"), std::string::npos);
  EXPECT_NE(error_of([] { IndexedFasta{data_path("empty.fa")}; }).find("empty file"), std::string::npos);
  fs::remove_all(dir);
}

TEST(IndexedFasta, MissingIndexIsBuiltBesideTheFileLikeSamtools) {
  fs::path dir = fresh_dir("build");
  for (const char* file : {"small.fa", "small.fa.gz"}) {
    std::string copy = copy_into(dir, file).string();
    EXPECT_FALSE(IndexedFasta::has_index(copy));
    IndexedFasta fasta(copy);
    EXPECT_TRUE(IndexedFasta::has_index(copy));
    EXPECT_EQ(util::read_whole_file(copy + ".fai"), util::read_whole_file(data_path(std::string(file) + ".fai")));
    EXPECT_EQ(fasta.fetch("chr2", 1195, 1205), small_fasta_sequences()["chr2"].substr(1195, 10));
  }
  // CRLF files index and fetch correctly too.
  std::string crlf = copy_into(dir, "crlf.fa").string();
  EXPECT_EQ(IndexedFasta(crlf).fetch("crlf1", 55, 65), small_fasta_sequences("crlf.fa.seq")["crlf1"].substr(55, 10));
  fs::remove_all(dir);
}

TEST(IndexedFasta, ReadOnlyDirectoryUsesATemporaryIndex) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write into read-only directories";
  fs::path dir = fresh_dir("readonly");
  std::string copy = copy_into(dir, "small.fa").string();
  ::chmod(dir.c_str(), 0555);
  IndexedFasta fasta(copy);
  EXPECT_EQ(fasta.contig_length("chr1"), 3000);
  EXPECT_FALSE(fs::exists(copy + ".fai"));
  fs::path scratch_fai = fs::temp_directory_path() / ("germ-faidx-" + std::to_string(::getpid()) + "-small.fa.fai");
  EXPECT_FALSE(fs::exists(scratch_fai)) << "the temporary index must be removed after loading";
  ::chmod(dir.c_str(), 0755);
  fs::remove_all(dir);
}

TEST(RegionReader, ChunksEqualSlicesAtEveryChunkSize) {
  auto sequences = small_fasta_sequences();
  std::vector<Region> regions = {parse_region("chr1:650-1,150"), parse_region("{HLA-A*01:01}"),
                                 parse_region("chr2:1190-1510"), parse_region("chr1:3000")};
  for (const char* file : {"small.fa", "small.fa.gz"}) {
    for (size_t chunk_bases : {1, 7, 60, 61, 4096}) {
      std::vector<std::string> pieces = read_regions(data_path(file), regions, chunk_bases);
      ASSERT_EQ(pieces.size(), 4u);
      EXPECT_EQ(pieces[0], sequences["chr1"].substr(649, 501)) << file << " " << chunk_bases;
      EXPECT_EQ(pieces[1], sequences["HLA-A*01:01"]);
      EXPECT_EQ(pieces[2], sequences["chr2"].substr(1189, 321));
      EXPECT_EQ(pieces[3], sequences["chr1"].substr(2999));
    }
  }
  SequenceReader single(data_path("small.fa"), parse_region("chr2:10-19"));
  SequenceChunk chunk;
  ASSERT_TRUE(single.next(chunk));
  EXPECT_EQ(chunk.contig_index, 1);
  EXPECT_EQ(chunk.offset, 9);
  EXPECT_TRUE(chunk.contig_start && chunk.contig_end);
  EXPECT_FALSE(single.next(chunk));
}

TEST(RegionReader, BadRegionFailsBeforeAnyChunk) {
  std::vector<Region> regions = {parse_region("chr1:1-10"), parse_region("chr2:2000-3000")};
  std::string message = error_of([&] { SequenceReader(data_path("small.fa"), regions); });
  EXPECT_NE(message.find("chr2:2000-3000 lies outside contig 'chr2' (length 2500)"), std::string::npos)
      << message;
  EXPECT_NE(error_of([] { SequenceReader(data_path("small.fa"), parse_region("chrZ")); }).find("no contig named"),
            std::string::npos);
}

TEST(RegionReader, SharedHumanRegionWithColonContigName) {
  fs::path genome = fs::path(GERM_SHARED_DATA_DIR) / "genomes" / "human_GRCh37_chr22_20-21Mb.fa";
  if (!fs::exists(genome)) GTEST_SKIP() << "shared genome not found: " << genome;
  // A symlink in a scratch directory, so the index is built there and not in shared data.
  fs::path dir = fresh_dir("shared");
  fs::path link = dir / "chr22.fa";
  fs::create_symlink(fs::absolute(genome), link);
  std::string whole;
  {
    SequenceReader reader(link.string(), 1 << 16);
    SequenceChunk chunk;
    while (reader.next(chunk)) whole += chunk.bases;
  }
  IndexedFasta fasta(link.string());
  ASSERT_EQ(fasta.contigs().size(), 1u);
  const std::string name = fasta.contigs()[0].first;
  EXPECT_EQ(name, "22:20000001-21000000");
  EXPECT_EQ(fasta.contig_length(name), static_cast<int64_t>(whole.size()));
  auto is_contig = [&](const std::string& text) { return fasta.has_contig(text); };
  Region region = parse_region(name + ":400,001-520,000", is_contig);
  EXPECT_EQ(region, (Region{name, 400000, 520000}));
  std::vector<std::string> pieces = read_regions(link.string(), {region}, 10'000);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_TRUE(pieces[0] == whole.substr(400000, 120000));
  fs::remove_all(dir);
}
