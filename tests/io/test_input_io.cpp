// Readers of vectors, PNG/PGM images and IDX rows.
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "io/input_io.hpp"

namespace tessera {
namespace {

class InputIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tessera_io_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string error_of(const std::string& path, int row = -1) {
    try {
      read_input(path, row);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  // A 2x1 RGB PNG: pixel 0 = (255, 0, 51), pixel 1 = (0, 255, 102).
  std::string write_rgb_png() {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = 2;
    img.height = 1;
    img.format = PNG_FORMAT_RGB;
    const unsigned char rgb[] = {255, 0, 51, 0, 255, 102};
    const std::string path = (dir_ / "c.png").string();
    EXPECT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, rgb, 0, nullptr));
    return path;
  }
  std::filesystem::path dir_;
};

std::string idx_bytes(const std::vector<int>& dims, const std::vector<unsigned char>& data) {
  std::string s = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (int d : dims)
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xff);
  s.append(data.begin(), data.end());
  return s;
}

TEST_F(InputIo, TextVectorsWithCommasCommentsAndRows) {
  const std::string p = write("v.txt", "# header\n1, 2.5 -3\n\n4e-1 5 6  # trailing\n");
  Vector all = read_input(p);
  ASSERT_EQ(all.size(), 6);
  EXPECT_DOUBLE_EQ(all[2], -3);
  EXPECT_DOUBLE_EQ(all[3], 0.4);
  Vector row1 = read_input(p, 1);
  EXPECT_EQ(row1, Eigen::Vector3d(0.4, 5, 6));
}

TEST_F(InputIo, TextErrorsNameFileAndLine) {
  EXPECT_EQ(error_of(write("bad.txt", "1 2\n3 abc\n")), (dir_ / "bad.txt").string() + ": line 2: 'abc' is not a number");
  EXPECT_NE(error_of(write("nan.txt", "1 nan\n")).find("line 1: value 'nan' is not finite"), std::string::npos);
  EXPECT_NE(error_of(write("empty.txt", "# nothing\n")).find("no numbers found"), std::string::npos);
  EXPECT_NE(error_of(write("rows.txt", "1\n2\n"), 5).find("row 5 out of range (the file has 2 rows)"), std::string::npos);
  EXPECT_NE(error_of((dir_ / "missing.txt").string()).find("missing.txt: cannot open"), std::string::npos);
}

TEST_F(InputIo, PgmBinaryAndAscii) {
  const std::string p5 = write("a.pgm", std::string("P5\n# c\n2 1\n255\n") + char(0) + char(255));
  EXPECT_EQ(read_input(p5), Eigen::Vector2d(0, 1));
  const std::string p2 = write("b.pgm", "P2 2 2 4\n0 1\n2 4\n");
  EXPECT_EQ(read_input(p2), Eigen::Vector4d(0, 0.25, 0.5, 1));
  EXPECT_NE(error_of(write("t.pgm", "P5\n4 4\n255\n\x01\x02")).find("truncated PGM"), std::string::npos);
}

