#include <gtest/gtest.h>

#include <fstream>

#include "io/labelled_sequences.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

class LabelledSequences : public test_support::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  // The error message of reading `file`, or "" when it reads.
  std::string csv_error(const std::string& file, int64_t num_labels = 0) {
    try {
      io::read_labelled_csv(file, num_labels);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST_F(LabelledSequences, ReadsGueCsv) {
  auto set = io::read_labelled_csv(write("train.csv", "sequence,label\nACGTN,0\n\nacgtt,2\r\n\"GGCC\",1\n"));
  ASSERT_EQ(set.rows.size(), 3u);
  EXPECT_EQ(set.num_labels, 3);
  EXPECT_EQ(set.rows[1].bases, "acgtt");
  EXPECT_EQ(set.rows[1].label, 2);
  EXPECT_EQ(set.rows[1].line, 4);
  EXPECT_EQ(set.rows[2].bases, "GGCC");
  // Column order comes from the header.
  auto swapped = io::read_labelled_csv(write("swapped.csv", "label,sequence\n1,AC\n"));
  EXPECT_EQ(swapped.rows[0].bases, "AC");
  EXPECT_EQ(swapped.rows[0].label, 1);
}

TEST_F(LabelledSequences, BadRowsNameFileAndLine) {
  std::string f = write("bad.csv", "sequence,label\nACGT,0\nACXQ,1\n");
  EXPECT_NE(csv_error(f).find(f + ":3: sequence has 'Q', not DNA"), std::string::npos) << csv_error(f);
  f = write("nolabel.csv", "sequence,label\nACGT,\n");
  EXPECT_NE(csv_error(f).find(f + ":2: missing label"), std::string::npos) << csv_error(f);
  f = write("text.csv", "sequence,label\nACGT,one\n");
  EXPECT_NE(csv_error(f).find(":2: label 'one' is not an integer"), std::string::npos);
  f = write("range.csv", "sequence,label\nACGT,0\nACGT,5\n");
  EXPECT_NE(csv_error(f, 2).find(":3: label 5 is out of range (labels are 0..1)"), std::string::npos);
  EXPECT_EQ(csv_error(f), "");
  f = write("neg.csv", "sequence,label\nACGT,-1\n");
  EXPECT_NE(csv_error(f).find("negative"), std::string::npos);
  f = write("fields.csv", "sequence,label\nACGT,1,2\n");
  EXPECT_NE(csv_error(f).find(":2: expected 2 comma-separated fields, found 3"), std::string::npos);
  f = write("pair.csv", "seq1,seq2,label\nACGT,ACGT,1\n");
  EXPECT_NE(csv_error(f).find("pair classification"), std::string::npos);
  f = write("header.csv", "dna,class\nACGT,1\n");
  EXPECT_NE(csv_error(f).find("header must name the columns 'sequence' and 'label'"), std::string::npos);
  EXPECT_NE(csv_error(write("empty.csv", "")).find("empty file"), std::string::npos);
  EXPECT_NE(csv_error(write("only_header.csv", "sequence,label\n")).find("no sequences"), std::string::npos);
  EXPECT_NE(csv_error(path("absent.csv")).find("no such file"), std::string::npos);
}

TEST_F(LabelledSequences, FastaWithLabelsTsv) {
  std::string fa = write("s.fa", ">a desc\nACGT\nAC\n>b\nGGGG\n");
  auto set = io::read_labelled_fasta(fa, write("l.tsv", "name\tlabel\nb\t1\na\t0\n"));
  ASSERT_EQ(set.rows.size(), 2u);
  EXPECT_EQ(set.rows[0].bases, "ACGTAC");
  EXPECT_EQ(set.rows[0].label, 0);
  EXPECT_EQ(set.rows[1].label, 1);
  EXPECT_EQ(set.num_labels, 2);
  EXPECT_THROW(io::read_labelled_fasta(fa, write("m.tsv", "a\t0\n")), Error);          // b unlabelled
  EXPECT_THROW(io::read_labelled_fasta(fa, write("x.tsv", "a\t0\nb\t1\nc\t0\n")), Error);  // c absent
  EXPECT_THROW(io::read_labelled_fasta(fa, write("d.tsv", "a\t0\na\t1\nb\t0\n")), Error);  // twice
}

TEST_F(LabelledSequences, SplitsFromCsvOrFastaWithLabels) {
  std::filesystem::create_directories(path("task"));
  write("task/train.csv", "sequence,label\nACGT,1\n");
  write("task/dev.fa", ">r1\nACGTAC\n>r2\nGG\n");
  write("task/dev.labels.tsv", "r1\t0\nr2\t1\n");
  EXPECT_EQ(io::read_labelled_split(path("task"), "train").rows[0].label, 1);
  auto dev = io::read_labelled_split(path("task"), "dev");
  ASSERT_EQ(dev.rows.size(), 2u);
  EXPECT_EQ(dev.rows[0].bases, "ACGTAC");
  EXPECT_EQ(dev.rows[1].label, 1);
  EXPECT_EQ(io::read_labelled_split(path("task/dev.fa"), "test").rows.size(), 2u);  // a file: labels beside it
  EXPECT_THROW(io::read_labelled_split(path("task"), "test"), Error);
  EXPECT_EQ(io::read_labelled_split(path("task/train.csv"), "dev").rows.size(), 1u);  // a CSV file as it is
}
