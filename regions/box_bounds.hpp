// Provable upper bounds on the confidence of a network over a box of inputs
// (an l-infinity ball around a point, intersected with the data domain, or a
// per-coordinate box from a verification benchmark): the largest softmax
// probability that any input of the box can get, by three methods.
//
//   ibp    interval bound propagation (Gowal et al. 2018; used for OOD
//          guarantees by Bitterwolf, Meinke & Hein, NeurIPS 2020): every
//          node's values are enclosed in an interval, a linear map sends
//          centre and radius to (W c + b, |W| r). The last dense layer is
//          merged into the logit differences (rows W_k - W_j).
//   crown  a linear relaxation (Zhang et al. 2018, "CROWN"): every
//          piecewise unit whose input interval crosses a knot is enclosed
//          between two lines, and the logit differences z_k - z_j are
//          bounded by back-substitution through the whole network down to
//          the box. Every pre-activation interval is computed the same way
//          (intersected with its interval-arithmetic bound), so unstable
//          units are relaxed as tightly as the method allows.
//   exact  branch and bound over the units' pieces: a subproblem fixes some
//          units to one side of a knot, is bounded by the relaxation, and
//          is split on the unit with the largest weighted relaxation gap
//          in the first layer that has one (layer by layer: the split
//          constraints of decided layers are affine in the input, and an LP
//          over the box cut by them bounds the subproblem);
//          a subproblem whose every unit is on one piece is one linear
//          region intersected with the box, where the network is one
//          affine map z = V x + a and the largest confidence of class k is
//          the minimum of the convex log(Σ_j exp(z_j - z_k)) over a
//          polytope. That minimum is enclosed from both sides: an actual
//          input (a convex combination of LP vertices, chosen by a small
//          convex master problem) from above, and the convexity cut at it,
//          minimised by an LP with a safe dual bound, from below. The
//          answer is an interval [lower, upper] of the exact maximum whose
//          width is at most `tolerance` when complete; stopped early (time
//          limit, Ctrl-C, branch limit) it is still an interval: the best
//          actual input found and the largest bound of the open subproblems.
//
// Every method returns an upper bound (>= the confidence of every input in
// the box, with a rounding allowance) and a lower bound (the confidence of
// an actual input of the box, `argmax_input`: the centre, the relaxation's
// best corners and a few projected-gradient steps; for exact, every
// region's maximiser too).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/network.hpp"
#include "core/statistics.hpp"

