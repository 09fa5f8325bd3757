#include "regions/certificate.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/tolerances.hpp"
#include "regions/ray_bounds.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Interval = std::pair<double, double>;

// Merges the confident intervals of ascending segments, as one list of
// disjoint intervals: an interval that starts where (or before) the
// previous one ends extends it.
void merge_into(std::vector<Interval>& merged, const std::vector<Interval>& next) {
  for (const Interval& iv : next)
    if (merged.empty() || iv.first > merged.back().second)
      merged.push_back(iv);
    else
      merged.back().second = std::max(merged.back().second, iv.second);
}

// Walking down: the confident chain that reaches +inf starts at `chain`;
// the intervals of the segment below extend it when they reach it (the
// merge rule of merge_into, read backwards).
void extend_chain(double& chain, const std::vector<Interval>& ivs) {
  for (auto it = ivs.rbegin(); it != ivs.rend(); ++it) {
    if (it->second < chain) break;
    chain = std::min(chain, it->first);
  }
}

// The regions of the ray below the walk from infinity, searched with
// confidence bounds (regions/ray_bounds.hpp): a piece whose bound is below
// the target is skipped; a piece whose bound relaxes only a few units is
// walked region by region, each region computed exactly as the full walk
// computes it (its pattern, logits and both ends).
class BoundedSearch {
 public:
  BoundedSearch(const Network& net, const RayBounder& bounder, const Vector& u, double a0, double threshold,
                const TraversalOptions& limits, std::size_t budget)
      : net_(net), bounder_(bounder), u_(u), origin_(Vector::Zero(u.size())), a0_(a0), threshold_(threshold),
        limits_(limits), budget_(budget) {}

  // The exact region that holds just right of t.
  const LineSegment& region_at(double t) {
    auto it = regions_.upper_bound(t);
    if (it != regions_.begin()) {
      const LineSegment& prev = std::prev(it)->second;
      if (prev.t_begin <= t && t < prev.t_end) return prev;
    }
    LineState s = line_state(net_, origin_, u_, t);
    const double end = next_breakpoint(net_, s);
    s.t = std::nextafter(t, kInf);  // roots at t itself: the region starts at t
    const double begin = std::max(previous_breakpoint(net_, s), a0_);
    ++computed_;
    if (limits_.progress && computed_ % 256 == 0) limits_.progress(computed_, t);
    return regions_.emplace(begin, segment_of(s, begin, end, limits_)).first->second;
  }

  // The first t with confidence >= threshold in a region that meets
  // [lo, hi]; nullopt when there is none (or the search stopped).
  std::optional<double> first_confident(double lo, double hi) {
    if (!go()) return std::nullopt;
    const RayBounder::Bound b = bound(lo, hi);
    if (b.confidence < threshold_) return std::nullopt;
    if (leaf(b, lo, hi)) {
      for (double t = lo; t < hi && go();) {
        const LineSegment& seg = region_at(t);
        for (const Interval& iv : confident_intervals(seg.logit_c, seg.logit_w, seg.t_begin, seg.t_end, threshold_))
          if (iv.second >= lo && iv.first <= hi) return iv.first;
        t = seg.t_end;
      }
      return std::nullopt;
    }
    const double mid = midpoint(lo, hi);
    if (std::optional<double> r = first_confident(lo, mid)) return r;
    return first_confident(mid, hi);
  }

  // Raises `best` to the largest confidence on [lo, hi] ∩ [enter, leave].
  enum class Outcome { Pruned, Walked, Split };
  Outcome maximise(double lo, double hi, double enter, double leave, double& best) {
    if (!go()) return Outcome::Walked;
    const RayBounder::Bound b = bound(lo, hi);
    if (b.confidence < best) return Outcome::Pruned;
    if (leaf(b, lo, hi)) {
      walk_max(lo, hi, enter, leave, best);
      return Outcome::Walked;
    }
    const double mid = midpoint(lo, hi);
    maximise(mid, hi, enter, leave, best);  // the confidence tends to grow with alpha: the right half first
    maximise(lo, mid, enter, leave, best);
    return Outcome::Split;
  }

