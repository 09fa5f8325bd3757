// Internal: the decision rule of lines x0 + t·d, shared by the fresh and the
// incremental traversal (regions/line_traversal.cpp, incremental_line.cpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "core/graph_walker.hpp"
#include "core/tolerances.hpp"

namespace tessera::detail {

// Value of c + t·w and its magnitude scale |c| + |t·w|.
inline double value_at(double c, double w, double t) { return c + t * w; }
inline double scale_at(double c, double w, double t) { return std::abs(c) + std::abs(t * w); }

// True when c + t·w is zero up to the breakpoint tolerance (tolerances.hpp).
inline bool is_zero_at(double c, double w, double t) {
  const double z = value_at(c, w, t);
  if (!std::isfinite(z)) return false;
  return std::abs(z) <= tol::kBreakpointRelTol * scale_at(c, w, t);
}

// The line's decision rule for the graph walk: rows of a node's input are
// (c, w), the value c + t·w. A unit is above a level just right of t (ties
// decided by the slope), just left of t (ties against the slope), at t
// itself (a value within the breakpoint tolerance of the level counts as
// not above it: Σ, active iff > 0), or for all large t (t ignored: by the
// sign of the slope, a zero slope by c). Max-pool entries compare the same
// way; a tie at t keeps the earlier entry at t itself. Units and windows
// decided by a tie are counted.
struct LineRule {
  enum class Mode { Right, Left, At, Infinity };
  double t = 0;
  Mode mode = Mode::Right;
  std::size_t ties = 0;

  bool above(const Matrix& in, Eigen::Index i, double level, bool* tie) const {
    const double c = in(i, 0) - level, w = in(i, 1);
    if (mode == Mode::Infinity) return w > 0 || (w == 0 && c > 0);
    if (!is_zero_at(c, w, t)) return value_at(c, w, t) > 0;
    *tie = true;
    return mode == Mode::Right ? w > 0 : mode == Mode::Left ? w < 0 : false;
  }
  bool beats(const Matrix& in, Eigen::Index j, Eigen::Index best, bool* tie) const {
    const double diff_c = in(j, 0) - in(best, 0), diff_w = in(j, 1) - in(best, 1);
    if (mode == Mode::Infinity) return diff_w > 0 || (diff_w == 0 && diff_c > 0);
    const double zj = value_at(in(j, 0), in(j, 1), t), zb = value_at(in(best, 0), in(best, 1), t);
    // Tied when the difference is zero up to the tolerance (relative to the
    // two values' scales).
    const double scale = scale_at(in(j, 0), in(j, 1), t) + scale_at(in(best, 0), in(best, 1), t);
    const double diff = value_at(diff_c, diff_w, t);
    if (std::isfinite(zj) && std::isfinite(zb) && std::abs(diff) <= tol::kBreakpointRelTol * scale) {
      *tie = true;
      return mode == Mode::Right ? diff_w > 0 : mode == Mode::Left ? diff_w < 0 : false;
    }
    return diff > 0;
  }
  void tied() { ++ties; }
};

// A wall's value along the line as (c, w): g = c + t·w.
inline void wall_on_line(const Wall& g, const Matrix& cw, double* gc, double* gw) {
  double c = cw(g.a, 0) - g.level, w = cw(g.a, 1);
  if (g.b >= 0) {
    c = cw(g.a, 0) - cw(g.b, 0);
    w = cw(g.a, 1) - cw(g.b, 1);
  }
  *gc = g.sign * c;
  *gw = g.sign * w;
}

}  // namespace tessera::detail