namespace tessera {

enum class BoundMethod { Ibp, Crown, Exact };
const char* bound_method_name(BoundMethod m);  // "ibp", "crown", "exact"
// Parses "ibp", "crown" or "exact"; std::nullopt otherwise.
std::optional<BoundMethod> parse_bound_method(const std::string& text);

struct BoxBoundOptions {
  BoundMethod method = BoundMethod::Crown;
  // exact: stop when upper - lower <= tolerance (in confidence, > 0).
  double tolerance = 1e-6;
  // exact: subproblems bounded at most; beyond, the answer is partial.
  std::size_t max_branches = 200'000;
  // Projected-gradient steps per start for the lower bound (0: none). The
  // starts are the box's centre and the relaxation's best corner, for each
  // class whose upper bound is above the best confidence found.
  int attack_steps = 20;
  // Back-substitution works on this many bounds at once (memory ~ columns
  // x the largest node x 8 bytes x 3); 0: chosen from the memory budget.
  int columns = 0;
  // exact: called about five times a second from the search (from the
  // thread that runs it) with where it stands; may be empty.
  struct Progress {
    std::size_t branches = 0, open = 0, leaves = 0;
    double upper = 1, lower = 0;  // the interval that holds now
  };
  std::function<void(const Progress&)> progress;
  // Seconds for this box (0: no limit); the answer is partial after it.
  double time_limit = 0;
  // Polled between subproblems, back-substitution chunks and LP solves.
  const std::atomic<bool>* cancel = nullptr;
  // "" when valid, else what is wrong (one line).
  std::string validate() const;
};

struct BoxBound {
  BoundMethod method = BoundMethod::Crown;
  double upper_bound = 1;  // >= the confidence of every input of the box
  double lower_bound = 0;  // the confidence at argmax_input (an input of the box)
  // ibp/crown: the bound was computed and the search for a lower bound
  // ran to its end (false when cancelled or out of time; the upper bound
  // still holds if it is below 1); exact: upper_bound - lower_bound <=
  // tolerance.
  bool complete = true;
  Vector argmax_input;
  int argmax_class = -1;  // the class of argmax_input
  // Per class k: an upper bound on p_k over the box, and the largest p_k
  // found at an actual input.
  Vector class_upper, class_lower;
  // Units (and max-pool windows) whose input interval crosses a knot at the
  // root, by this method's intervals: how far the box is from one region.
  std::size_t unstable = 0;
  // exact: subproblems bounded, leaves (single regions) solved, LPs solved,
  // subproblems still open when it stopped; subproblems that are not one
  // region but cannot be split (max-pool windows without a clear winner).
  std::size_t branches = 0, leaves = 0, lps = 0, open = 0, unsplittable = 0;
  std::string stop_reason;  // why it is not complete ("" when complete)
  double seconds = 0;
};

// The bound for the box [lo, hi] (lo <= hi entrywise, finite, of the
// network's input size). Throws tessera::Error for invalid options or a
// box of the wrong size.
BoxBound bound_confidence(const Network& net, const Vector& lo, const Vector& hi, const BoxBoundOptions& o);

// Interval enclosures of every node's values over the box (lo[v], hi[v] for
// node v): by interval arithmetic (crown = false) or with every
// pre-activation tightened by back-substitution (crown = true). For tests,
// the app and `tessera bound --json`'s per-layer report.
struct NodeIntervals {
  std::vector<Vector> lo, hi;
};
NodeIntervals node_intervals(const Network& net, const Vector& lo, const Vector& hi, bool crown);

// Many boxes: column j of lo and hi is box j. Parallel over boxes.
struct BoxBoundSetOptions {
  BoxBoundOptions bound;
  int threads = 0;          // 0: all cores
  double threshold = 0.5;   // "certified": upper_bound < threshold
  std::function<void(std::size_t, std::size_t)> progress;  // (done, total), one thread at a time
  const std::atomic<bool>* cancel = nullptr;               // stops the set; finished boxes are kept
  // Which boxes this process bounds, one index at a time (called from
  // several threads; nullopt: no more): a set shared between processes
  // gives each a part. Empty: every box. With it, the result holds the boxes
  // handed here, and `complete` says whether all of those finished.
  std::function<std::optional<std::size_t>()> next_box;
};

// Mergeable summary of a set of bounds.
struct BoxBoundSummary {
  std::size_t count = 0, complete = 0;
  std::size_t certified = 0;  // upper_bound < threshold
  std::size_t refuted = 0;    // lower_bound >= threshold: an input of the box reaches it
  Distribution upper_bound, lower_bound, gap, unstable, seconds;
  void add(const BoxBound& b, double threshold);
  void merge(const BoxBoundSummary& other);
  // For merging the summaries of other processes: read(write(s)) equals s.
  void write(ByteWriter& out) const;
  static BoxBoundSummary read(ByteReader& in);
};

struct BoxBoundSetResult {
  // The boxes that were started, in order; one stopped by `cancel` is kept
  // (its interval is valid) and says so in complete and stop_reason.
  std::vector<BoxBound> bounds;
  std::vector<Eigen::Index> box;  // bounds[i] is the bound of box box[i]
  BoxBoundSummary summary;
  std::size_t requested = 0;
  bool complete = true;  // every box was started and finished
  std::string stop_reason;
};

BoxBoundSetResult bound_confidence_set(const Network& net, const Matrix& lo, const Matrix& hi,
                                       const BoxBoundSetOptions& o);

}  // namespace tessera
