// Replays the fuzzers' seed corpus and every minimised finding kept under
// tests/fuzz/regressions/<target>/ through the same readers as the fuzz
// targets, in the normal (and sanitised) build: each must be read or refused
// with a tessera::Error, never crash or throw anything else.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/forward.hpp"
#include "io/input_box.hpp"
#include "io/input_io.hpp"
#include "core/limits.hpp"
#include "io/onnx_io.hpp"
#include "tests/fuzz/generators.hpp"

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

// The structured targets: the same bytes give the same model or gzipped file
// as in the fuzzer, under the fuzzers' memory budget (64 MiB); each is read
// or refused, and a refused one never costs more than a little memory.
TEST(FuzzRegressions, ShapeModelsAreReadOrRefusedWithinTheBudget) {
  const auto all = files("shapes");
  EXPECT_GE(all.size(), 4u);
  const std::int64_t saved = memory_budget();
  set_memory_budget(std::int64_t{64} << 20);
  for (const auto& f : all) {
    const std::string bytes = read_file(f);
    const long before = peak_rss_mb();
    read_or_refuse(f, [&] {
      fuzz::Bytes b{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
      const Network net = parse_onnx(fuzz::shape_model(b), f);
      if (net.input_size() <= 100000) logits(net, Vector::Zero(net.input_size()));
    });
    EXPECT_LT(peak_rss_mb() - before, 256) << f;
  }
  set_memory_budget(saved);
}

TEST(FuzzRegressions, GzippedIdxIsReadOrRefused) {
  const auto all = files("gzidx");
  EXPECT_GE(all.size(), 3u);
  const fs::path tmp = fs::temp_directory_path() / ("tessera_gzidx_" + std::to_string(::getpid()) + ".gz");
  for (const auto& f : all) {
    const std::string bytes = read_file(f);
    const std::string gz = fuzz::gzipped(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    write_file_atomically(tmp.string(), gz);
    const std::int64_t item = bytes.empty() ? 4 : 1 + static_cast<unsigned char>(bytes[0]) % 64;
    const long before = peak_rss_mb();
    read_or_refuse(f, [&] { read_idx_header(tmp.string()); });
    read_or_refuse(f, [&] { read_idx(tmp.string(), 0, 3, true, item); });
    read_or_refuse(f, [&] {
      read_input_for(Shape({static_cast<int>(item)}), tmp.string(), bytes.size() > 1 ? bytes[1] % 4 : 0);
    });
    EXPECT_LT(peak_rss_mb() - before, 256) << f;
  }
  fs::remove(tmp);
}

TEST(FuzzRegressions, InputBoxesAreReadOrRefused) {
  const auto all = files("box");
  EXPECT_GE(all.size(), 3u);
  for (const auto& f : all) {
    const std::string text = read_file(f);
    const Eigen::Index d = text.empty() ? 2 : 1 + static_cast<unsigned char>(text[0]) % 8;
    read_or_refuse(f, [&] { parse_input_box(text, d, f); });
    read_or_refuse(f, [&] { parse_input_box(text, 784, f); });
  }
}
