// Exact traversal of a line x0 + t·d through the linear regions of a network
// (and of the scaling ray αx, the line with x0 = 0, d = x, t = α).
//
// Under a fixed activation pattern every node's value along the line is
// c + t·w, with c the fixed-pattern network at x0 and w its directional
// derivative along d. The traversal starts at t0, finds the pattern that
// holds just right of t (deciding units that are exactly on their
// hyperplane by the sign of w), computes the next t at which any unit's
// c + t·w changes sign or any max-pool selection changes, and repeats. By
// default the walk is incremental (regions/incremental_line.hpp): after a
// breakpoint only what the changed units feed is updated, and every value is
// recomputed from x0 and d at a fixed interval, before the last segment is
// claimed and far out (|t| beyond 1000 times the line's scale), so rounding
// cannot build up; t can be as large as 1e300.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/activation_pattern.hpp"
#include "core/graph_walker.hpp"
#include "core/network.hpp"

namespace tessera {

struct LineSegment;

struct TraversalOptions {
  // Stop with a partial result (complete = false) after this many segments.
  std::size_t max_segments = 1'000'000;
  // Keep the full pattern of every segment (hashes are always kept).
  bool keep_patterns = false;
  // Report lower-dimensional regions met only at a breakpoint (the pattern
  // at the point differs from both neighbours) as single-point segments.
  bool point_segments = true;
  // Set from another thread to stop early (complete = false).
  const std::atomic<bool>* cancel = nullptr;
  // Called every 256 segments with (segments so far, current t); may be empty.
  std::function<void(std::size_t, double)> progress;
  // Called after each segment (point segments included); returning true ends
  // the walk there with complete = true and ended_by_until = true. May be empty.
  // (An incremental walk that walks a stretch again after a refresh disagreed
  // calls it again for the segments of that stretch.)
  std::function<bool(const LineSegment&)> until;
  // Walk incrementally (regions/incremental_line.hpp): after a breakpoint
  // update only what the changed units feed. false: recompute every node
  // from x0 and d at every breakpoint (the reference walk).
  bool incremental = true;
  // Incremental walks recompute every value from x0 and d after this many
  // breakpoints (and before claiming the last segment), to bound rounding.
  std::size_t refresh_interval = 64;
};

struct LineSegment {
  double t_begin = 0, t_end = 0;  // t_end = +inf for the unbounded last segment
  bool is_point = false;          // a single point t_begin = t_end
  std::uint64_t pattern_hash = 0;
  ActivationPattern pattern;      // only with TraversalOptions::keep_patterns
  Vector logit_c, logit_w;        // logits(t) = logit_c + t·logit_w on the segment
  int predicted_class = -1;       // at the midpoint; for an unbounded segment, the limit class
  double min_confidence = 0, max_confidence = 0;  // over the closed segment (sup for unbounded ones)
};

struct LineTraversal {
  std::vector<LineSegment> segments;  // ordered by t, covering [t0, t1]
  bool complete = false;              // false: stopped by max_segments or cancel
  bool ended_by_until = false;        // TraversalOptions::until ended it (complete, but short of t1)
  std::string stop_reason;            // why it stopped early, if it did
  std::size_t refreshes = 0;          // incremental walks: fresh recomputations
  std::size_t rewalks = 0;            // ... that disagreed, so a stretch was walked again freshly
  // Breakpoints are the t_begin of every segment but the first.
  std::size_t breakpoints() const { return segments.empty() ? 0 : segments.size() - 1; }
};

// The line x0 + t·d for t in [t0, t1] (t1 may be +inf). Throws tessera::Error
// for a zero or non-finite direction, wrong sizes, or t0 >= t1.
LineTraversal traverse_line(const Network& net, const Vector& x0, const Vector& d, double t0,
                            double t1 = std::numeric_limits<double>::infinity(),
                            const TraversalOptions& options = {});

// The ray αx for α in [alpha0, +inf), alpha0 > 0. When complete, the last
// segment is the last region: no pre-activation, affine in α there, changes
// sign for any larger α (the proof is the absence of a root ahead).
LineTraversal traverse_ray(const Network& net, const Vector& x, double alpha0, const TraversalOptions& options = {});

// The ray αx walked downwards: the first segment is the last region
// [α_L, +inf), found directly from the pattern at α -> +inf (no region
// below it is visited), then the regions below it in decreasing α, down
// to alpha0 unless options.until ends the walk first. Every segment has
// the same pattern, logits and ends as in traverse_ray (both compute the
// logits of a pattern the same way; the end of a region is the root of
// the unit that changes, the same number from either side). The result's
// segments are ordered by decreasing t; complete means alpha0 was reached
// or until ended the walk.
LineTraversal traverse_ray_down(const Network& net, const Vector& x, double alpha0, const TraversalOptions& options = {});

// Building blocks, exposed for tests and for other traversals.

// Which pattern line_state computes at t: the one that holds just right of
// t (ties decided by the slope), just left of t (ties decided against the
// slope), or the one that holds for all large enough t (t ignored: every
// unit by the sign of its slope w, a zero slope by the sign of c; max-pool
// windows by the largest slope, then the largest c).
enum class Side { Right, Left, AtInfinity };

// Values along the line under the pattern that holds just right of t:
// cw[i] is (n_i x 2) with columns c and w for the input node of every
// piecewise node and for the output node (empty for the others).
struct LineState {
  double t = 0;
  ActivationPattern pattern;
  std::vector<Matrix> cw;
  // Units exactly on their hyperplane at t, plus tied max-pool windows: a
  // single-point region needs at least two.
  std::size_t zero_units = 0;
};
LineState line_state(const Network& net, const Vector& x0, const Vector& d, double t, Side side = Side::Right);
// Same, with the network's walk plan computed once by the caller; nodes
// marked in keep_mask keep their values in cw too.
LineState line_state(const WalkPlan& plan, const Vector& x0, const Vector& d, double t, Side side = Side::Right,
                     const std::vector<char>* keep_mask = nullptr);

// The smallest t' > state.t at which a unit or max-pool selection of
// state.pattern changes (+inf if none: the pattern holds for all larger t).
double next_breakpoint(const Network& net, const LineState& state);

// The largest t' < state.t at which a unit or max-pool selection of
// state.pattern changes (-inf if none: the pattern holds for all smaller t).
// state.t may be +inf (a state computed with Side::AtInfinity).
double previous_breakpoint(const Network& net, const LineState& state);

// The segment [t_begin, t_end] on which state.pattern holds, filled as the
// traversals fill theirs (logits, confidence range, class, hash).
LineSegment segment_of(const LineState& state, double t_begin, double t_end, const TraversalOptions& options = {});

// The pattern at the point x0 + t·d itself, with units within the breakpoint
// tolerance of zero counted inactive (Σ: active iff > 0).
ActivationPattern point_pattern(const Network& net, const LineState& state);

}  // namespace tessera
