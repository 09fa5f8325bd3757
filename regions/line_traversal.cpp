#include "regions/line_traversal.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/linear_ops.hpp"
#include "core/tolerances.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Value of c + t·w and its magnitude scale |c| + |t·w|.
inline double value_at(double c, double w, double t) { return c + t * w; }
inline double scale_at(double c, double w, double t) { return std::abs(c) + std::abs(t * w); }

// True when c + t·w is zero up to the breakpoint tolerance (tolerances.hpp).
inline bool is_zero_at(double c, double w, double t) {
  const double z = value_at(c, w, t);
  if (!std::isfinite(z)) return false;
  return std::abs(z) <= tol::kBreakpointRelTol * scale_at(c, w, t);
}

// Sign of c + s·w for s just right of t: +1, -1, or 0 when identically zero.
inline int right_sign(double c, double w, double t) {
  if (!is_zero_at(c, w, t)) return value_at(c, w, t) > 0 ? 1 : -1;
  return (w > 0) - (w < 0);
}

// Index into `values` (c, w columns) of the max-pool winner among the
// window's entries: just right of t (ties to the larger slope), just left
// of t (ties to the smaller slope), at t itself (ties to the first), or for
// all large t (largest slope, then largest c; t ignored).
enum class Pick { Right, Left, At, Infinity };
int window_winner(const Matrix& cw, const int* window, int K, double t, Pick pick, bool* tied = nullptr) {
  int best = -1;
  for (int k = 0; k < K; ++k) {
    const int j = window[k];
    if (j < 0) continue;
    if (best < 0) {
      best = j;
      continue;
    }
    const double diff_c = cw(j, 0) - cw(best, 0), diff_w = cw(j, 1) - cw(best, 1);
    if (pick == Pick::Infinity) {
      if (diff_w > 0 || (diff_w == 0 && diff_c > 0)) best = j;
      continue;
    }
    const double zj = value_at(cw(j, 0), cw(j, 1), t), zb = value_at(cw(best, 0), cw(best, 1), t);
    // Tied when the difference is zero up to the tolerance (relative to the
    // two values' scales).
    const double scale = scale_at(cw(j, 0), cw(j, 1), t) + scale_at(cw(best, 0), cw(best, 1), t);
    const double diff = value_at(diff_c, diff_w, t);
    if (std::isfinite(zj) && std::isfinite(zb) && std::abs(diff) <= tol::kBreakpointRelTol * scale) {
      if (tied) *tied = true;
      if ((pick == Pick::Right && diff_w > 0) || (pick == Pick::Left && diff_w < 0)) best = j;
    } else if (diff > 0) {
      best = j;
    }
  }
  return best;
}

// Whether a unit with pre-activation c + t·w is active on the given side.
inline bool active_on(double c, double w, double t, Side side) {
  switch (side) {
    case Side::Right: return right_sign(c, w, t) > 0;
    case Side::Left:
      if (!is_zero_at(c, w, t)) return value_at(c, w, t) > 0;
      return w < 0;
    case Side::AtInfinity: return w > 0 || (w == 0 && c > 0);
  }
  return false;
}

}  // namespace

