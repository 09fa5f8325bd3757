// `tessera data`: a synthetic CIFAR-10 and EMNIST folder converted through
// the executable; the summary (text and JSON), exit statuses, one-line
// errors, and nothing written on failure.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/input_io.hpp"
#include "tests/support/dataset_files.hpp"
#include "tests/support/run_command.hpp"

namespace {

namespace fs = std::filesystem;

using Result = tessera::test::CommandResult;

Result run(const std::string& args) { return tessera::test::run_command(std::string("'") + TESSERA_EXE + "' " + args, "data_cli"); }

class DataCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tessera_data_cli_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "cifar");
    tessera::test::write_cifar10_folder((root_ / "cifar").string());
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string cifar() const { return (root_ / "cifar").string(); }
  std::string out() const { return (root_ / "out").string(); }

  // Exit status `status`, one line on stderr holding every fragment, and no
  // output folder.
  void expect_failure(const std::string& args, int status, const std::vector<std::string>& fragments) {
    const Result r = run(args);
    EXPECT_EQ(r.status, status) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
    for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << args << ": " << r.err;
  }
  fs::path root_;
};

TEST_F(DataCli, Cifar10IsConvertedAndSummarised) {
  const Result r = run("data cifar10 --in " + cifar() + " --out " + out());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + out() + "/train-images-idx3-ubyte.gz: 10 images [10, 3, 32, 32], sha256 "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("wrote " + out() + "/t10k-labels-idx1-ubyte.gz: 1 label [1], sha256 "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("classes.txt: 10 class names"), std::string::npos) << r.out;
  // The written set reads back: 4-dim unsigned bytes, as training/dataset.cpp wants.
  const tessera::IdxArray img = tessera::read_idx(out() + "/train-images-idx3-ubyte.gz", 0, -1, false);
  EXPECT_EQ(img.type, 0x08);
  EXPECT_EQ(img.dims, (std::vector<int>{10, 3, 32, 32}));
  EXPECT_EQ(img.values[3072 + 1024 + 33], tessera::test::cifar_pixel(1, 1, 1, 1));
}

TEST_F(DataCli, JsonHoldsEveryFileWithShapeAndChecksum) {
  const Result r = run("data cifar10-gray --in " + cifar() + " --out " + out() + " --resize legacy --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dataset"], "cifar10-gray");
  ASSERT_EQ(j["files"].size(), 4u);
  EXPECT_EQ(j["files"][0]["shape"], nlohmann::json({10, 28, 28}));
  EXPECT_EQ(j["files"][0]["items"], 10);
  EXPECT_EQ(j["files"][3]["path"], out() + "/t10k-labels-idx1-ubyte.gz");
  for (const auto& f : j["files"]) EXPECT_EQ(f["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["classes"].size(), 10u);
  EXPECT_EQ(j["classes"][0], "airplane");
  EXPECT_EQ(j["inputs"].size(), 6u);
  EXPECT_NE(j["images"].get<std::string>().find("legacy"), std::string::npos);
  // The checksum printed is `zcat FILE | sha256sum`.
  const std::string cmd = "zcat '" + out() + "/train-labels-idx1-ubyte.gz' | sha256sum";
  FILE* p = popen(cmd.c_str(), "r");
  char line[128] = {0};
  ASSERT_NE(fgets(line, sizeof line, p), nullptr);
  pclose(p);
  EXPECT_EQ(std::string(line).substr(0, 64), j["files"][1]["sha256"].get<std::string>());
}

TEST_F(DataCli, EmnistLettersHelpSaysLabelsAreLettersFromZero) {
  const Result r = run("data --help");
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("labels 1..26 (letters a..z) written\n                  as 0..25"), std::string::npos) << r.out;
  for (const char* s : {"emnist-letters", "cifar10", "cifar100", "cifar10-gray", "svhn", "--force", "Examples:"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST_F(DataCli, EmnistLettersConvertThroughTheCommand) {
  const std::string dir = (root_ / "emnist").string();
  fs::create_directories(dir);
  for (const char* split : {"train", "test"}) {
    std::vector<std::uint8_t> pixels(2 * 784, 9);
    tessera::test::write_idx(dir + "/emnist-letters-" + split + "-images-idx3-ubyte.gz", {2, 28, 28}, pixels);
    tessera::test::write_idx(dir + "/emnist-letters-" + split + "-labels-idx1-ubyte.gz", {2}, {1, 26});
  }
  const Result r = run("data emnist-letters --in " + dir + " --out " + out() + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(tessera::read_idx(out() + "/train-labels-idx1-ubyte.gz", 0, -1, false).values, (std::vector<double>{0, 25}));
}

TEST_F(DataCli, TruncatedBatchFailsInOneLineAndWritesNothing) {
  std::ofstream(cifar() + "/data_batch_2.bin", std::ios::binary) << std::string(3073 + 10, '\1');
  expect_failure("data cifar10 --in " + cifar() + " --out " + out(), 1,
                 {"tessera data: error: ", "data_batch_2.bin: truncated", "byte offset 3073"});
  EXPECT_FALSE(fs::exists(out()));
}

TEST_F(DataCli, MissingFileAndArchiveAreNamed) {
  fs::remove(cifar() + "/test_batch.bin");
  expect_failure("data cifar10 --in " + cifar() + " --out " + out(), 1, {cifar() + "/test_batch.bin: missing"});
  std::ofstream(root_ / "cifar-10-binary.tar.gz") << "x";
  expect_failure("data cifar10 --in " + (root_ / "cifar-10-binary.tar.gz").string() + " --out " + out(), 1,
                 {"is an archive; extract it first"});
  EXPECT_FALSE(fs::exists(out()));
}

TEST_F(DataCli, ExistingOutputNeedsForce) {
  ASSERT_EQ(run("data cifar10 --in " + cifar() + " --out " + out()).status, 0);
  const auto before = fs::last_write_time(out() + "/train-images-idx3-ubyte.gz");
  expect_failure("data cifar10 --in " + cifar() + " --out " + out(), 1,
                 {"train-images-idx3-ubyte.gz: exists; give --force to overwrite it"});
  EXPECT_EQ(fs::last_write_time(out() + "/train-images-idx3-ubyte.gz"), before);
  EXPECT_EQ(run("data cifar10 --in " + cifar() + " --out " + out() + " --force").status, 0);
}

TEST_F(DataCli, UsageErrorsAndOptionsOfAnotherSource) {
  expect_failure("data cifar10 --out " + out(), 2, {"usage error", "--in"});
  expect_failure("data emnist-balanced --in " + cifar() + " --out " + out(), 2, {"unknown data set 'emnist-balanced'"});
  expect_failure("data cifar10 --in " + cifar() + " --out " + out() + " --labels coarse", 1,
                 {"--labels is for cifar100 only"});
  expect_failure("data cifar10-gray --in " + cifar() + " --out " + out() + " --resize bicubic", 1,
                 {"resize method 'bicubic'"});
  std::ofstream(root_ / "file") << "x";
  expect_failure("data cifar10 --in " + cifar() + " --out " + (root_ / "file").string(), 1, {"is not a folder"});
  EXPECT_FALSE(fs::exists(out()));
}

}  // namespace
