#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/error.hpp"
#include "util/output_file.hpp"
#include "util/progress.hpp"
#include "util/runtime.hpp"

namespace fs = std::filesystem;
using namespace germ;

namespace {
fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("germ-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
size_t files_in(const fs::path& dir) {
  return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
}
}  // namespace

TEST(OutputFile, AppearsOnlyAfterCommit) {
  fs::path dir = fresh_dir("commit");
  fs::path target = dir / "out.txt";
  {
    util::OutputFile out(target.string());
    out.write("hello\n");
    EXPECT_FALSE(fs::exists(target));
    EXPECT_EQ(files_in(dir), 1u);  // only the temporary
    out.commit();
  }
  ASSERT_TRUE(fs::exists(target));
  EXPECT_EQ(util::read_whole_file(target.string()), "hello\n");
  EXPECT_EQ(files_in(dir), 1u);
  fs::remove_all(dir);
}

TEST(OutputFile, AbandonedWriteLeavesPreviousFileUntouched) {
  fs::path dir = fresh_dir("abandon");
  fs::path target = dir / "out.txt";
  util::write_file_atomically(target.string(), "previous");
  {
    util::OutputFile out(target.string());
    out.write("partial");
  }
  EXPECT_EQ(util::read_whole_file(target.string()), "previous");
  EXPECT_EQ(files_in(dir), 1u);
  fs::remove_all(dir);
}

TEST(OutputFile, UnwritableDirectoryIsAnError) {
  EXPECT_THROW(util::OutputFile("/nonexistent-dir-germ/x.txt"), Error);
}

TEST(Progress, PlainModePrintsFinalLineWithTotals) {
  std::FILE* sink = std::tmpfile();
  {
    util::Progress progress("score", 1000, "bases", util::Progress::Mode::kPlain, sink);
    progress.update(500);
    progress.finish("done");
  }
  std::rewind(sink);
  char buf[256] = {0};
  ASSERT_NE(std::fgets(buf, sizeof buf, sink), nullptr);
  std::string line(buf);
  EXPECT_NE(line.find("score: 500/1.00k bases"), std::string::npos) << line;
  EXPECT_NE(line.find("done"), std::string::npos);
  std::fclose(sink);
}

TEST(Progress, HumanUnits) {
  EXPECT_EQ(util::human_count(999), "999");
  EXPECT_EQ(util::human_count(12345), "12.35k");
  EXPECT_EQ(util::human_duration(3725), "1h02m");
  EXPECT_EQ(util::human_duration(65), "1m05s");
}

TEST(Runtime, ThreadsAreApplied) {
  EXPECT_EQ(util::configure_threads(2), 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_THROW(util::configure_threads(-1), Error);
}

TEST(Runtime, BlasIsDetected) {
  // LibTorch links libblas.so.3; whichever alternative is selected must be named.
  util::BlasInfo blas = util::detect_blas();
  EXPECT_FALSE(blas.name.empty());
}

TEST(Runtime, DeviceSelection) {
  EXPECT_TRUE(util::select_device("cpu").is_cpu());
  EXPECT_THROW(util::select_device("tpu"), Error);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(util::select_device("cuda"), Error);
    EXPECT_TRUE(util::select_device("auto").is_cpu());
  }
}

TEST(OutputFile, TemporariesAreRegisteredForSignalsUntilCommitted) {
  namespace fs = std::filesystem;
  const fs::path target = fs::temp_directory_path() / ("germ-signal-test-" + std::to_string(::getpid()));
  const size_t before = germ::util::live_temporary_count();
  {
    germ::util::OutputFile out(target.string());
    EXPECT_EQ(germ::util::live_temporary_count(), before + 1);
    out.write("x");
    out.commit();
    EXPECT_EQ(germ::util::live_temporary_count(), before);
  }
  {
    germ::util::OutputFile abandoned(target.string() + ".b");
    EXPECT_EQ(germ::util::live_temporary_count(), before + 1);
  }
  EXPECT_EQ(germ::util::live_temporary_count(), before);
  EXPECT_FALSE(fs::exists(target.string() + ".b"));
  fs::remove(target);
}

TEST(OutputFile, DevicesAreWrittenInPlaceAndDirectoriesRefused) {
  germ::util::write_file_atomically("/dev/null", "discarded");
  struct stat info {};
  ASSERT_EQ(::stat("/dev/null", &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode)) << "/dev/null must stay a device";
  const std::string folder = std::filesystem::temp_directory_path().string();
  try {
    germ::util::OutputFile out(folder);
    FAIL() << "a directory was accepted as an output file";
  } catch (const germ::Error& e) {
    EXPECT_EQ(std::string(e.what()), folder + ": is a directory, not an output file");
  }
}
