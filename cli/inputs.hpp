// Choosing inputs on the command line: one file (and row), a range of rows,
// or seeded noise. Shared by affine, ray and certify.
#pragma once

#include <string>

#include "cli/common.hpp"
#include "core/network.hpp"

namespace tessera::cli {

// Parses "A:B" (rows A..B-1), "A:" (to the end) or "A" (one row).
struct RowRange {
  long first = 0;
  long count = -1;  // -1: to the end
};
RowRange parse_rows(const std::string& text);

// Reads rows [range.first, range.first + range.count) of an IDX or text file
// (count -1: all). Column j is one input. Images give one column.
Matrix read_input_rows(const Shape& expected, const std::string& path, const RowRange& range);

// The inputs a command was asked for, from the options every set command
// shares: --input FILE [--row N | --rows A:B] or --noise uniform|permuted
// [--count N --seed S] (uniform noise fills the box, or [0, 1]^d without
// one; permuted shuffles the pixels of the --input rows).
struct InputSelection {
  Matrix X;            // column j is input j
  std::string source;  // for reports: "FILE row 3", "100 uniform noise samples (seed 1)"
  bool single = false; // one input (--input without --rows, or --noise absent)
};
InputSelection select_inputs(const po::variables_map& vm, const Network& net, const BoxOption& box);

}  // namespace tessera::cli