TEST_F(InputIo, PngGrayAndColourInChwOrder) {
  const std::string path = write_rgb_png();
  const Image im = read_image(path);
  EXPECT_EQ(im.channels, 3);
  Vector expected(6);
  expected << 1, 0, 0, 1, 0.2, 0.4;  // R plane, G plane, B plane
  EXPECT_LT((im.values - expected).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_NE(error_of(write("broken.png", "\x89PNG\r\n\x1a\n garbage")).find("PNG"), std::string::npos);
}

TEST_F(InputIo, ImagesMustMatchTheModelsLayout) {
  const std::string path = write_rgb_png();
  // C-H-W model: as read. Flat model of 6 values: as read.
  Vector chw(6);
  chw << 1, 0, 0, 1, 0.2, 0.4;
  EXPECT_LT((read_input_for(Shape{3, 1, 2}, path) - chw).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((read_input_for(Shape{6}, path) - chw).cwiseAbs().maxCoeff(), 1e-12);
  // H-W-C model (NHWC export): reordered pixel by pixel.
  Vector hwc(6);
  hwc << 1, 0, 0.2, 0, 1, 0.4;
  EXPECT_LT((read_input_for(Shape{1, 2, 3}, path) - hwc).cwiseAbs().maxCoeff(), 1e-12);
  // Same number of values, other geometry: refused.
  try {
    read_input_for(Shape{1, 2, 3 * 1}, (dir_ / "c.png").string());
  } catch (const Error&) {
    FAIL() << "1x2x3 is the HWC layout of this image and must be accepted";
  }
  try {
    read_input_for(Shape{3, 2, 1}, path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the image is 3x1x2 (channels x height x width) but the model expects 3x2x1"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(InputIo, IdxRowsPlainAndGzipped) {
  const std::string bytes = idx_bytes({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0});
  const std::string plain = write("x.idx", bytes);
  EXPECT_EQ(read_input(plain, 0), Eigen::Vector4d(0, 1, 0.2, 0.4));
  EXPECT_EQ(read_input(plain, 2), Eigen::Vector4d(1, 1, 0, 0));
  const std::string gz = (dir_ / "x.idx.gz").string();
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  EXPECT_EQ(read_input(gz, 2), Eigen::Vector4d(1, 1, 0, 0));
  EXPECT_NE(error_of(plain, 3).find("row 3 out of range (the file has 3 items)"), std::string::npos);
  EXPECT_NE(error_of(write("short.idx", bytes.substr(0, bytes.size() - 2)), 2).find("truncated IDX"),
            std::string::npos);
  const IdxArray all = read_idx(plain);
  EXPECT_EQ(all.dims, (std::vector<int>{3, 2, 2}));
  EXPECT_EQ(all.values.size(), 12u);
}

TEST_F(InputIo, AtomicWriteReplacesWholeFiles) {
  const std::string p = (dir_ / "out.json").string();
  write_file_atomically(p, "first");
  write_file_atomically(p, "second");
  EXPECT_EQ(read_file(p), "second");
  EXPECT_THROW(write_file_atomically((dir_ / "no_such_dir" / "f").string(), "x"), Error);
}

// Only what the model can take is read: the item shape is checked from the
// header (no data is needed for that), images from their header, text stops
// past the model's size, and a header alone is read by read_idx_header.
TEST_F(InputIo, ReadersCheckTheModelsShapeBeforeReading) {
  // A header declaring 2 items of 100x100 and only 4 bytes of data.
  const std::string big = write("big.idx", idx_bytes({2, 100, 100}, {1, 2, 3, 4}));
  try {
    read_idx(big, 0, 1, true, 784);
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("items have 10000 values (100x100) but 784 are expected"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_idx_header(big).dims, (std::vector<int>{2, 100, 100}));
  EXPECT_TRUE(read_idx_header(big).values.empty());
  // The same file read as a 10000-value item: truncated (the data is missing).
  EXPECT_THROW(read_idx(big, 0, 1, true, 10000), Error);
  // Text: refused as soon as it holds more than the model takes.
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "1\n";
  try {
    read_input_for(Shape{3}, write("many.txt", many));
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has more than 3 values"), std::string::npos) << e.what();
  }
  // Binary garbage and directories: named as such.
  EXPECT_NE(error_of(write("bin", std::string("\x01\x02\x03\x04" "abc", 7))).find("not a PNG, PGM, IDX or text file"),
            std::string::npos);
  EXPECT_NE(error_of(dir_.string()).find("is a directory"), std::string::npos);
  // A token with a NUL byte inside is not a number, and long tokens are cut in messages.
  try {
    read_vector_file(write("nul.txt", std::string("1\n2 0.5\0xyz\n", 12)));
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: '0.5\\x00xyz' is not a number"), std::string::npos) << e.what();
  }
  try {
    read_vector_file(write("long.txt", std::string(100000, '9') + "z"));
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
    EXPECT_NE(std::string(e.what()).find("(100001 characters)"), std::string::npos) << e.what();
  }
}

TEST_F(InputIo, AtomicWritesKeepModesFollowLinksAndWriteFifosInPlace) {
  const std::string p = (dir_ / "f.txt").string();
  write_file_atomically(p, "a");
  ::chmod(p.c_str(), 0640);
  write_file_atomically(p, "b");
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  const std::string link = (dir_ / "l.txt").string();
  std::filesystem::create_symlink("f.txt", link);  // relative target
  write_file_atomically(link, "c");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_file(p), "c");
  EXPECT_THROW(write_file_atomically(dir_.string(), "x"), Error);
  EXPECT_THROW(check_output_path((dir_ / "nope" / "x").string()), Error);
  EXPECT_THROW(check_output_path(dir_.string()), Error);
  EXPECT_NO_THROW(check_output_path((dir_ / "new.json").string()));
  EXPECT_NO_THROW(check_output_path("/dev/null"));
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

}  // namespace
}  // namespace tessera
