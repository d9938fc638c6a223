#include <gtest/gtest.h>
#include <htslib/bgzf.h>
#include <unistd.h>

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "io/sequence_reader.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "io_test_support.hpp"

namespace fs = std::filesystem;
using namespace germ;
using namespace germ::io;
using namespace germ::io::testing;

namespace {

// Reads every chunk, checking the invariants each chunk must keep, and reassembles contigs.
Contigs read_checked(SequenceReader& reader, size_t chunk_bases) {
  Contigs contigs;
  SequenceChunk chunk;
  bool expect_start = true;
  while (reader.next(chunk)) {
    EXPECT_LE(chunk.bases.size(), chunk_bases);
    EXPECT_EQ(chunk.contig_start, expect_start) << chunk.contig << " at " << chunk.offset;
    if (chunk.contig_start) {
      contigs.emplace_back(chunk.contig, "");
      EXPECT_EQ(chunk.offset, 0);
      EXPECT_EQ(chunk.contig_index, static_cast<int64_t>(contigs.size()) - 1);
    } else {
      EXPECT_EQ(chunk.contig, contigs.back().first);
      EXPECT_EQ(chunk.offset, static_cast<int64_t>(contigs.back().second.size()));
    }
    // Only a chunk standing for a whole empty record may be empty.
    if (chunk.bases.empty()) EXPECT_TRUE(chunk.contig_start && chunk.contig_end);
    if (!chunk.contig_end) EXPECT_EQ(chunk.bases.size(), chunk_bases);
    contigs.back().second += chunk.bases;
    expect_start = chunk.contig_end;
  }
  EXPECT_TRUE(expect_start) << "the last chunk did not end its contig";
  return contigs;
}

Contigs read_all(const std::string& path, size_t chunk_bases = SequenceReader::kDefaultChunkBases) {
  SequenceReader reader(path, chunk_bases);
  return read_checked(reader, chunk_bases);
}

void drain(const std::string& path) {
  SequenceReader reader(path, 64);
  SequenceChunk chunk;
  while (reader.next(chunk)) {
  }
}

// Runs `action` with fd 0 reading `file`, as if it had been piped to germ.
void with_stdin_from(const std::string& file, const std::function<void()>& action) {
  int saved = ::dup(0);
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, 0);
  ::close(fd);
  action();
  ::dup2(saved, 0);
  ::close(saved);
}

}  // namespace

TEST(SequenceReader, SmallFastaReassemblesExactlyInEveryCompression) {
  Contigs expected = expected_contigs("small.fa.seq");
  ASSERT_EQ(expected.size(), 3u);
  for (const char* file : {"small.fa", "small.fa.gz", "small.plain.fa.gz"}) {
    SequenceReader reader(data_path(file));
    EXPECT_EQ(reader.format(), SequenceFormat::Fasta);
    EXPECT_EQ(read_checked(reader, SequenceReader::kDefaultChunkBases), expected) << file;
  }
}

TEST(SequenceReader, ChunkSizeNeverChangesTheSequenceOrOffsets) {
  Contigs expected = expected_contigs("small.fa.seq");
  for (const char* file : {"small.fa", "small.fa.gz"}) {
    for (size_t chunk_bases : {1, 7, 60, 61, 4096}) {
      EXPECT_EQ(read_all(data_path(file), chunk_bases), expected) << file << " chunk " << chunk_bases;
    }
  }
}

TEST(SequenceReader, ChunkCountMatchesContigLengths) {
  SequenceReader reader(data_path("small.fa"), 1000);
  SequenceChunk chunk;
  std::vector<size_t> sizes;
  while (reader.next(chunk)) sizes.push_back(chunk.bases.size());
  // chr1 3000 -> 3 chunks, chr2 2500 -> 3, HLA 923 -> 1
  EXPECT_EQ(sizes, (std::vector<size_t>{1000, 1000, 1000, 1000, 1000, 500, 923}));
}

TEST(SequenceReader, ZeroChunkSizeIsRejected) {
  EXPECT_THROW(SequenceReader(data_path("small.fa"), 0), Error);
}

TEST(SequenceReader, SoftMaskingIsKeptAndNormalizeUppercases) {
  Contigs contigs = read_all(data_path("small.fa"));
  const std::string& chr1 = contigs[0].second;
  std::string masked = chr1.substr(700, 400);
  EXPECT_EQ(masked.find_first_not_of("acgt"), std::string::npos);
  EXPECT_EQ(chr1.substr(0, 700).find_first_not_of("ACGT"), std::string::npos);
  std::string normalized = normalize_bases(chr1);
  EXPECT_EQ(normalized.find_first_not_of("ACGT"), std::string::npos);
  for (size_t i = 0; i < chr1.size(); ++i) ASSERT_EQ(normalized[i], std::toupper(chr1[i]));
  EXPECT_EQ(contigs[1].second.substr(1200, 300), std::string(300, 'N'));
}

