// Replays the fuzzers' seed corpus and every minimised finding kept under
// tests/fuzz/regressions/<target>/ through the same readers as the fuzz
// targets, in the normal (and sanitised) build: each must be read or refused
// with a tessera::Error, never crash or throw anything else.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/file_util.hpp"
#include "core/forward.hpp"
#include "core/input_io.hpp"
#include "core/onnx_io.hpp"

namespace fs = std::filesystem;
using namespace tessera;

namespace {

std::vector<std::string> files(const std::string& target) {
  std::vector<std::string> out;
  for (const char* kind : {"seeds", "regressions"}) {
    const fs::path dir = fs::path(TESSERA_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename() != ".keep") out.push_back(e.path().string());
  }
  return out;
}

template <typename F>
void read_or_refuse(const std::string& file, F&& f) {
  try {
    f();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << file << ": threw something other than tessera::Error: " << e.what();
  }
}

}  // namespace

TEST(FuzzRegressions, OnnxFilesAreReadOrRefused) {
  const auto all = files("onnx");
  EXPECT_GE(all.size(), 3u);
  for (const auto& f : all)
    read_or_refuse(f, [&] {
      const Network net = parse_onnx(read_file(f), f);
      if (net.input_size() <= 100000) logits(net, Vector::Zero(net.input_size()));
    });
}

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

TEST(FuzzRegressions, IdxFilesAreReadOrRefused) {
  const auto all = files("idx");
  EXPECT_GE(all.size(), 6u);
  for (const auto& f : all) {
    const long before = peak_rss_mb();
    read_or_refuse(f, [&] { read_idx(f); });
    read_or_refuse(f, [&] { read_idx(f, 1, 2, false); });
    // A tiny file must not make the reader allocate what its header claims.
    EXPECT_LT(peak_rss_mb() - before, 256) << f;
  }
}

TEST(FuzzRegressions, TextFilesAreReadOrRefused) {
  const auto all = files("text");
  EXPECT_GE(all.size(), 3u);
  for (const auto& f : all) {
    read_or_refuse(f, [&] { read_vector_file(f); });
    read_or_refuse(f, [&] { read_vector_file(f, 2); });
  }
}

TEST(FuzzRegressions, ImagesAreReadOrRefused) {
  const auto all = files("image");
  EXPECT_GE(all.size(), 6u);
  for (const auto& f : all) {
    read_or_refuse(f, [&] { read_image(f); });
    read_or_refuse(f, [&] { read_input_for(Shape({1, 4, 4}), f); });
  }
}

// Findings of the IDX fuzzer, each refused at once.
TEST(FuzzRegressions, IdxHeadersThatDeclareWhatIsNotThereAreRefused) {
  const std::string dir = std::string(TESSERA_FUZZ_DIR) + "/regressions/idx/";
  // 2^30 items of zero values: nothing to read (the old reader looped 2^30 times).
  EXPECT_THROW(read_idx(dir + "zero_item_size_2pow30_items.idx"), Error);
  EXPECT_THROW(read_idx(dir + "zero_item_size_slow.idx"), Error);
  // 369 million float items declared in 33 bytes: truncated, refused without
  // allocating them (the old reader reserved 5.6 GB first).
  EXPECT_THROW(read_idx(dir + "huge_declared_size_33_bytes.idx"), Error);
}
