// Per-coordinate input domains: a lower and an upper bound for every input
// value, as verification benchmarks state them (VNN-LIB property files), in
// place of one interval [lo, hi] shared by all coordinates.
#pragma once

#include <string>

#include "core/network.hpp"

namespace tessera {

struct InputBox {
  Vector lo, hi;       // one entry per input value; lo_i <= hi_i
  std::string source;  // the file it came from, for messages ("" when built in code)

  Eigen::Index size() const { return lo.size(); }
  // The same interval [lo, hi] for all d coordinates.
  static InputBox uniform(Eigen::Index d, double lo, double hi);
  bool contains(const Vector& x) const;
  // True when every coordinate has the same interval.
  bool is_uniform() const;
  // "[0, 1]^784" when uniform, else "per-coordinate box from FILE".
  std::string describe() const;
};

// Reads a box for a network with d inputs from `path`, which is either
//   - a VNN-LIB property file: (declare-const X_i Real) and
//     (assert (<= X_i c)) / (assert (>= X_i c)) (also with the operands the
//     other way round, (<= c X_i)); every X_0 .. X_{d-1} needs both bounds;
//     assertions on outputs (Y_j) are skipped; disjunctions (or ...) are
//     refused; or
//   - a text file of 2·d numbers: the d lower bounds, then the d upper
//     bounds (two rows, or any whitespace; '#' starts a comment).
// Throws tessera::Error naming the file, line and what is wrong.
InputBox read_input_box(const std::string& path, Eigen::Index d);

// The same for the text of a file (source names it in messages).
InputBox parse_input_box(const std::string& text, Eigen::Index d, const std::string& source);

}  // namespace tessera
