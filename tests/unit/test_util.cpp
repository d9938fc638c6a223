#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

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

TEST(Progress, AResumedRunCountsOnlyItsOwnUnitsInTheRate) {
  // 900 steps done before the process started, none since: the rate is 0, not 900 per elapsed
  // moment (which made a resumed run report thousands of steps/s and an ETA of seconds).
  std::FILE* sink = std::tmpfile();
  {
    util::Progress progress("pretrain", 1000, "steps", util::Progress::Mode::kPlain, sink);
    progress.resume_at(900);
    progress.finish();
  }
  std::rewind(sink);
  char buf[256] = {0};
  ASSERT_NE(std::fgets(buf, sizeof buf, sink), nullptr);
  std::string line(buf);
  EXPECT_NE(line.find("pretrain: 900/1.00k steps, 0 steps/s"), std::string::npos) << line;
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
  // A FIFO of our own is the special file under test: it behaves like /dev/null or /dev/stdout
  // (not a regular file) and does not depend on how the machine's /dev was set up (a CI
  // container once had a /dev/null that was not a character device).
  const fs::path dir = fresh_dir("fifo");
  const fs::path fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  germ::util::write_file_atomically(fifo.string(), "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat info {};
  ASSERT_EQ(::stat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode)) << "the FIFO was renamed over";
  EXPECT_EQ(files_in(dir), 1u) << "a temporary was left beside the FIFO";

  struct stat null_before {};
  if (::stat("/dev/null", &null_before) == 0 && S_ISCHR(null_before.st_mode)) {
    germ::util::write_file_atomically("/dev/null", "discarded");
    struct stat null_after {};
    ASSERT_EQ(::stat("/dev/null", &null_after), 0);
    EXPECT_TRUE(S_ISCHR(null_after.st_mode)) << "/dev/null must stay a device";
    EXPECT_EQ(null_after.st_ino, null_before.st_ino);
  }

  const std::string folder = dir.string();
  try {
    germ::util::OutputFile out(folder);
    FAIL() << "a directory was accepted as an output file";
  } catch (const germ::Error& e) {
    EXPECT_EQ(std::string(e.what()), folder + ": is a directory, not an output file");
  }
  fs::remove_all(dir);
}