LineState line_state(const Network& net, const Vector& x0, const Vector& d, double t, Side side) {
  LineState s;
  s.t = t;
  s.pattern = empty_pattern(net);
  const int N = static_cast<int>(net.nodes.size());
  std::vector<char> keep(N, 0);
  for (int i : net.piecewise_nodes()) keep[net.nodes[i].inputs[0]] = 1;
  keep[N - 1] = 1;
  std::vector<int> last_use(N, -1);
  for (int k = 0; k < N; ++k)
    for (int in : net.nodes[k].inputs) last_use[in] = std::max(last_use[in], k);

  std::vector<Matrix> v(N);
  v[0].resize(net.input_size(), 2);
  v[0].col(0) = x0;
  v[0].col(1) = d;
  s.cw.assign(N, Matrix());
  size_t layer = 0;
  for (int k = 1; k < N; ++k) {
    const Node& n = net.nodes[k];
    const Matrix& in = v[n.inputs[0]];
    if (n.kind == OpKind::Add) {
      v[k] = in + v[n.inputs[1]];
    } else if (n.is_piecewise()) {
      LayerPattern& l = s.pattern.layers[layer++];
      if (n.kind == OpKind::MaxPool2d) {
        const int K = n.window.kernel_h * n.window.kernel_w;
        const Pick pick = side == Side::Right ? Pick::Right : side == Side::Left ? Pick::Left : Pick::Infinity;
        for (int o = 0; o < l.size; ++o) {
          bool tied = false;
          l.selection[o] = window_winner(in, &n.gather[static_cast<size_t>(o) * K], K, t, pick, &tied);
          s.zero_units += tied;
        }
      } else if (n.kind == OpKind::Piecewise) {
        // Unit i is past knot b on the side when c - b + t·w is positive
        // there: the ReLU rule applied to each knot.
        for (int i = 0; i < l.size; ++i) {
          int piece = 0;
          bool zero = false;
          for (int j = 0; j + 1 < n.pieces(); ++j) {
            const double c = in(i, 0) - n.knot(i, j);
            if (side != Side::AtInfinity && is_zero_at(c, in(i, 1), t)) zero = true;
            piece += active_on(c, in(i, 1), t, side);
          }
          s.zero_units += zero;
          l.pieces[i] = static_cast<std::uint8_t>(piece);
        }
      } else if (side == Side::AtInfinity) {
        for (int i = 0; i < l.size; ++i)
          if (active_on(in(i, 0), in(i, 1), t, side)) l.set_active(i);
      } else {
        for (int i = 0; i < l.size; ++i) {
          if (is_zero_at(in(i, 0), in(i, 1), t)) ++s.zero_units;
          if (active_on(in(i, 0), in(i, 1), t, side)) l.set_active(i);
        }
      }
      v[k] = apply_linear(n, &l, in);
      if (n.kind == OpKind::Piecewise) v[k].col(0) += unit_offsets(n, l);
    } else {
      v[k] = apply_linear(n, nullptr, in);
      // Offsets belong to the point x0 (column c), not to the direction.
      Matrix c = v[k].col(0);
      add_offset(n, c);
      v[k].col(0) = c;
    }
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      const int in_node = n.inputs[j];
      if (j > 0 && in_node == n.inputs[0]) continue;  // x + x: release once
      if (last_use[in_node] == k) {
        if (keep[in_node]) s.cw[in_node] = std::move(v[in_node]);
        v[in_node] = Matrix();
      }
    }
  }
  s.cw[N - 1] = std::move(v[N - 1]);
  return s;
}

namespace {

// The nearest t' beyond state.t in the direction `up` (t' > t) or down
// (t' < t) at which a unit or max-pool selection of state.pattern changes.
// Both directions compute a crossing with the same expression (-c/w for a
// unit, (c_j - c_q)/(w_q - w_j) for a window), so a crossing found from
// either side is the same number.
double nearest_breakpoint(const Network& net, const LineState& s, bool up) {
  double best = up ? kInf : -kInf;
  const double t = s.t;
  auto consider = [&](double root) {
    if (up ? (root > t && root < best) : (root < t && root > best)) best = root;
  };
  for (const LayerPattern& l : s.pattern.layers) {
    const Node& n = net.nodes[l.node];
    const Matrix& cw = s.cw[n.inputs[0]];
    if (n.kind == OpKind::MaxPool2d) {
      const int K = n.window.kernel_h * n.window.kernel_w;
      for (int o = 0; o < l.size; ++o) {
        const int j = l.selection[o];
        const int* window = &n.gather[static_cast<size_t>(o) * K];
        for (int k = 0; k < K; ++k) {
          const int q = window[k];
          if (q < 0 || q == j) continue;
          // Entry q overtakes the winner j going up when its slope is
          // larger, going down when it is smaller.
          const double dw = cw(q, 1) - cw(j, 1);
          if (up ? dw > 0 : dw < 0) consider((cw(j, 0) - cw(q, 0)) / dw);
        }
      }
      continue;
    }
    if (n.kind == OpKind::Piecewise) {
      // Unit i on piece k leaves it through knot k going the way c + t·w
      // rises, through knot k - 1 the way it falls; a crossing of knot b is
      // -(c - b)/w from either side.
      const int P = n.pieces();
      for (int i = 0; i < l.size; ++i) {
        const double w = cw(i, 1);
        if (w == 0) continue;
        const int k = l.pieces[i];
        const int j = (w > 0) == up ? k : k - 1;
        if (j >= 0 && j + 1 < P) consider(-(cw(i, 0) - n.knot(i, j)) / w);
      }
      continue;
    }
    for (int i = 0; i < l.size; ++i) {
      const double c = cw(i, 0), w = cw(i, 1);
      // Going up, active units leave when c + t·w falls through 0 (w < 0)
      // and inactive ones enter when it rises through 0 (w > 0); going
      // down, the other way round.
      if (w != 0 && (l.active(i) == (w < 0)) == up) consider(-c / w);
    }
  }
  return best;
}

}  // namespace