  // Region by region over [lo, hi].
  void walk_max(double lo, double hi, double enter, double leave, double& best) {
    for (double t = lo; t < hi && go();) {
      const LineSegment& seg = region_at(t);
      const double a = std::max(seg.t_begin, enter), e = std::min(seg.t_end, leave);
      if (a <= e) best = std::max(best, confidence_range(seg.logit_c, seg.logit_w, a, e).max);
      t = seg.t_end;
    }
  }

  // The largest confidence on [enter, hi], with `best` the largest known
  // (at hi and above). The confidence usually grows with alpha, so the
  // pieces next to hi are hard to rule out and those far below easy: the
  // pieces grow from hi downwards, doubling while they are ruled out and
  // halving after one is not.
  void maximise_down(double enter, double hi, double leave, double width, double& best) {
    while (hi > enter && go()) {
      if (failed_ > 16 + 2 * computed_) {
        // The bounds do not pay (a flat confidence): walk the rest.
        walk_max(enter, hi, enter, leave, best);
        return;
      }
      const double lo = std::max(enter, hi - width < hi / 8 ? hi / 8 : hi - width);
      const Outcome outcome = maximise(lo, hi, enter, leave, best);
      if (outcome == Outcome::Pruned) width *= 2;
      if (outcome == Outcome::Split) width = std::max(0.5 * width, 1e-6 * hi);
      hi = outcome == Outcome::Pruned ? lo : std::min(lo, begin_of_known(lo));  // a walked region may reach further down
    }
  }

  // The start of the computed region that contains t, or t.
  double begin_of_known(double t) const {
    auto it = regions_.upper_bound(t);
    if (it == regions_.begin()) return t;
    const LineSegment& prev = std::prev(it)->second;
    return prev.t_begin <= t && t < prev.t_end ? prev.t_begin : t;
  }

  bool stopped() const { return !stop_reason_.empty(); }
  const std::string& stop_reason() const { return stop_reason_; }
  std::size_t bounds() const { return bounds_; }
  std::map<double, LineSegment>& regions() { return regions_; }

 private:
  // (The budget counts regions and bounds: a bound costs about as much as
  // one or two regions.)
  // Walk a piece region by region when its bound relaxes only a few units
  // (it then holds about that many regions) or when it is too short to split.
  // When bounds keep failing to rule pieces out (a flat confidence, as ACET
  // trains it), splitting costs more than walking: after more failures than
  // 16 plus twice the regions computed, every piece is walked.
  bool leaf(const RayBounder::Bound& b, double lo, double hi) {
    ++failed_;
    return b.relaxed <= 32 || failed_ > 16 + 2 * computed_ || midpoint(lo, hi) <= lo || midpoint(lo, hi) >= hi;
  }
  static double midpoint(double lo, double hi) {
    if (lo > 0 && hi > 4 * lo) return std::sqrt(lo) * std::sqrt(hi);
    return lo + 0.5 * (hi - lo);
  }
  RayBounder::Bound bound(double lo, double hi) {
    ++bounds_;
    return bounder_.confidence_bound(origin_, u_, lo, hi);
  }
  bool go() {
    if (!stop_reason_.empty()) return false;
    if (limits_.cancel && limits_.cancel->load()) {
      stop_reason_ = "cancelled";
      return false;
    }
    if (computed_ + bounds_ >= budget_) {
      stop_reason_ = "stopped after " + std::to_string(limits_.max_segments) + " segments (--max-segments)";
      return false;
    }
    return true;
  }

  const Network& net_;
  const RayBounder& bounder_;
  const Vector& u_;
  const Vector origin_;
  const double a0_, threshold_;
  const TraversalOptions& limits_;
  const std::size_t budget_;
  std::map<double, LineSegment> regions_;  // by t_begin
  std::size_t computed_ = 0, bounds_ = 0, failed_ = 0;
  std::string stop_reason_;
};

}  // namespace

