// Data set converters (io/dataset_convert.hpp): small synthetic files in
// each format, with known pixels, converted and read back with io's IDX
// reader.
#include <gtest/gtest.h>
#include <matio.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "io/dataset_convert.hpp"
#include "io/gray_resize.hpp"
#include "io/input_io.hpp"
#include "io/sha256.hpp"
#include "tests/support/dataset_files.hpp"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using test::cifar_batch;
using test::cifar_pixel;
using test::emnist_pixel;
using test::write_bytes;
using test::write_idx;

class DatasetConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tessera_datasets_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "in");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string in() const { return (root_ / "in").string(); }
  std::string out() const { return (root_ / "out").string(); }
  std::string out_file(const std::string& name) const { return (root_ / "out" / name).string(); }

  DatasetConvertOptions options(DataSource source) const {
    DatasetConvertOptions o;
    o.source = source;
    o.in_dir = in();
    o.out_dir = out();
    return o;
  }

  // The message of the tessera::Error that convert_dataset throws; checks
  // that no output file was written.
  std::string error_of(const DatasetConvertOptions& o) {
    try {
      convert_dataset(o);
    } catch (const Error& e) {
      for (const std::string& p : dataset_output_paths(out()))
        if (fs::exists(p) && !preexisting_.count(p)) ADD_FAILURE() << p << " was written despite the error";
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }

  void write_emnist(const std::string& split, const std::vector<std::uint8_t>& labels, bool gz = true) {
    const int n = static_cast<int>(labels.size());
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(n) * 784);
    for (int i = 0; i < n; ++i)
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c) pixels[i * 784 + c * 28 + r] = emnist_pixel(i, r, c);  // stored transposed
    const std::string stem = in() + "/emnist-letters-" + split;
    write_idx(stem + "-images-idx3-ubyte" + (gz ? ".gz" : ""), {n, 28, 28}, pixels);
    write_idx(stem + "-labels-idx1-ubyte" + (gz ? ".gz" : ""), {n}, labels);
  }

  fs::path root_;
  std::set<std::string> preexisting_;
};

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> v;
  for (std::string l; std::getline(f, l);) v.push_back(l);
  return v;
}