double next_breakpoint(const Network& net, const LineState& s) { return nearest_breakpoint(net, s, true); }

double previous_breakpoint(const Network& net, const LineState& s) { return nearest_breakpoint(net, s, false); }

ActivationPattern point_pattern(const Network& net, const LineState& s) {
  ActivationPattern p = empty_pattern(net);
  for (LayerPattern& l : p.layers) {
    const Node& n = net.nodes[l.node];
    const Matrix& cw = s.cw[n.inputs[0]];
    if (n.kind == OpKind::MaxPool2d) {
      const int K = n.window.kernel_h * n.window.kernel_w;
      for (int o = 0; o < l.size; ++o) l.selection[o] = window_winner(cw, &n.gather[static_cast<size_t>(o) * K], K, s.t, Pick::At);
    } else if (n.kind == OpKind::Piecewise) {
      for (int i = 0; i < l.size; ++i) {
        int piece = 0;
        for (int j = 0; j + 1 < n.pieces(); ++j) {
          const double c = cw(i, 0) - n.knot(i, j);
          piece += !is_zero_at(c, cw(i, 1), s.t) && value_at(c, cw(i, 1), s.t) > 0;
        }
        l.pieces[i] = static_cast<std::uint8_t>(piece);
      }
    } else {
      for (int i = 0; i < l.size; ++i)
        if (!is_zero_at(cw(i, 0), cw(i, 1), s.t) && value_at(cw(i, 0), cw(i, 1), s.t) > 0) l.set_active(i);
    }
  }
  return p;
}

namespace {

void fill_segment(LineSegment& seg, const LineState& s, const TraversalOptions& o) {
  const Matrix& out = s.cw.back();
  seg.logit_c = out.col(0);
  seg.logit_w = out.col(1);
  seg.pattern_hash = s.pattern.hash();
  if (o.keep_patterns) seg.pattern = s.pattern;
  const ConfidenceRange r = confidence_range(seg.logit_c, seg.logit_w, seg.t_begin, seg.t_end);
  seg.min_confidence = r.min;
  seg.max_confidence = r.max;
  if (std::isinf(seg.t_end)) {
    seg.predicted_class = limit_of(seg.logit_c, seg.logit_w).cls;
  } else {
    const double mid = seg.t_begin + 0.5 * (seg.t_end - seg.t_begin);
    const Vector z = seg.logit_c + mid * seg.logit_w;
    Eigen::Index k;
    z.maxCoeff(&k);
    seg.predicted_class = static_cast<int>(k);
  }
}

// The walks' limits, checked before each segment: --max-segments and the
// cancel flag (with the reason recorded), and the progress callback.
bool limit_reached(LineTraversal& out, const TraversalOptions& o, double t) {
  if (out.segments.size() >= o.max_segments) {
    out.stop_reason = "stopped after " + std::to_string(o.max_segments) + " segments (--max-segments)";
    return true;
  }
  if (o.cancel && o.cancel->load()) {
    out.stop_reason = "cancelled";
    return true;
  }
  if (o.progress && out.segments.size() % 256 == 255) o.progress(out.segments.size() + 1, t);
  return false;
}

// After a segment was added: whether TraversalOptions::until ends the walk.
bool ends_walk(LineTraversal& out, const TraversalOptions& o) {
  if (!o.until || !o.until(out.segments.back())) return false;
  out.ended_by_until = true;
  return true;
}

// A region met only at the breakpoint `at.t` (its pattern differs from both
// neighbours' patterns), as a single-point segment; `at` is the state just
// right of the breakpoint.
std::optional<LineSegment> point_segment(const Network& net, const LineState& at, std::uint64_t left_hash,
                                         std::uint64_t right_hash, const TraversalOptions& o) {
  const ActivationPattern p = point_pattern(net, at);
  const std::uint64_t h = p.hash();
  if (h == left_hash || h == right_hash) return std::nullopt;
  LineSegment point;
  point.t_begin = point.t_end = at.t;
  point.is_point = true;
  fill_segment(point, at, o);
  point.pattern_hash = h;
  if (o.keep_patterns) point.pattern = p;
  return point;
}

}  // namespace