std::string CertifyOptions::validate() const {
  if (!(threshold > 0 && threshold < 1)) return "the threshold must lie strictly between 0 and 1";
  if (!(alpha0 > 0) || !std::isfinite(alpha0)) return "alpha0 must be a positive finite number";
  if (has_box && box_lower.size() == 0 && !(box_lo < box_hi)) return "the box needs lo < hi";
  if (box_lower.size() != box_upper.size()) return "the box needs as many lower as upper bounds";
  if (has_box && (box_lower.array() > box_upper.array()).any()) return "the box has a lower bound above its upper bound";
  if (traversal.max_segments == 0) return "the segment limit must be positive";
  if (laplace && !(laplace_tolerance > 0 && laplace_tolerance < 1)) return "the Laplace tolerance must lie strictly between 0 and 1";
  return "";
}

Network bias_free(const Network& net) {
  Network g = net;
  g.laplace = nullptr;  // its last layer is not the posterior's any more
  for (Node& n : g.nodes) {
    if (n.bias.size()) n.bias.setZero();
    if (n.shift.size()) n.shift.setZero();
    // A Piecewise unit far out: every knot and offset scales to 0 beside
    // alpha, leaving its first piece's slope below 0 and its last above
    // (a Clip unit becomes 0: it saturates).
    if (n.kind == OpKind::Piecewise) {
      n.knots.setZero();
      n.piece_offsets.setZero();
    }
  }
  return g;
}