TEST(SequenceReader, CrlfLineEndsAreStripped) {
  EXPECT_EQ(read_all(data_path("crlf.fa"), 7), expected_contigs("crlf.fa.seq"));
}

TEST(SequenceReader, EmptyRecordsYieldOneEmptyChunkEach) {
  SequenceReader reader(data_path("empty_record.fa"), 3);
  SequenceChunk chunk;
  std::vector<std::tuple<std::string, std::string, bool, bool>> seen;
  while (reader.next(chunk)) seen.emplace_back(chunk.contig, chunk.bases, chunk.contig_start, chunk.contig_end);
  using T = std::tuple<std::string, std::string, bool, bool>;
  std::vector<T> expected = {T{"first", "ACG", true, false},  T{"first", "T", false, true},
                             T{"empty", "", true, true},      T{"third", "GGC", true, false},
                             T{"third", "CTT", false, true},  T{"trailing_empty", "", true, true}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(read_all(data_path("header_only.fa")), (Contigs{{"lonely", ""}}));
}

TEST(SequenceReader, BlankLinesAreIgnored) {
  EXPECT_EQ(read_all(data_path("blank_lines.fa"), 3), (Contigs{{"a", "ACGT"}, {"b", "TT"}}));
}

TEST(SequenceReader, IupacCodesAreAcceptedAndNormalizedToN) {
  Contigs contigs = read_all(data_path("iupac.fa"));
  ASSERT_EQ(contigs.size(), 1u);
  EXPECT_EQ(contigs[0].second, "ACGTURYSWKMBDHVNX*-.acgturyswkmbdhvnx");
  EXPECT_EQ(normalize_bases(contigs[0].second), "ACGTTNNNNNNNNNNNNNNNACGTTNNNNNNNNNNNN");
}

TEST(NormalizeBases, InPlaceMatchesCopyAndMapsEverythingElseToN) {
  std::string text = "acgtNnRy*-";
  std::string copy = normalize_bases(text);
  normalize_bases_in_place(text);
  EXPECT_EQ(text, copy);
  EXPECT_EQ(copy, "ACGTNNNNNN");
  EXPECT_EQ(normalize_bases(std::string("A1\0c", 4)), "ANNC");
  EXPECT_TRUE(is_sequence_char('y'));
  EXPECT_FALSE(is_sequence_char('1'));
  EXPECT_FALSE(is_sequence_char('>'));
}

TEST(SequenceReader, FastqPlainAndGzipGiveTheSameReads) {
  Contigs plain = read_all(data_path("small.fq"), 16);
  EXPECT_EQ(plain.size(), 20u);
  EXPECT_EQ(plain.front().first, "read1");
  EXPECT_EQ(read_all(data_path("small.fq.gz"), 16), plain);
  // Cross-check lengths against the raw four-line layout.
  std::ifstream in(data_path("small.fq"));
  std::string header, bases, plus, quality;
  for (size_t i = 0; std::getline(in, header) && std::getline(in, bases) && std::getline(in, plus) &&
                     std::getline(in, quality);
       ++i) {
    EXPECT_EQ(plain[i].second, bases);
  }
  SequenceReader reader(data_path("small.fq"));
  EXPECT_EQ(reader.format(), SequenceFormat::Fastq);
}

TEST(SequenceReader, MultiLineAndEmptyFastqRecords) {
  EXPECT_EQ(read_all(data_path("multiline.fq"), 5),
            (Contigs{{"wrapped", "ACGTACGTTTGG"}, {"empty", ""}, {"last", "NNA"}}));
}

TEST(SequenceReader, StdinWorksForPlainAndGzip) {
  Contigs expected = expected_contigs("small.fa.seq");
  for (const char* file : {"small.fa", "small.fa.gz", "small.plain.fa.gz"}) {
    with_stdin_from(data_path(file), [&] {
      SequenceReader reader("-", 100);
      EXPECT_EQ(reader.path(), "-");
      EXPECT_EQ(read_checked(reader, 100), expected) << file;
    });
  }
}

TEST(SequenceReader, BadInputsGiveOneLineErrorsNamingTheFile) {
  struct Case {
    const char* file;
    const char* problem;
  };
  const Case cases[] = {
      {"empty.fa", "empty file, no sequence records"},
      {"blank_only.fa", "empty file, no sequence records"},
      {"empty_name.fa", "line 3: record 2 has an empty name"},
      {"bad_char.fa", "line 3: invalid sequence character '1'"},
      {"binary_in_sequence.fa", "line 2: invalid sequence character byte 0x00"},
      {"sequence_before_header.fa", "not a FASTA or FASTQ file: line 1 starts with 'A'"},
      {"garbage.bin", "not a FASTA or FASTQ file: line 1 starts with byte 0x89"},
      {"truncated.fa.gz", "truncated or corrupt gzip data"},
      {"truncated_plain.fa.gz", "truncated or corrupt gzip data"},
      {"quality_mismatch.fq", "record 2 ('r2') has 4 bases but 6 quality values"},
      {"truncated.fq", "record 2 ('r2') is truncated"},
      {"bad_quality.fq", "invalid quality character byte 0x20"},
      {"does_not_exist.fa", "cannot open: No such file or directory"},
  };
  for (const Case& c : cases) {
    std::string message = error_of([&] { drain(data_path(c.file)); });
    EXPECT_EQ(message.rfind(data_path(c.file) + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << c.file << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NE(error_of([] { drain(GERM_TEST_DATA_DIR); }).find("is a directory"), std::string::npos);
}

TEST(SequenceReader, TruncatedBgzipAtABlockBoundaryIsDetected) {
  // Dropping only the 28-byte end-of-file block leaves every data block intact.
  fs::path dir = fresh_dir("eof");
  std::string whole = util::read_whole_file(data_path("small.fa.gz"));
  std::string cut = (dir / "cut.fa.gz").string();
  util::write_file_atomically(cut, whole.substr(0, whole.size() - 28));
  EXPECT_NE(error_of([&] { drain(cut); }).find("truncated or corrupt gzip data"), std::string::npos);
  fs::remove_all(dir);
}

TEST(SequenceReader, LongSingleLineRecordIsStreamedInBoundedChunks) {
  // A few megabases on one line, plain and bgzip, standing in for a 250 Mb chromosome.
  fs::path dir = fresh_dir("long");
  std::mt19937 rng(7);
  std::string sequence(5'000'003, 'A');
  for (char& c : sequence) c = "ACGTacgtN"[rng() % 9];
  std::string text = ">long\n" + sequence + "\n>tail\nAC\n";
  std::string plain = (dir / "long.fa").string(), packed = (dir / "long.fa.gz").string();
  util::write_file_atomically(plain, text);
  BGZF* out = bgzf_open(packed.c_str(), "w");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(bgzf_write(out, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(bgzf_close(out), 0);

  constexpr size_t kChunk = 1 << 16;
  for (const std::string& path : {plain, packed}) {
    SequenceReader reader(path, kChunk);
    SequenceChunk chunk;
    std::string reassembled;
    size_t chunks = 0, largest = 0;
    while (reader.next(chunk) && chunk.contig == "long") {
      reassembled += chunk.bases;
      largest = std::max(largest, chunk.bases.size());
      ++chunks;
    }
    EXPECT_EQ(chunk.contig, "tail");
    EXPECT_EQ(chunk.bases, "AC");
    EXPECT_EQ(largest, kChunk);
    EXPECT_EQ(chunks, (sequence.size() + kChunk - 1) / kChunk);
    EXPECT_TRUE(reassembled == sequence) << path;
  }
  fs::remove_all(dir);
}

TEST(ContigSizes, FromIndexOrStreamingAgreeAndDuplicatesAreRejected) {
  ContigSizes expected = {{"chr1", 3000}, {"chr2", 2500}, {"HLA-A*01:01", 923}};
  EXPECT_TRUE(IndexedFasta::has_index(data_path("small.fa")));
  EXPECT_EQ(read_contig_sizes(data_path("small.fa")), expected);
  EXPECT_EQ(read_contig_sizes(data_path("small.plain.fa.gz")), expected);  // no index: streamed
  EXPECT_FALSE(IndexedFasta::has_index(data_path("small.plain.fa.gz")));
  EXPECT_EQ(read_contig_sizes(data_path("empty_record.fa")),
            (ContigSizes{{"first", 4}, {"empty", 0}, {"third", 6}, {"trailing_empty", 0}}));
  std::string message = error_of([] { read_contig_sizes(data_path("duplicate_names.fa")); });
  EXPECT_NE(message.find("contig name 'dup' appears more than once"), std::string::npos) << message;
}

// Real genomes (../shared/data): streamed contigs must equal a naive whole-file read, and
// chunks must respect the requested bound.
TEST(SequenceReader, SharedGenomesStreamLikeAWholeRead) {
  fs::path genomes = fs::path(GERM_SHARED_DATA_DIR) / "genomes";
  if (!fs::is_directory(genomes)) GTEST_SKIP() << "shared genomes not found at " << genomes;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(genomes)) {
    if (entry.path().extension() != ".fa") continue;
    ++files;
    Contigs whole;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line[0] == '>')
        whole.emplace_back(line.substr(1, line.find_first_of(" \t") - 1), "");
      else if (!whole.empty())
        whole.back().second += line;
    }
    constexpr size_t kChunk = 50'000;
    EXPECT_TRUE(read_all(entry.path().string(), kChunk) == whole) << entry.path();
    ContigSizes sizes = read_contig_sizes(entry.path().string());
    ASSERT_EQ(sizes.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i)
      EXPECT_EQ(sizes[i].second, static_cast<int64_t>(whole[i].second.size())) << whole[i].first;
  }
  EXPECT_GT(files, 0u);
}