TEST(Sha256, KnownAnswerOfAbcInTwoPieces) {
  // FIPS 180-2, appendix B.1.
  EXPECT_EQ(sha256_hex({"a", "bc"}), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(DatasetConvert, EmnistLettersAreTransposedUprightAndLabelledFromZero) {
  write_emnist("train", {1, 26, 5});
  write_emnist("test", {2}, /*gz=*/false);  // the uncompressed release works too
  const DatasetConvertSummary s = convert_dataset(options(DataSource::kEmnistLetters));
  ASSERT_TRUE(s.complete);
  ASSERT_EQ(s.files.size(), 4u);
  EXPECT_EQ(s.files[0].dims, (std::vector<int>{3, 28, 28}));
  EXPECT_EQ(s.files[2].dims, (std::vector<int>{1, 28, 28}));

  // Round trip through io's reader: unsigned bytes, 3 dims as MNIST.
  const IdxArray img = read_idx(out_file("train-images-idx3-ubyte.gz"), 0, -1, /*scale_bytes=*/false);
  EXPECT_EQ(img.type, 0x08);
  ASSERT_EQ(img.dims, (std::vector<int>{3, 28, 28}));
  for (int i = 0; i < 3; ++i)
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c)
        ASSERT_EQ(img.values[i * 784 + r * 28 + c], emnist_pixel(i, r, c)) << i << " " << r << " " << c;
  const IdxArray lab = read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false);
  EXPECT_EQ(lab.values, (std::vector<double>{0, 25, 4}));
  EXPECT_EQ(read_idx(out_file("t10k-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{1}));

  const std::vector<std::string> classes = lines_of(out_file("classes.txt"));
  ASSERT_EQ(classes.size(), 26u);
  EXPECT_EQ(classes.front(), "a");
  EXPECT_EQ(classes.back(), "z");
  // The checksum is that of the file's uncompressed content.
  for (const ConvertedFile& f : s.files) EXPECT_EQ(f.sha256, sha256_hex({test::read_gz(f.path)})) << f.path;
}

TEST_F(DatasetConvert, EmnistLabelOutsideOneToTwentySixIsRefused) {
  write_emnist("train", {1, 0});
  write_emnist("test", {2});
  const std::string e = error_of(options(DataSource::kEmnistLetters));
  EXPECT_NE(e.find("emnist-letters-train-labels-idx1-ubyte.gz: label 0 of item 1 is outside 1..26"), std::string::npos) << e;
}

TEST_F(DatasetConvert, TruncatedEmnistImagesAreRefusedWithTheSizes) {
  write_emnist("train", {1, 2});
  write_emnist("test", {2});
  std::string idx = test::read_gz(in() + "/emnist-letters-train-images-idx3-ubyte.gz");
  idx.resize(idx.size() - 100);
  fs::remove(in() + "/emnist-letters-train-images-idx3-ubyte.gz");
  write_bytes(in() + "/emnist-letters-train-images-idx3-ubyte", idx);
  const std::string e = error_of(options(DataSource::kEmnistLetters));
  EXPECT_NE(e.find("emnist-letters-train-images-idx3-ubyte: truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("(1568 bytes of data) but the data ends after 1468 bytes"), std::string::npos) << e;
}

TEST_F(DatasetConvert, Cifar10ChannelPlanesBecomeThreeByThirtyTwoByThirtyTwo) {
  test::write_cifar10_folder(in());
  const DatasetConvertSummary s = convert_dataset(options(DataSource::kCifar10));
  ASSERT_TRUE(s.complete);
  EXPECT_EQ(s.inputs.size(), 6u);
  EXPECT_EQ(s.files[0].dims, (std::vector<int>{10, 3, 32, 32}));
  const IdxArray img = read_idx(out_file("train-images-idx3-ubyte.gz"), 0, -1, false);
  ASSERT_EQ(img.dims, (std::vector<int>{10, 3, 32, 32}));
  for (int k = 0; k < 10; ++k)
    for (int ch = 0; ch < 3; ++ch)
      for (int r = 0; r < 32; r += 5)
        for (int c = 0; c < 32; c += 3)
          ASSERT_EQ(img.values[k * 3072 + ch * 1024 + r * 32 + c], cifar_pixel(k, ch, r, c));
  EXPECT_EQ(read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false).values,
            (std::vector<double>{0, 1, 1, 2, 2, 3, 3, 4, 4, 5}));
  const IdxArray test_img = read_idx(out_file("t10k-images-idx3-ubyte.gz"), 0, -1, false);
  EXPECT_EQ(test_img.values[2 * 1024 + 31 * 32 + 31], cifar_pixel(100, 2, 31, 31));
  EXPECT_EQ(lines_of(out_file("classes.txt")),
            (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                      "truck"}));
}

TEST_F(DatasetConvert, Cifar100KeepsTheFineLabelByDefaultAndTheCoarseOnRequest) {
  write_bytes(in() + "/train.bin", cifar_batch({{3, 42}, {19, 99}}));
  write_bytes(in() + "/test.bin", cifar_batch({{0, 7}}));
  std::string names;
  for (int i = 0; i < 100; ++i) names += "fine" + std::to_string(i) + "\n";
  write_bytes(in() + "/fine_label_names.txt", names);
  DatasetConvertOptions o = options(DataSource::kCifar100);
  ASSERT_TRUE(convert_dataset(o).complete);
  EXPECT_EQ(read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{42, 99}));
  EXPECT_EQ(read_idx(out_file("t10k-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{7}));
  const std::vector<std::string> fine = lines_of(out_file("classes.txt"));
  ASSERT_EQ(fine.size(), 100u);
  EXPECT_EQ(fine[42], "fine42");
  const IdxArray img = read_idx(out_file("train-images-idx3-ubyte.gz"), 0, -1, false);
  EXPECT_EQ(img.values[3072 + 1024 + 5 * 32 + 6], cifar_pixel(1, 1, 5, 6));  // after two label bytes

  o.cifar100_labels = CifarLabel::kCifar100Coarse;
  o.force = true;
  ASSERT_TRUE(convert_dataset(o).complete);
  EXPECT_EQ(read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{3, 19}));
  const std::vector<std::string> coarse = lines_of(out_file("classes.txt"));  // no names file: numbers
  ASSERT_EQ(coarse.size(), 20u);
  EXPECT_EQ(coarse[19], "19");
}

// A gray gradient along the columns: R = G = B = 8 col. Gray is then
// 0.9999 * 8 col / 255 on [0, 1]; resampled at source column s it is
// 0.9999 * 8 s / 255, so the byte is round(7.9992 s).
std::string gradient_record(std::uint8_t label) {
  std::string rec(1, static_cast<char>(label));
  for (int ch = 0; ch < 3; ++ch)
    for (int r = 0; r < 32; ++r)
      for (int c = 0; c < 32; ++c) rec.push_back(static_cast<char>(8 * c));
  return rec;
}

TEST(GrayResize, HandComputedPixelsOfBothMethods) {
  const std::string rec = gradient_record(0);
  const auto* rgb = reinterpret_cast<const std::uint8_t*>(rec.data() + 1);
  std::uint8_t half[28 * 28], legacy[28 * 28];
  gray_resize(rgb, 32, 32, 28, 28, ResizeMethod::kBilinearHalfPixel, half);
  gray_resize(rgb, 32, 32, 28, 28, ResizeMethod::kBilinearLegacy, legacy);
  // Column 14. Half-pixel: s = 14.5 * 32/28 - 0.5 = 16.0714, 7.9992 s = 128.56 -> 129.
  // Legacy: s = 14 * 32/28 = 16, 7.9992 s = 127.99 -> 128.
  EXPECT_EQ(half[5 * 28 + 14], 129);
  EXPECT_EQ(legacy[5 * 28 + 14], 128);
  // Column 0: s = 0.0714 -> 0.57 -> 1; legacy s = 0 -> 0.
  EXPECT_EQ(half[0], 1);
  EXPECT_EQ(legacy[0], 0);
  // Column 27. Half-pixel: s = 30.929 -> 247.40 -> 247; legacy: s = 30.857 -> 246.83 -> 247.
  EXPECT_EQ(half[27], 247);
  EXPECT_EQ(legacy[27], 247);
  // Rows do not change a column gradient.
  EXPECT_EQ(half[27 * 28 + 14], 129);

  // The weights: pure red 255 -> 0.2989 * 255 = 76.22 -> 76; green 149.7 -> 150; blue 29.07 -> 29.
  for (int ch = 0; ch < 3; ++ch) {
    std::vector<std::uint8_t> pure(3 * 1024, 0);
    std::fill(pure.begin() + ch * 1024, pure.begin() + (ch + 1) * 1024, 255);
    std::uint8_t out[28 * 28];
    gray_resize(pure.data(), 32, 32, 28, 28, ResizeMethod::kBilinearHalfPixel, out);
    EXPECT_EQ(out[100], (std::array<int, 3>{76, 150, 29}[ch])) << ch;
  }
}

TEST_F(DatasetConvert, Cifar10GrayWritesTwentyEightByTwentyEightAsMnist) {
  test::write_cifar10_folder(in());
  write_bytes(in() + "/test_batch.bin", gradient_record(4));
  for (ResizeMethod m : {ResizeMethod::kBilinearHalfPixel, ResizeMethod::kBilinearLegacy}) {
    DatasetConvertOptions o = options(DataSource::kCifar10Gray);
    o.resize = m;
    o.force = true;
    const DatasetConvertSummary s = convert_dataset(o);
    ASSERT_TRUE(s.complete);
    EXPECT_EQ(s.files[0].dims, (std::vector<int>{10, 28, 28}));
    const IdxArray img = read_idx(out_file("t10k-images-idx3-ubyte.gz"), 0, -1, false);
    ASSERT_EQ(img.dims, (std::vector<int>{1, 28, 28}));
    EXPECT_EQ(img.values[5 * 28 + 14], m == ResizeMethod::kBilinearHalfPixel ? 129 : 128);
    EXPECT_EQ(read_idx(out_file("t10k-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{4}));
  }
}

// SVHN's layout: X(row, col, channel, n) at row + 32 col + 1024 channel + 1024 channels n.
std::uint8_t svhn_pixel(int n, int ch, int r, int c) { return static_cast<std::uint8_t>((r + 2 * c + 50 * ch + 7 * n) % 256); }

void write_svhn(const std::string& path, const std::vector<double>& labels, std::size_t channels = 3,
                matio_compression compression = MAT_COMPRESSION_NONE) {
  const std::size_t n = labels.size();
  std::vector<std::uint8_t> x(32 * 32 * channels * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t ch = 0; ch < channels; ++ch)
      for (int r = 0; r < 32; ++r)
        for (int c = 0; c < 32; ++c)
          x[r + 32 * c + 1024 * ch + 1024 * channels * i] = svhn_pixel(static_cast<int>(i), static_cast<int>(ch), r, c);
  std::vector<double> y = labels;
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  size_t xdims[4] = {32, 32, channels, n};
  matvar_t* xv = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, xdims, x.data(), 0);
  size_t ydims[2] = {n, 1};
  matvar_t* yv = Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, ydims, y.data(), 0);
  ASSERT_EQ(Mat_VarWrite(mat, xv, compression), 0);
  ASSERT_EQ(Mat_VarWrite(mat, yv, compression), 0);
  Mat_VarFree(xv);
  Mat_VarFree(yv);
  Mat_Close(mat);
}

TEST_F(DatasetConvert, SvhnColumnMajorBecomesRowMajorAndTenBecomesZero) {
  write_svhn(in() + "/train_32x32.mat", {10, 3, 1});
  write_svhn(in() + "/test_32x32.mat", {7, 10}, 3, MAT_COMPRESSION_ZLIB);  // MATLAB's -v7: compressed
  const DatasetConvertSummary s = convert_dataset(options(DataSource::kSvhn));
  ASSERT_TRUE(s.complete);
  const IdxArray img = read_idx(out_file("train-images-idx3-ubyte.gz"), 0, -1, false);
  ASSERT_EQ(img.dims, (std::vector<int>{3, 3, 32, 32}));
  for (int n = 0; n < 3; ++n)
    for (int ch = 0; ch < 3; ++ch)
      for (int r = 0; r < 32; ++r)
        for (int c = 0; c < 32; ++c)
          ASSERT_EQ(img.values[n * 3072 + ch * 1024 + r * 32 + c], svhn_pixel(n, ch, r, c)) << n << ch << r << c;
  EXPECT_EQ(read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{0, 3, 1}));
  EXPECT_EQ(read_idx(out_file("t10k-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{7, 0}));
  EXPECT_EQ(read_idx(out_file("t10k-images-idx3-ubyte.gz"), 0, -1, false).values[3072 + 2 * 1024 + 4 * 32 + 9],
            svhn_pixel(1, 2, 4, 9));
  EXPECT_EQ(lines_of(out_file("classes.txt")).size(), 10u);
}

TEST_F(DatasetConvert, SvhnExtraIsAppendedToTheTrainingSplit) {
  write_svhn(in() + "/train_32x32.mat", {1});
  write_svhn(in() + "/extra_32x32.mat", {2, 10});
  write_svhn(in() + "/test_32x32.mat", {3});
  DatasetConvertOptions o = options(DataSource::kSvhn);
  o.svhn_extra = true;
  ASSERT_TRUE(convert_dataset(o).complete);
  EXPECT_EQ(read_idx(out_file("train-labels-idx1-ubyte.gz"), 0, -1, false).values, (std::vector<double>{1, 2, 0}));
}

TEST_F(DatasetConvert, SvhnVariableOfTheWrongSizeIsRefused) {
  write_svhn(in() + "/train_32x32.mat", {1, 2}, /*channels=*/1);
  write_svhn(in() + "/test_32x32.mat", {3});
  const std::string e = error_of(options(DataSource::kSvhn));
  EXPECT_NE(e.find("train_32x32.mat: variable 'X' is uint8 32x32x1x2; expected uint8 32x32x3xN"), std::string::npos) << e;
}

TEST_F(DatasetConvert, SvhnLabelOutsideOneToTenIsRefused) {
  write_svhn(in() + "/train_32x32.mat", {1, 11});
  write_svhn(in() + "/test_32x32.mat", {3});
  const std::string e = error_of(options(DataSource::kSvhn));
  EXPECT_NE(e.find("train_32x32.mat: y(2) = 11"), std::string::npos) << e;
}

TEST_F(DatasetConvert, TruncatedMatFileIsRefused) {
  for (matio_compression compression : {MAT_COMPRESSION_NONE, MAT_COMPRESSION_ZLIB}) {
    write_svhn(in() + "/train_32x32.mat", {1, 2, 3}, 3, compression);
    write_svhn(in() + "/test_32x32.mat", {3});
    std::string bytes;
    {
      std::ifstream f(in() + "/train_32x32.mat", std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    write_bytes(in() + "/train_32x32.mat", bytes.substr(0, bytes.size() / 2));  // in the middle of X
    const std::string e = error_of(options(DataSource::kSvhn));
    EXPECT_NE(e.find(compression == MAT_COMPRESSION_NONE
                         ? "train_32x32.mat: truncated: variable 'X' (uint8 32x32x3x3) needs 9216 bytes but the file has only "
                         : "train_32x32.mat: variable 'X' cannot be read (truncated or damaged file?)"),
              std::string::npos)
        << compression << ": " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST_F(DatasetConvert, TruncatedCifarBatchIsRefusedWithTheByteOffset) {
  test::write_cifar10_folder(in());
  const std::string two = cifar_batch({{1}, {2}});
  write_bytes(in() + "/data_batch_3.bin", two.substr(0, two.size() - 100));
  const std::string e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("data_batch_3.bin: truncated: 6046 bytes are not a whole number of 3073-byte records; record 1 "
                   "(at byte offset 3073) has only 2973 of its 3073 bytes"),
            std::string::npos)
      << e;
}

TEST_F(DatasetConvert, CifarLabelOutOfRangeIsRefused) {
  test::write_cifar10_folder(in());
  write_bytes(in() + "/test_batch.bin", cifar_batch({{3}, {12}}));
  const std::string e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("test_batch.bin: record 1 (byte offset 3073): label 12 is outside 0..9"), std::string::npos) << e;
}

TEST_F(DatasetConvert, MissingFileIsNamedAndAnArchiveIsToBeExtracted) {
  test::write_cifar10_folder(in());
  fs::remove(in() + "/test_batch.bin");
  std::string e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("in/test_batch.bin: missing"), std::string::npos) << e;

  fs::remove_all(in());
  fs::create_directories(in());
  write_bytes(in() + "/cifar-10-binary.tar.gz", "not really");
  e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("data_batch_1.bin: missing; "), std::string::npos) << e;
  EXPECT_NE(e.find("holds cifar-10-binary.tar.gz: extract it first (tar xf "), std::string::npos) << e;

  DatasetConvertOptions o = options(DataSource::kCifar10);
  o.in_dir = in() + "/cifar-10-binary.tar.gz";
  e = error_of(o);
  EXPECT_NE(e.find("cifar-10-binary.tar.gz: is an archive; extract it first"), std::string::npos) << e;
}

TEST_F(DatasetConvert, FilesOneFolderDownAreNamedInTheError) {
  fs::create_directories(in() + "/cifar-10-batches-bin");
  test::write_cifar10_folder(in() + "/cifar-10-batches-bin");
  const std::string e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("give --in " + in() + "/cifar-10-batches-bin"), std::string::npos) << e;
}

TEST_F(DatasetConvert, ExistingOutputIsKeptWithoutForceAndReplacedWithIt) {
  test::write_cifar10_folder(in());
  fs::create_directories(out());
  write_bytes(out_file("classes.txt"), "mine\n");
  preexisting_.insert(out_file("classes.txt"));
  const std::string e = error_of(options(DataSource::kCifar10));
  EXPECT_NE(e.find("classes.txt: exists; give --force to overwrite it"), std::string::npos) << e;
  EXPECT_EQ(lines_of(out_file("classes.txt")), (std::vector<std::string>{"mine"}));

  DatasetConvertOptions o = options(DataSource::kCifar10);
  o.force = true;
  ASSERT_TRUE(convert_dataset(o).complete);
  EXPECT_EQ(lines_of(out_file("classes.txt")).size(), 10u);
}

TEST_F(DatasetConvert, CancelledConversionWritesNothing) {
  test::write_cifar10_folder(in());
  std::atomic<bool> stop{true};
  DatasetConvertOptions o = options(DataSource::kCifar10);
  o.monitor.cancel = &stop;
  const DatasetConvertSummary s = convert_dataset(o);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.stop_reason, "cancelled");
  EXPECT_FALSE(fs::exists(out()));
}

TEST_F(DatasetConvert, OptionsForAnotherSourceAreRefused) {
  test::write_cifar10_folder(in());
  DatasetConvertOptions o = options(DataSource::kCifar10);
  o.svhn_extra = true;
  EXPECT_NE(error_of(o).find("--extra is for svhn only"), std::string::npos);
  EXPECT_THROW(parse_data_source("emnist-balanced"), Error);
  EXPECT_THROW(parse_resize_method("bicubic"), Error);
}

}  // namespace
}  // namespace tessera
