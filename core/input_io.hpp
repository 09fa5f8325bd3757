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
Vector read_input_for(const Shape& expected, const std::string& path, int row = -1);

struct Image {
  int channels = 0, height = 0, width = 0;
  Vector values;  // C-H-W order, in [0,1]
};
Image read_image(const std::string& path);
Vector read_vector_file(const std::string& path, int row = -1);

// An IDX array (the MNIST file format).
struct IdxArray {
  std::vector<int> dims;  // dims[0] = number of items
  int type = 0x08;        // 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
  std::vector<double> values;
  std::int64_t item_size() const;
};
// Reads items [first, first+count) (count < 0: all). ubyte values are divided
// by 255 when scale_bytes is set.
IdxArray read_idx(const std::string& path, std::int64_t first = 0, std::int64_t count = -1, bool scale_bytes = true);

}  // namespace tessera