LineTraversal traverse_line(const Network& net, const Vector& x0, const Vector& d, double t0, double t1,
                            const TraversalOptions& o) {
  check_input(x0, net.input_size(), "line origin");
  check_input(d, net.input_size(), "line direction");
  if (d.isZero(0.0)) throw Error("line direction: is zero, so the line is a single point");
  if (!std::isfinite(t0)) throw Error("line start t0 must be finite");
  if (std::isnan(t1) || !(t0 < t1)) throw Error("line: t0 must be smaller than t1");
  LineTraversal out;
  double t = t0;
  LineState s = line_state(net, x0, d, t);
  while (true) {
    if (limit_reached(out, o, t)) return out;
    const double t_next = std::min(next_breakpoint(net, s), t1);
    LineSegment seg;
    seg.t_begin = t;
    seg.t_end = t_next;
    fill_segment(seg, s, o);
    const std::uint64_t previous_hash = seg.pattern_hash;
    out.segments.push_back(std::move(seg));
    if (ends_walk(out, o)) break;
    if (t_next >= t1) break;
    t = t_next;
    LineState next = line_state(net, x0, d, t);
    if (o.point_segments && next.zero_units >= 2) {
      if (std::optional<LineSegment> point = point_segment(net, next, previous_hash, next.pattern.hash(), o)) {
        out.segments.push_back(std::move(*point));
        if (ends_walk(out, o)) break;
      }
    }
    s = std::move(next);
  }
  out.complete = true;
  return out;
}

LineTraversal traverse_ray(const Network& net, const Vector& x, double alpha0, const TraversalOptions& o) {
  check_input(x, net.input_size(), "input");
  if (!(alpha0 > 0) || !std::isfinite(alpha0)) throw Error("ray: alpha0 must be a positive finite number");
  return traverse_line(net, Vector::Zero(x.size()), x, alpha0, std::numeric_limits<double>::infinity(), o);
}

LineTraversal traverse_ray_down(const Network& net, const Vector& x, double alpha0, const TraversalOptions& o) {
  check_input(x, net.input_size(), "input");
  if (x.isZero(0.0)) throw Error("input: is the zero vector, so the ray alpha*x does not move");
  if (!(alpha0 > 0) || !std::isfinite(alpha0)) throw Error("ray: alpha0 must be a positive finite number");
  const Vector zero = Vector::Zero(x.size());
  LineTraversal out;
  // The region above the current one is `s`: first the last region, whose
  // pattern is the limit one; then each region's pattern is the one just
  // left of the breakpoint below the region above.
  LineState s = line_state(net, zero, x, kInf, Side::AtInfinity);
  double top = kInf;
  while (true) {
    if (limit_reached(out, o, top)) return out;
    const double bottom = std::max(previous_breakpoint(net, s), alpha0);
    LineSegment seg;
    seg.t_begin = bottom;
    seg.t_end = top;
    s.t = bottom;  // the state's pattern holds on [bottom, top]
    fill_segment(seg, s, o);
    const std::uint64_t hash = seg.pattern_hash;
    out.segments.push_back(std::move(seg));
    if (ends_walk(out, o)) break;
    if (bottom <= alpha0) break;
    LineState below = line_state(net, zero, x, bottom, Side::Left);
    if (o.point_segments && below.zero_units >= 2) {
      // As traverse_line decides it: from the state just right of the point.
      const LineState right = line_state(net, zero, x, bottom, Side::Right);
      if (right.zero_units >= 2)
        if (std::optional<LineSegment> point = point_segment(net, right, below.pattern.hash(), hash, o)) {
          out.segments.push_back(std::move(*point));
          if (ends_walk(out, o)) break;
        }
    }
    s = std::move(below);
    top = bottom;
  }
  out.complete = true;
  return out;
}

LineSegment segment_of(const LineState& state, double t_begin, double t_end, const TraversalOptions& o) {
  LineSegment seg;
  seg.t_begin = t_begin;
  seg.t_end = t_end;
  fill_segment(seg, state, o);
  return seg;
}

}  // namespace tessera
