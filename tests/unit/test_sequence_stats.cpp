#include <gtest/gtest.h>
#include <htslib/bgzf.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/region.hpp"
#include "stats/sequence_stats.hpp"
#include "util/error.hpp"
#include "util/output_file.hpp"
#include "io_test_support.hpp"
#include "test_support.hpp"

using namespace germ;
using germ::io::Region;
using germ::io::testing::error_of;
using germ::stats::ContigComposition;

namespace {

// Three records: mixed case with N and IUPAC codes over two lines, an empty record, and every
// accepted symbol once in each case. The counts below are worked out by hand from this text.
const char* const kFasta =
    ">mixed some description\n"
    "ACGTacgtNNnnRYsw\n"
    "GGCC\n"
    ">empty\n"
    ">iupac\n"
    "ACGTURYSWKMBDHVNX*-.acgturyswkmbdhvnx\n";

ContigComposition composition(const std::string& name, int64_t length, int64_t a, int64_t c,
                              int64_t g, int64_t t, int64_t n, int64_t other, int64_t soft_masked) {
  ContigComposition row;
  row.name = name;
  row.length = length;
  row.a = a, row.c = c, row.g = g, row.t = t, row.n = n, row.other = other;
  row.soft_masked = soft_masked;
  return row;
}

// mixed: A a | C c C C | G g G G | T t | N N n n | R Y s w; lower case a c g t n n s w.
const ContigComposition kMixed = composition("mixed", 20, 2, 4, 4, 2, 4, 4, 8);
const ContigComposition kEmpty = composition("empty", 0, 0, 0, 0, 0, 0, 0, 0);
// iupac, per case: A C G, T and U as T, N and X as N, RYSWKMBDHV as other; the gaps *-. (upper
// half only) as other; the lower half (17 letters) is soft-masked.
const ContigComposition kIupac = composition("iupac", 37, 2, 2, 2, 4, 4, 23, 17);

std::vector<ContigComposition> summarise(const std::string& path, const std::vector<Region>& regions = {},
                                         size_t chunk_bases = io::SequenceReader::kDefaultChunkBases) {
  std::vector<ContigComposition> rows;
  stats::summarise_sequences(path, regions, [&](const ContigComposition& row) { rows.push_back(row); },
                             chunk_bases);
  return rows;
}

void write_bgzip(const std::string& path, const std::string& text) {
  BGZF* out = bgzf_open(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(bgzf_write(out, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(bgzf_close(out), 0);
}

void write_plain_gzip(const std::string& path, const std::string& text) {
  gzFile out = gzopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(out), Z_OK);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

class SequenceStats : public germ::test_support::TempDirTest {
 protected:
  std::string write_fasta(const std::string& name = "seqs.fa", const std::string& text = kFasta) {
    util::write_file_atomically(path(name), text);
    return path(name);
  }
};

}  // namespace

TEST_F(SequenceStats, HandCountedCompositionPerRecord) {
  std::vector<ContigComposition> rows = summarise(write_fasta());
  EXPECT_EQ(rows, (std::vector<ContigComposition>{kMixed, kEmpty, kIupac}));
}

TEST_F(SequenceStats, FractionsUseTheirOwnDenominators) {
  EXPECT_DOUBLE_EQ(kMixed.gc_fraction(), 8.0 / 12.0);  // over A+C+G+T only
  EXPECT_DOUBLE_EQ(kMixed.n_fraction(), 4.0 / 20.0);   // over the whole length
  EXPECT_DOUBLE_EQ(kMixed.soft_masked_fraction(), 8.0 / 20.0);
  EXPECT_EQ(kEmpty.gc_fraction(), 0.0);
  EXPECT_EQ(kEmpty.n_fraction(), 0.0);
  EXPECT_EQ(kEmpty.soft_masked_fraction(), 0.0);
  ContigComposition only_n = composition("gap", 5, 0, 0, 0, 0, 5, 0, 0);
  EXPECT_EQ(only_n.gc_fraction(), 0.0);
  EXPECT_EQ(only_n.n_fraction(), 1.0);
}

TEST_F(SequenceStats, GzipAndBgzipGiveTheSameCounts) {
  write_bgzip(path("seqs.fa.gz"), kFasta);
  write_plain_gzip(path("seqs.plain.fa.gz"), kFasta);
  std::vector<ContigComposition> expected = {kMixed, kEmpty, kIupac};
  EXPECT_EQ(summarise(path("seqs.fa.gz")), expected);
  EXPECT_EQ(summarise(path("seqs.plain.fa.gz")), expected);
}

TEST_F(SequenceStats, FastqReadsAreRowsToo) {
  util::write_file_atomically(path("reads.fq"), "@r1\nACGTn\n+\nIIIII\n@r2\nGGCCRa\n+\nIIIIII\n");
  EXPECT_EQ(summarise(path("reads.fq")),
            (std::vector<ContigComposition>{composition("r1", 5, 1, 1, 1, 1, 1, 0, 1),
                                            composition("r2", 6, 1, 2, 2, 0, 0, 1, 1)}));
}

TEST_F(SequenceStats, RegionsOfAnIndexedFastaAreNamedAndCountedAlone) {
  std::string fasta = write_fasta();
  std::vector<Region> regions = {{"mixed", 4, 12}, {"iupac", 0, -1}, {"mixed", 16, -1}};
  std::vector<ContigComposition> rows = summarise(fasta, regions, 3);
  // mixed:5-12 is "acgtNNnn"; mixed:17- resolves to the contig end, "GGCC".
  EXPECT_EQ(rows, (std::vector<ContigComposition>{composition("mixed:5-12", 8, 1, 1, 1, 1, 4, 0, 6),
                                                  ContigComposition(kIupac),
                                                  composition("mixed:17-20", 4, 0, 2, 2, 0, 0, 0, 0)}));
  EXPECT_EQ(rows[0].name, io::parse_region(rows[0].name).to_string());
}

TEST_F(SequenceStats, ContigsLongerThanAChunkAddUpAcrossChunks) {
  // "ACGTNacgtR" a thousand times then "GG", single-line and wrapped; then 3000 'a' in a row,
  // more than any packed 8-bit counter could hold without being spread out in time.
  std::string unit = "ACGTNacgtR", repeated;
  for (int i = 0; i < 1000; ++i) repeated += unit;
  repeated += "GG";
  std::string wrapped;
  for (size_t at = 0; at < repeated.size(); at += 60) wrapped += repeated.substr(at, 60) + "\n";
  std::string fasta = write_fasta("long.fa", ">one_line\n" + repeated + "\n>wrapped\n" + wrapped +
                                                 ">run\n" + std::string(3000, 'a') + "\n");
  std::vector<ContigComposition> expected = {
      composition("one_line", 10002, 2000, 2000, 2002, 2000, 1000, 1000, 4000),
      composition("wrapped", 10002, 2000, 2000, 2002, 2000, 1000, 1000, 4000),
      composition("run", 3000, 3000, 0, 0, 0, 0, 0, 3000)};
  for (size_t chunk_bases : {size_t{1}, size_t{7}, size_t{64}, size_t{1019}, size_t{1020},
                             size_t{1021}, size_t{4096}, io::SequenceReader::kDefaultChunkBases}) {
    EXPECT_EQ(summarise(fasta, {}, chunk_bases), expected) << "chunk " << chunk_bases;
  }
  std::vector<ContigComposition> region_rows = summarise(fasta, {{"one_line", 3, 10002}}, 999);
  ASSERT_EQ(region_rows.size(), 1u);
  // Bases 4..10002 (1-based) drop the first "ACG" of the first unit.
  EXPECT_EQ(region_rows[0], composition("one_line:4-10002", 9999, 1999, 1999, 2001, 2000, 1000, 1000, 4000));
}

TEST_F(SequenceStats, CounterTalliesAnyBytesAndResets) {
  stats::CompositionCounter counter;
  counter.reset("x");
  counter.add("acgU");
  counter.add(std::string("1\0", 2));  // not sequence characters: counted as other
  EXPECT_EQ(counter.counts(), composition("x", 6, 1, 1, 1, 1, 0, 2, 3));
  counter.reset("y");
  EXPECT_EQ(counter.counts(), composition("y", 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST_F(SequenceStats, TotalsSumEveryRow) {
  ContigComposition total = stats::total_composition({kMixed, kEmpty, kIupac});
  EXPECT_EQ(total, composition("total", 57, 4, 6, 6, 6, 8, 27, 25));
  ContigComposition running;
  for (const auto& row : {kMixed, kEmpty, kIupac}) running.merge(row);
  running.name = "total";
  EXPECT_EQ(running, total);
}

TEST_F(SequenceStats, TsvHasTheFixedHeaderAndFourDecimalFractions) {
  std::vector<ContigComposition> rows = {kMixed, kEmpty, kIupac};
  std::vector<std::string> lines = lines_of(stats::format_composition_tsv(rows, stats::total_composition(rows)));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "#contig\tlength\tA\tC\tG\tT\tN\tother\tsoft_masked\tgc\tn_fraction\tsoft_masked_fraction");
  EXPECT_EQ(lines[1], "mixed\t20\t2\t4\t4\t2\t4\t4\t8\t0.6667\t0.2000\t0.4000");
  EXPECT_EQ(lines[2], "empty\t0\t0\t0\t0\t0\t0\t0\t0\t0.0000\t0.0000\t0.0000");
  EXPECT_EQ(lines[4], "#total\t57\t4\t6\t6\t6\t8\t27\t25\t0.5455\t0.1404\t0.4386");
  EXPECT_EQ(stats::composition_tsv_row(kIupac), lines[3] + "\n");
}

TEST_F(SequenceStats, TextColumnsLineUp) {
  std::vector<ContigComposition> rows = {kMixed, kEmpty, kIupac};
  rows[2].name = "a_contig_name_longer_than_the_default";
  std::vector<std::string> lines = lines_of(stats::format_composition_text(rows, stats::total_composition(rows)));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"contig", "length", "GC", "N", "soft-masked"}));
  EXPECT_EQ(words_of(lines[1]), (std::vector<std::string>{"mixed", "20", "0.6667", "0.2000", "0.4000"}));
  EXPECT_EQ(words_of(lines[4]), (std::vector<std::string>{"total", "57", "0.5455", "0.1404", "0.4386"}));
  for (const std::string& line : lines) EXPECT_EQ(line.size(), lines[0].size()) << line;

  // Row by row with a fixed width, a longer name pushes only its own line; the width never
  // drops below the "contig" heading.
  stats::CompositionTextFormat narrow(2);
  EXPECT_EQ(narrow.header().substr(0, 7), "contig ");
  EXPECT_EQ(narrow.row(composition("ab", 1, 1, 0, 0, 0, 0, 0, 0)).size(), narrow.header().size());
  EXPECT_EQ(narrow.row(composition("eight_ch", 1, 1, 0, 0, 0, 0, 0, 0)).size(), narrow.header().size() + 2);
}

TEST_F(SequenceStats, JsonParsesBackToTheCounts) {
  std::vector<ContigComposition> rows = summarise(write_fasta());
  nlohmann::json document = nlohmann::json::parse(
      stats::format_composition_json(rows, stats::total_composition(rows)));
  ASSERT_EQ(document["contigs"].size(), 3u);
  const nlohmann::json& mixed = document["contigs"][0];
  EXPECT_EQ(mixed["name"], "mixed");
  EXPECT_EQ(mixed["length"], 20);
  EXPECT_EQ(mixed["A"], 2);
  EXPECT_EQ(mixed["C"], 4);
  EXPECT_EQ(mixed["G"], 4);
  EXPECT_EQ(mixed["T"], 2);
  EXPECT_EQ(mixed["N"], 4);
  EXPECT_EQ(mixed["other"], 4);
  EXPECT_EQ(mixed["soft_masked"], 8);
  EXPECT_DOUBLE_EQ(mixed["gc"].get<double>(), 8.0 / 12.0);
  EXPECT_DOUBLE_EQ(mixed["n_fraction"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(mixed["soft_masked_fraction"].get<double>(), 0.4);
  EXPECT_EQ(document["contigs"][1]["name"], "empty");
  EXPECT_EQ(document["contigs"][1]["gc"], 0.0);
  EXPECT_EQ(document["contigs"][2]["other"], 23);
  const nlohmann::json& total = document["total"];
  EXPECT_EQ(total["contigs"], 3);
  EXPECT_EQ(total["length"], 57);
  EXPECT_EQ(total["soft_masked"], 25);
  EXPECT_DOUBLE_EQ(total["gc"].get<double>(), 12.0 / 22.0);
  EXPECT_FALSE(total.contains("name"));
}

TEST_F(SequenceStats, BadInputsAreOneLineErrorsNamingTheFile) {
  util::write_file_atomically(path("notes.txt"), "this is not a sequence file\n");
  write_plain_gzip(path("seqs.plain.fa.gz"), kFasta);
  std::string fasta = write_fasta();
  struct Case {
    std::string file;
    std::vector<Region> regions;
    const char* problem;
  };
  const Case cases[] = {
      {path("missing.fa"), {}, "cannot open"},
      {path("notes.txt"), {}, "not a FASTA or FASTQ file"},
      {fasta, {{"chrZ", 0, -1}}, "chrZ"},
      {fasta, {{"mixed", 10, 50}}, "mixed"},
      {path("seqs.plain.fa.gz"), {{"mixed", 0, -1}}, ""},
  };
  for (const Case& c : cases) {
    std::string message = error_of([&] { summarise(c.file, c.regions); });
    EXPECT_EQ(message.rfind(c.file + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NE(error_of([&] { summarise(fasta, {}, 0); }), "(no error)");
}
