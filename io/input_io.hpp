// Readers for the inputs a user analyses: text vectors, PNG/PGM images and
// rows of IDX data files (gzipped or not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// Reads one input. The format is recognised from the file's first bytes:
//   PNG / PGM (P2, P5) image -> pixel values / maxval in [0,1], C-H-W order
//                               (gray: 1 channel; colour: 3; transparent
//                               pixels are composed onto black);
//   IDX (optionally gzipped) -> item `row` (default 0); unsigned-byte data is
//                               divided by 255, other types are read as is;
//   anything else            -> text: numbers separated by whitespace or
//                               commas, '#' starts a comment; with row >= 0
//                               only that non-empty line is read.
// Throws tessera::Error naming the file, and the line or row, on bad input.
Vector read_input(const std::string& path, int row = -1);

// read_input for a network whose input has the given shape: an image must
// have the model's channels, height and width (given as C-H-W, or H-W-C for
// models that take NHWC images, which are then reordered), or exactly as
// many values for a flat input; otherwise tessera::Error says what differs.
// Only what is needed is read: an IDX item's shape and an image's size are
// checked against `expected` from the file's header, before any data is
// read or decoded; a text file is read up to the requested row.
Vector read_input_for(const Shape& expected, const std::string& path, int row = -1);

struct Image {
  int channels = 0, height = 0, width = 0;
  Vector values;  // C-H-W order, in [0,1]
};
// With `expected` (the model's input shape), the image's size is checked
// from its header before it is decoded (see read_input_for).
Image read_image(const std::string& path, const Shape* expected = nullptr);
Vector read_vector_file(const std::string& path, int row = -1);
// Every non-empty line of a text vector file as one vector, in one pass.
std::vector<Vector> read_vector_rows(const std::string& path);
// Same, refusing more than max_values numbers (max_values < 0: no limit) as
// soon as they are read.
Vector read_vector_file_limited(const std::string& path, int row, std::int64_t max_values);
// read_input that stops early on inputs that cannot fit `expected` (may be
// null).
Vector read_input(const std::string& path, int row, const Shape* expected);

// An IDX array (the MNIST file format).
struct IdxArray {
  std::vector<int> dims;  // dims[0] = number of items
  int type = 0x08;        // 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
  std::vector<double> values;
  std::int64_t item_size() const;
};
// Reads items [first, first+count) (count < 0: all). ubyte values are divided
// by 255 when scale_bytes is set. With expected_item_size >= 0, items of
// another size are refused from the header, before any data is read. The
// values (8 bytes each) are checked against the memory budget first; a
// gzipped file is inflated item by item, never more than requested.
IdxArray read_idx(const std::string& path, std::int64_t first = 0, std::int64_t count = -1, bool scale_bytes = true,
                  std::int64_t expected_item_size = -1);
// The header alone: dims (dims[0] = items) and type; `values` stays empty.
IdxArray read_idx_header(const std::string& path);

// An unsigned-byte IDX array (type 0x08) as raw bytes, row-major, for data
// set conversion (read_idx would hold 8 bytes a value). Every item is read;
// the bytes are checked against the memory budget from the header. Throws
// tessera::Error naming the file: not IDX, another type, or "truncated: the
// header declares N items of M bytes (B bytes of data) but the data ends
// after K bytes".
struct IdxBytes {
  std::vector<int> dims;  // dims[0] = number of items
  std::vector<std::uint8_t> bytes;
  std::int64_t item_size() const;
};
IdxBytes read_idx_bytes(const std::string& path);

}  // namespace tessera
