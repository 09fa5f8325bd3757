// Small synthetic files in the formats `tessera data` reads (EMNIST IDX,
// CIFAR binary batches), with known pixel values, for the converter tests.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace tessera::test {

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// An unsigned-byte IDX file (gzipped when the path ends in .gz).
inline void write_idx(const std::string& path, const std::vector<int>& dims, const std::vector<std::uint8_t>& data) {
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (int d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((d >> shift) & 0xFF));
  bytes.append(data.begin(), data.end());
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    write_bytes(path, bytes);
  }
}

// The whole uncompressed content of a gzipped (or plain) file.
inline std::string read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while (f && (n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  if (f) gzclose(f);
  return out;
}

// EMNIST stores image i's pixel (row r, column c) at byte i*784 + c*28 + r.
inline std::uint8_t emnist_pixel(int i, int r, int c) { return static_cast<std::uint8_t>((3 * r + 7 * c + 11 * i) % 256); }

// A CIFAR record's pixel: channel ch (0 red, 1 green, 2 blue), row r, column c.
inline std::uint8_t cifar_pixel(int record, int ch, int r, int c) {
  return static_cast<std::uint8_t>((r * 32 + c + 85 * ch + 13 * record) % 256);
}

// A CIFAR binary batch: per record the label bytes, then the R, G, B planes.
inline std::string cifar_batch(const std::vector<std::vector<std::uint8_t>>& labels, int first_record = 0) {
  std::string bytes;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    for (std::uint8_t l : labels[k]) bytes.push_back(static_cast<char>(l));
    for (int ch = 0; ch < 3; ++ch)
      for (int r = 0; r < 32; ++r)
        for (int c = 0; c < 32; ++c)
          bytes.push_back(static_cast<char>(cifar_pixel(first_record + static_cast<int>(k), ch, r, c)));
  }
  return bytes;
}

// A CIFAR-10 folder: data_batch_b.bin with records labelled b-1 and b
// (mod 10), one record in test_batch.bin labelled 9. Records are numbered
// 0.. across the training batches, and 100 for the test record.
inline void write_cifar10_folder(const std::string& dir) {
  int record = 0;
  for (int b = 1; b <= 5; ++b) {
    write_bytes(dir + "/data_batch_" + std::to_string(b) + ".bin",
                cifar_batch({{static_cast<std::uint8_t>(b - 1)}, {static_cast<std::uint8_t>(b % 10)}}, record));
    record += 2;
  }
  write_bytes(dir + "/test_batch.bin", cifar_batch({{9}}, 100));
}

}  // namespace tessera::test
