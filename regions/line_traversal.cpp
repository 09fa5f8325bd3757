#include "regions/line_traversal.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/graph_walker.hpp"
#include "core/tolerances.hpp"
#include "regions/incremental_line.hpp"
#include "regions/line_rule.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

using detail::LineRule;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

LineRule::Mode mode_of(Side side) {
  return side == Side::Right ? LineRule::Mode::Right : side == Side::Left ? LineRule::Mode::Left : LineRule::Mode::Infinity;
}

}  // namespace

LineState line_state(const Network& net, const Vector& x0, const Vector& d, double t, Side side) {
  const WalkPlan plan(net);
  return line_state(plan, x0, d, t, side);
}

LineState line_state(const WalkPlan& plan, const Vector& x0, const Vector& d, double t, Side side,
                     const std::vector<char>* keep_mask) {
  const Network& net = *plan.net;
  const int N = static_cast<int>(net.nodes.size());
  std::vector<char> keep(N, 0);
  if (keep_mask) keep = *keep_mask;
  for (int i : net.piecewise_nodes()) keep[net.nodes[i].inputs[0]] = 1;
  keep[N - 1] = 1;
  Matrix input(net.input_size(), 2);
  input.col(0) = x0;
  input.col(1) = d;
  GraphWalk walk(plan, std::move(input), 0, 1, &keep);
  LineRule rule;
  rule.t = t;
  rule.mode = mode_of(side);
  walk.run(rule);
  LineState s;
  s.t = t;
  s.pattern = std::move(walk.pattern);
  s.cw = std::move(walk.values);
  s.zero_units = side == Side::AtInfinity ? 0 : rule.ties;
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
  for (const LayerPattern& l : s.pattern.layers) {
    const Node& n = net.nodes[l.node];
    const Matrix& cw = s.cw[n.inputs[0]];
    // A wall g = sign·(in_a - in_b - level) >= 0 of the region is left
    // where g falls through zero: going up when its slope is negative,
    // going down when it is positive. Both directions compute the crossing
    // as -g_c/g_w, so a crossing found from either side is the same number.
    for_each_wall(n, l, [&](const Wall& g) {
      double gc, gw;
      detail::wall_on_line(g, cw, &gc, &gw);
      if (up ? gw < 0 : gw > 0) {
        const double root = -gc / gw;
        if (up ? (root > t && root < best) : (root < t && root > best)) best = root;
      }
    });
  }
  return best;
}

}  // namespace

double next_breakpoint(const Network& net, const LineState& s) { return nearest_breakpoint(net, s, true); }

double previous_breakpoint(const Network& net, const LineState& s) { return nearest_breakpoint(net, s, false); }