Certificate certify(const Network& net, const Vector& x, const CertifyOptions& o, LineTraversal* full_ray) {
  if (const std::string why = o.validate(); !why.empty()) throw Error("certify: " + why);
  if (x.size() != net.input_size() || !x.allFinite()) check_input(x, net.input_size(), "input");
  if (x.isZero(0.0))
    throw Error("input: is the zero vector (or every value underflowed to 0), so the ray alpha*x does not move");
  Certificate cert;
  cert.full = o.full || full_ray;

  // The ray is walked along u = x / 2^e with max|u_i| in [1, 2): a power of
  // two, so for x of ordinary size every number below is the same as for x
  // itself (alpha' = alpha 2^e, alpha' u = alpha x exactly), while inputs
  // of order 1e-310 or 1e300 keep full precision and the same limit.
  cert.input_max_abs = x.cwiseAbs().maxCoeff();
  const int e = std::ilogb(cert.input_max_abs);
  const Vector u = x.unaryExpr([e](double v) { return std::ldexp(v, -e); });
  const double a0 = std::max(std::ldexp(o.alpha0, e), DBL_TRUE_MIN);
  const double u_max_abs = u.cwiseAbs().maxCoeff();
  check_input(u, net.input_size(), "input");
  {
    // At alpha = 1. Inputs too large for the forward pass (> 1e150) are
    // evaluated along the ray, from logit differences, which stay finite.
    Eigen::Index k;
    if (cert.input_max_abs <= tol::kMaxAbsParameter) {
      const Vector z = logits(net, x);
      z.maxCoeff(&k);
      cert.confidence_at_input = softmax(z)[k];
    } else {
      const LineState s = line_state(net, Vector::Zero(u.size()), u, std::ldexp(1.0, e));
      cert.confidence_at_input = softmax_at(s.cw.back().col(0), s.cw.back().col(1), std::ldexp(1.0, e)).maxCoeff(&k);
    }
    cert.predicted_class = static_cast<int>(k);
  }
  auto to_alpha = [&](double a) { return a == a0 ? o.alpha0 : std::ldexp(a, -e); };
  auto alpha_finding = [&](const Finding<double>& f) {
    return f.value ? Finding<double>::at(to_alpha(*f.value)) : f;
  };

  // The box, for u: alpha' u in [lo, hi]^d.
  bool in_box = false;
  double enter = a0, leave = -kInf;
  if (o.has_box && !o.limit_only) {
    leave = kInf;
    if (o.box_lower.size() && o.box_lower.size() != u.size())
      throw Error("certify: the box has " + std::to_string(o.box_lower.size()) + " intervals but the input has " +
                  std::to_string(u.size()) + " values");
    // Along u: t u_i in [lo_i, hi_i].
    for (Eigen::Index i = 0; i < u.size(); ++i) {
      const double ui = u[i];
      const double lo = o.lower(i), hi = o.upper(i);
      if (ui > 0) {
        enter = std::max(enter, lo / ui);
        leave = std::min(leave, hi / ui);
      } else if (ui < 0) {
        enter = std::max(enter, hi / ui);
        leave = std::min(leave, lo / ui);
      } else if (!(lo <= 0 && 0 <= hi)) {
        leave = -kInf;
      }
    }
    in_box = enter <= leave;
    if (in_box) {
      cert.box_entry_alpha = to_alpha(enter);
      cert.box_exit_alpha = to_alpha(leave);
    }
  }

  TraversalOptions base = o.traversal;
  base.until = nullptr;
  const Vector origin = Vector::Zero(u.size());

  // Segments in ascending order; [a0, covered_to] is walked without gaps,
  // and regions above a gap (the fast path's walk from infinity) follow.
  std::vector<LineSegment> segments;
  double covered_to = a0;
  Finding<double> alpha_star;  // in alphas of u
  bool finished = false;       // every part ran to its end (no limit stopped one)
  std::string stop_reason;

  if (cert.full) {
    // The reference: every region recomputed from the ray itself (the
    // regions the fast path computes are computed the same way, so the two
    // agree bit for bit).
    TraversalOptions fresh = base;
    fresh.incremental = false;
    LineTraversal tr = traverse_line(net, origin, u, a0, kInf, fresh);
    finished = tr.complete;
    stop_reason = tr.stop_reason;
    cert.regions_visited = tr.segments.size();
    if (tr.complete) cert.segments = tr.segments.size();
    covered_to = tr.complete ? kInf : tr.segments.empty() ? a0 : tr.segments.back().t_end;
    segments = std::move(tr.segments);
    if (full_ray) {
      full_ray->complete = tr.complete;
      full_ray->stop_reason = stop_reason;
      full_ray->segments = segments;
      for (LineSegment& s : full_ray->segments) {
        s.t_begin = to_alpha(s.t_begin);
        s.t_end = std::isinf(s.t_end) ? s.t_end : to_alpha(s.t_end);
        s.logit_w = s.logit_w.unaryExpr([e](double v) { return std::ldexp(v, e); });
      }
    }
  } else {
    // 1. From infinity: the last region, then down until alpha* is decided.
    double chain = kInf;
    bool first = true;
    TraversalOptions down = base;
    down.until = [&](const LineSegment& s) {
      if (o.limit_only) return true;
      const std::vector<Interval> ivs = confident_intervals(s.logit_c, s.logit_w, s.t_begin, s.t_end, o.threshold);
      if (first) {
        first = false;
        // The limit confidence is below t (tied classes): no alpha*.
        if (ivs.empty() || !std::isinf(ivs.back().second)) {
          alpha_star = Finding<double>::never();
          return true;
        }
      }
      extend_chain(chain, ivs);
      if (chain > s.t_begin) {
        alpha_star = Finding<double>::at(chain);
        return true;
      }
      return false;
    };
    LineTraversal d = traverse_ray_down(net, u, a0, down);
    cert.regions_from_infinity = d.segments.size();
    stop_reason = d.stop_reason;
    const bool down_done = d.complete;
    // Reached alpha0 with the chain still unbroken: alpha* = alpha0's side.
    if (down_done && !d.ended_by_until && !o.limit_only) alpha_star = Finding<double>::at(chain);
    const double d_bottom = d.segments.empty() ? kInf : d.segments.back().t_begin;
    std::reverse(d.segments.begin(), d.segments.end());

    // 2 and 3. Below the walk from infinity: the first alpha, and the box
    // (largest confidence, first alpha inside), by a search that skips
    // every piece whose confidence bound stays below its target.
    std::vector<LineSegment> up_segments;
    const bool joined = down_done && d_bottom <= a0;
    bool up_done = true;
    if (down_done && !joined && !o.limit_only) {
      const std::size_t used = d.segments.size();
      std::optional<RayBounder> local;
      if (!o.bounder) local.emplace(net);
      const RayBounder& bounder = o.bounder ? *o.bounder : *local;
      BoundedSearch search(net, bounder, u, a0, o.threshold, base,
                           o.traversal.max_segments > used ? o.traversal.max_segments - used : 0);
      if (in_box && enter < d_bottom) {
        // The box first: its largest confidence. When that is below t, no
        // point of the box reaches t, and the first alpha is searched only
        // outside it.
        const double top = std::min(leave, d_bottom);
        // Start from the best values known: at the top of the box, in the
        // regions from infinity inside the box, at alpha = 1.
        const LineSegment& at_top = search.region_at(std::min(top, std::nextafter(d_bottom, 0.0)));
        double best = confidence_range(at_top.logit_c, at_top.logit_w, std::max(at_top.t_begin, enter),
                                       std::min(at_top.t_end, top)).max;
        for (const LineSegment& seg : d.segments) {
          const double a = std::max(seg.t_begin, enter), b = std::min(seg.t_end, leave);
          if (a <= b) best = std::max(best, confidence_range(seg.logit_c, seg.logit_w, a, b).max);
        }
        // ... and at its bottom (the confidence can also fall with alpha).
        const LineSegment& at_bottom = search.region_at(enter);
        best = std::max(best, confidence_range(at_bottom.logit_c, at_bottom.logit_w, std::max(at_bottom.t_begin, enter),
                                               std::min(at_bottom.t_end, top)).max);
        const double one = std::ldexp(1.0, e);  // alpha = 1
        if (enter <= one && one <= leave) best = std::max(best, cert.confidence_at_input);
        const double below = std::max(at_top.t_begin, enter);
        search.maximise_down(enter, below, leave, std::max(top - below, below * 1e-6), best);
        if (best < o.threshold) {
          if (a0 < enter && !search.first_confident(a0, enter)) search.first_confident(top, d_bottom);
          else if (a0 >= enter) search.first_confident(top, d_bottom);
        } else {
          // Some point of the box reaches t: the first alpha is at or below
          // it, and the first alpha inside the box is searched from enter.
          const std::optional<double> first = search.first_confident(a0, top);
          if (first && *first < enter) search.first_confident(enter, top);
        }
      } else {
        search.first_confident(a0, d_bottom);
      }
      up_done = !search.stopped();
      if (!up_done) stop_reason = search.stop_reason();
      cert.bounds_computed = search.bounds();
      for (auto& [begin, seg] : search.regions()) {
        if (!d.segments.empty() && seg.pattern_hash == d.segments.front().pattern_hash) continue;
        up_segments.push_back(std::move(seg));
      }
    }
    for (const LineSegment& s : up_segments) (in_box && s.t_begin < leave ? cert.regions_box : cert.regions_middle)++;
    // The search establishes everything below the walk from infinity,
    // unless a limit stopped it.
    covered_to = down_done && up_done ? kInf : a0;
    if (joined) cert.segments = d.segments.size();
    cert.regions_visited = up_segments.size() + d.segments.size();
    finished = down_done && up_done;
    segments = std::move(up_segments);
    for (LineSegment& s : d.segments) segments.push_back(std::move(s));
  }

  // The last region.
  if (!segments.empty() && std::isinf(segments.back().t_end)) {
    const LineSegment& last = segments.back();
    cert.last_region_found = true;
    cert.last_region_alpha = to_alpha(last.t_begin);
    cert.last_region_hash = last.pattern_hash;
    cert.limit_logits = last.logit_w.unaryExpr([e](double v) { return std::ldexp(v, e); });
    cert.last_region_offset = last.logit_c;
    const LimitBehaviour lim = limit_of(last.logit_c, last.logit_w);
    cert.limit_class = lim.cls;
    cert.limit_ties = lim.ties;
    cert.limit_confidence = lim.confidence;
    const Vector g = o.bias_free ? logits(*o.bias_free, u) : logits(bias_free(net), u);
    cert.bias_free_residual = (g - last.logit_w).cwiseAbs().maxCoeff() / std::max(1.0, g.cwiseAbs().maxCoeff());
  }

  if (!o.limit_only) {
    std::vector<Interval> merged;
    for (const LineSegment& s : segments)
      merge_into(merged, confident_intervals(s.logit_c, s.logit_w, s.t_begin, s.t_end, o.threshold));
    if (cert.full && std::isinf(covered_to))
      alpha_star = !merged.empty() && std::isinf(merged.back().second) ? Finding<double>::at(merged.back().first)
                                                                        : Finding<double>::never();
    // first alpha: the first confident interval, if the walk from alpha0
    // reached it without a gap.
    Finding<double> first_alpha;
    if (!merged.empty() && merged.front().first <= covered_to)
      first_alpha = Finding<double>::at(merged.front().first);
    else if (std::isinf(covered_to))
      first_alpha = Finding<double>::never();
    cert.first_alpha = alpha_finding(first_alpha);
    cert.alpha_star = alpha_finding(alpha_star);
    if (alpha_star.value) cert.alpha_star_times_max_abs = Finding<double>::at(*alpha_star.value * u_max_abs);
    else cert.alpha_star_times_max_abs = alpha_star;

    if (in_box) {
      if (covered_to >= leave) {
        double best = 0;
        for (const LineSegment& s : segments) {
          const double a = std::max(s.t_begin, enter), b = std::min(s.t_end, leave);
          if (a > b) continue;
          best = std::max(best, confidence_range(s.logit_c, s.logit_w, a, b).max);
        }
        // alpha = 1 is a point of the ray whose confidence is known exactly.
        if (*cert.box_entry_alpha <= 1 && 1 <= *cert.box_exit_alpha) best = std::max(best, cert.confidence_at_input);
        cert.max_confidence_in_box = Finding<double>::at(best);
      }
      Finding<double> first_in_box;
      for (const Interval& iv : merged)
        if (iv.second >= enter && iv.first <= leave) {
          if (iv.first <= covered_to) first_in_box = Finding<double>::at(std::max(iv.first, enter));
          break;
        }
      if (!first_in_box.known && covered_to >= leave) first_in_box = Finding<double>::never();
      cert.first_alpha_in_box = alpha_finding(first_in_box);
    } else if (o.has_box) {
      cert.max_confidence_in_box = Finding<double>::never();
      cert.first_alpha_in_box = Finding<double>::never();
    }
  }

  if (o.laplace) {
    LaplaceRayOptions lo;
    lo.alpha0 = o.alpha0;
    lo.tolerance = o.laplace_tolerance;
    lo.cancel = o.traversal.cancel;
    lo.limit_only = o.limit_only;
    lo.max_regions = o.traversal.max_segments;
    cert.laplace = laplace_certify(*o.laplace, x, lo);
    if (cert.last_region_found && cert.laplace->last_region_hash != cert.last_region_hash) {
      cert.laplace->complete = false;
      cert.laplace->stop_reason = "the Laplace model's last region differs from the network's (a bug: please report it)";
    }
  }

  cert.complete = finished && cert.last_region_found && (!o.laplace || cert.laplace->complete) &&
                  (o.limit_only || (cert.alpha_star.known && cert.first_alpha.known &&
                                    (!in_box || (cert.max_confidence_in_box.known && cert.first_alpha_in_box.known))));
  cert.stop_reason = cert.complete ? ""
                     : !stop_reason.empty()                        ? stop_reason
                     : cert.laplace && !cert.laplace->complete     ? "Laplace: " + cert.laplace->stop_reason
                                                                   : "stopped";
  return cert;
}

}  // namespace tessera