ActivationPattern point_pattern(const Network& net, const LineState& s) {
  ActivationPattern p = empty_pattern(net);
  LineRule rule;
  rule.t = s.t;
  rule.mode = LineRule::Mode::At;
  for (LayerPattern& l : p.layers) {
    const Node& n = net.nodes[l.node];
    decide_layer(n, s.cw[n.inputs[0]], rule, l);
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

namespace {

// The walk with a fresh state (every node recomputed from x0 and d) at
// every breakpoint.
LineTraversal walk_fresh(const Network& net, const Vector& x0, const Vector& d, double t0, double t1,
                         const TraversalOptions& o) {
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
    if (o.point_segments && next.zero_units >= 1) {
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


// The incremental walk (regions/incremental_line.hpp): the same segments as
// walk_fresh, with values updated where units changed. Every
// refresh_interval breakpoints, and before claiming the last segment, the
// values are recomputed from x0 and d; if the fresh pattern disagrees, the
// stretch since the last agreeing refresh is walked again freshly.
LineTraversal walk_incremental(const Network& net, const Vector& x0, const Vector& d, double t0, double t1,
                               const TraversalOptions& o) {
  const WalkPlan plan(net);
  detail::IncrementalLine line(plan, x0, d);
  line.reset(t0);
  LineTraversal out;
  double t = t0;
  const std::size_t interval = std::max<std::size_t>(o.refresh_interval, 1);
  // Beyond t_far every breakpoint is found freshly (see below).
  const double t_far = 1e3 * std::max({1.0, std::abs(t0), std::isfinite(t1) ? std::abs(t1) : 0.0});
  std::size_t since_refresh = 0, fresh_steps = 0;
  std::size_t checkpoint_size = 0;  // segments before the checkpoint
  double checkpoint_t = t0;
  auto rewalk_from_checkpoint = [&]() {
    out.segments.resize(checkpoint_size);
    t = checkpoint_t;
    line.reset(t);
    fresh_steps = std::max(fresh_steps, 2 * interval);
    since_refresh = 0;
    ++out.rewalks;
  };
  while (true) {
    if (limit_reached(out, o, t)) return out;
    double t_next = std::min(line.next(), t1);
    if (fresh_steps == 0 && (t_next >= t1 || t_next > t_far)) {
      // The last segment is a claim (nothing changes up to t1): make it
      // from fresh values. Far out, a slope that rounding left at 1e-17
      // instead of 0 moves a value by 1e-17 t: walk on freshly.
      if (since_refresh > 0) {
        ++out.refreshes;
        if (!line.refresh()) {
          rewalk_from_checkpoint();
          continue;
        }
        since_refresh = 0;
        checkpoint_size = out.segments.size();
        checkpoint_t = t;
        t_next = std::min(line.next(), t1);
      }
      if (t_next > t_far) fresh_steps = std::numeric_limits<std::size_t>::max();
    }
    LineSegment seg;
    seg.t_begin = t;
    seg.t_end = t_next;
    fill_segment(seg, line.state(), o);
    const std::uint64_t previous_hash = seg.pattern_hash;
    out.segments.push_back(std::move(seg));
    if (ends_walk(out, o)) break;
    if (t_next >= t1) break;
    t = t_next;
    ActivationPattern point;
    bool maybe_point = false;
    bool checkpoint = false;  // the state just right of t is a fresh one
    if (fresh_steps > 0) {
      --fresh_steps;
      if (line.reset(t) >= 1) {
        point = point_pattern(net, line.state());
        maybe_point = true;
      }
      checkpoint = true;
    } else {
      maybe_point = line.step(t, &point);
      if (++since_refresh >= interval) {
        ++out.refreshes;
        if (!line.refresh()) {
          rewalk_from_checkpoint();
          continue;
        }
        since_refresh = 0;
        checkpoint = true;
        maybe_point = line.state().zero_units >= 1;
        if (maybe_point) point = point_pattern(net, line.state());
      }
    }
    if (o.point_segments && maybe_point) {
      const std::uint64_t h = point.hash();
      if (h != previous_hash && h != line.state().pattern.hash()) {
        LineSegment p;
        p.t_begin = p.t_end = t;
        p.is_point = true;
        fill_segment(p, line.state(), o);
        p.pattern_hash = h;
        if (o.keep_patterns) p.pattern = std::move(point);
        out.segments.push_back(std::move(p));
        if (ends_walk(out, o)) break;
      }
    }
    if (checkpoint) {
      // A walk again from here starts just right of t (the point region at
      // t, if any, is kept).
      checkpoint_size = out.segments.size();
      checkpoint_t = t;
    }
  }
  out.complete = true;
  return out;
}

}  // namespace

LineTraversal traverse_line(const Network& net, const Vector& x0, const Vector& d, double t0, double t1,
                            const TraversalOptions& o) {
  check_input(x0, net.input_size(), "line origin");
  check_input(d, net.input_size(), "line direction");
  if (d.isZero(0.0)) throw Error("line direction: is zero, so the line is a single point");
  if (!std::isfinite(t0)) throw Error("line start t0 must be finite");
  if (std::isnan(t1) || !(t0 < t1)) throw Error("line: t0 must be smaller than t1");
  return o.incremental ? walk_incremental(net, x0, d, t0, t1, o) : walk_fresh(net, x0, d, t0, t1, o);
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
    if (o.point_segments && below.zero_units >= 1) {
      // As traverse_line decides it: from the state just right of the point.
      const LineState right = line_state(net, zero, x, bottom, Side::Right);
      if (right.zero_units >= 1)
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
