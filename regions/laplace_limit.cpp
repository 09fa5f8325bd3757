#include "regions/laplace_limit.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/line_traversal.hpp"

namespace tessera {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPiOver8 = 3.14159265358979323846 / 8.0;

// The scores along the last region: z_k(alpha) = (a alpha + c) /
// sqrt(A alpha^2 + B alpha + C), with A = pi/8 s, B = pi/4 r, C = 1 + pi/8 q.
struct Scores {
  Vector a, c, A, B, C;

  double z(int k, double alpha) const {
    if (std::isinf(alpha)) return alpha > 0 ? limit(k) : -limit(k);
    if (std::abs(alpha) <= 1) return (a[k] * alpha + c[k]) / std::sqrt(A[k] * alpha * alpha + B[k] * alpha + C[k]);
    // Divided through by |alpha|, so that alpha^2 cannot overflow.
    const double inv = 1.0 / alpha;
    const double z = (a[k] + c[k] * inv) / std::sqrt(A[k] + (B[k] + C[k] * inv) * inv);
    return alpha > 0 ? z : -z;
  }
  double limit(int k) const {
    if (A[k] > 0) return a[k] / std::sqrt(A[k]);
    if (a[k] == 0) return c[k] / std::sqrt(C[k]);  // phi_inf = 0: the score is constant
    return a[k] > 0 ? kInf : -kInf;               // a degenerate posterior (never with one that checks)
  }
  Vector at(double alpha) const {
    Vector z(a.size());
    for (Eigen::Index k = 0; k < a.size(); ++k) z[k] = this->z(static_cast<int>(k), alpha);
    return z;
  }
  // Where dz_k/dalpha = 0: its numerator is (a B/2 - c A) alpha + (a C - c B/2).
  double critical(int k) const {
    const double slope = a[k] * B[k] / 2 - c[k] * A[k];
    const double offset = a[k] * C[k] - c[k] * B[k] / 2;
    if (slope == 0) return -kInf;
    return -offset / slope;
  }
};

double max_softmax(const Vector& z) { return predictive_of_scores(z).confidence; }

// Bounds on the largest softmax probability over an interval on which every
// score is monotone, from the scores at its two ends.
std::pair<double, double> confidence_bounds(const Vector& z_lo, const Vector& z_hi) {
  const Vector lo = z_lo.cwiseMin(z_hi), hi = z_lo.cwiseMax(z_hi);
  double best_lo = 0, best_hi = 0;
  for (Eigen::Index k = 0; k < lo.size(); ++k) {
    double sum_lo = 0, sum_hi = 0;  // for the lower and the upper bound of p_k
    for (Eigen::Index j = 0; j < lo.size(); ++j) {
      if (j == k) continue;
      sum_lo += std::exp(hi[j] - lo[k]);
      sum_hi += std::exp(lo[j] - hi[k]);
    }
    best_lo = std::max(best_lo, 1.0 / (1.0 + sum_lo));
    best_hi = std::max(best_hi, 1.0 / (1.0 + sum_hi));
  }
  return {best_lo, best_hi};
}

class WithinSearch {
 public:
  WithinSearch(const Scores& s, double limit, double tol, std::size_t budget)
      : s_(s), limit_(limit), tol_(tol), budget_(budget) {}

  // The largest alpha in [lo, hi] where the confidence is more than tol
  // from the limit (to a relative 1e-9, rounded up), or -inf if there is
  // none. Every score is monotone on [lo, hi].
  double sup_violation(double lo, double hi) {
    if (++used_ > budget_) {
      exhausted_ = true;
      return hi;
    }
    const Vector zl = s_.at(lo), zh = s_.at(hi);
    const auto [clo, chi] = confidence_bounds(zl, zh);
    if (clo >= limit_ - tol_ && chi <= limit_ + tol_) return -kInf;
    if (violates(zh)) return hi;
    if (std::isfinite(hi) && hi <= lo * (1 + 1e-9)) return hi;
    const double mid = std::isinf(hi) ? std::max(lo, 1.0) * 1e4 : lo > 0 ? std::sqrt(lo) * std::sqrt(hi) : hi / 2;
    if (!(mid > lo && mid < hi)) return hi;
    const double upper = sup_violation(mid, hi);
    if (upper > -kInf || exhausted_) return upper;
    return sup_violation(lo, mid);
  }
  bool exhausted() const { return exhausted_; }
  std::size_t used() const { return used_; }

 private:
  bool violates(const Vector& z) const { return std::abs(max_softmax(z) - limit_) > tol_; }
  const Scores& s_;
  double limit_, tol_;
  std::size_t budget_, used_ = 0;
  bool exhausted_ = false;
};


Scores scores_of(const Vector& a, const Vector& c, const Vector& s, const Vector& r, const Vector& q) {
  return Scores{a, c, kPiOver8 * s, 2 * kPiOver8 * r, (1.0 + kPiOver8 * q.array()).matrix()};
}

// The scores along a stretch where the features are phi(t) = phi_c + t phi_w.
Scores scores_along(const LaplaceHead& head, const Vector& phi_c, const Vector& phi_w, Vector& s, Vector& r, Vector& q) {
  const Eigen::Index H = head.features();
  Vector uu = Vector::Zero(H + 1), ww = Vector::Zero(H + 1);
  uu.head(H) = phi_w;
  ww.head(H) = phi_c;
  ww[H] = 1.0;
  const int K = head.classes();
  s.resize(K);
  r.resize(K);
  q.resize(K);
  for (int k = 0; k < K; ++k) {
    s[k] = std::max(0.0, head.form(k, k, uu, uu));
    r[k] = head.form(k, k, uu, ww);
    q[k] = std::max(0.0, head.form(k, k, ww, ww));
  }
  return scores_of(head.weight * phi_w, head.weight * phi_c + head.bias, s, r, q);
}

}  // namespace

Predictive laplace_predictive_on_line(const LaplaceModel& model, const Vector& x0, const Vector& d, double t) {
  if (!std::isinf(t)) {
    const Vector x = x0 + t * d;
    if (x.allFinite() && x.cwiseAbs().maxCoeff() <= 1e150) return laplace_predictive(model.head, logits(model.features, x));
  }
  // Far out (or at infinity): from the features along the line x0 + t' d'
  // with d' = d / 2^e of entries near 1 and t' = t 2^e (as certify walks),
  // so that nothing overflows for any size of d or t.
  const double dmax = d.cwiseAbs().maxCoeff();
  if (!(dmax > 0)) throw Error("the line's direction is zero");
  const int e = std::ilogb(dmax);
  const Vector dn = d.unaryExpr([e](double v) { return std::ldexp(v, -e); });
  const double tn = std::ldexp(t, e);
  const LineState s = line_state(model.features, x0, dn, tn, std::isinf(tn) ? Side::AtInfinity : Side::Right);
  Vector sv, rv, qv;
  return predictive_of_scores(scores_along(model.head, s.cw.back().col(0), s.cw.back().col(1), sv, rv, qv).at(tn));
}

Vector LaplaceCertificate::scores_at(double alpha) const {
  return scores_of(a_u, c_u, s_u, r_u, q_u).at(std::ldexp(alpha, scale_exponent));
}

double LaplaceCertificate::confidence_at(double alpha) const { return max_softmax(scores_at(alpha)); }

LaplaceCertificate laplace_certify(const LaplaceModel& model, const Vector& x, const LaplaceRayOptions& o) {
  if (!(o.alpha0 > 0) || !std::isfinite(o.alpha0)) throw Error("alpha0 must be a positive finite number");
  if (!(o.tolerance > 0 && o.tolerance < 1)) throw Error("the Laplace tolerance must lie strictly between 0 and 1");
  const Network& f = model.features;
  const LaplaceHead& head = model.head;
  if (x.size() != f.input_size() || !x.allFinite()) check_input(x, f.input_size(), "input");  // throws
  const double max_abs = x.cwiseAbs().maxCoeff();
  if (max_abs == 0) throw Error("input: the zero vector has no ray (alpha x = 0 for every alpha)");

  LaplaceCertificate out;
  out.tolerance = o.tolerance;
  // As certify walks it: along u = x / 2^e, t = alpha 2^e, so that inputs
  // of order 1e-300 or 1e300 keep full precision.
  const int e = std::ilogb(max_abs);
  out.scale_exponent = e;
  const Vector u = x.unaryExpr([e](double v) { return std::ldexp(v, -e); });
  check_input(u, f.input_size(), "input");
  const Vector origin = Vector::Zero(u.size());
  {
    // At alpha = 1 (t = 2^e), from the features there.
    Predictive p;
    if (max_abs <= 1e150) {
      p = laplace_predictive(head, logits(f, x));
    } else {
      const double t = std::ldexp(1.0, e);
      const LineState at = line_state(f, origin, u, t);
      Vector s, r, q;
      p = predictive_of_scores(scores_along(head, at.cw.back().col(0), at.cw.back().col(1), s, r, q).at(t));
    }
    out.predicted_class = p.cls;
    out.confidence_at_input = p.confidence;
  }

  const double a0 = std::max(std::ldexp(o.alpha0, e), DBL_TRUE_MIN);
  LineState s = line_state(f, origin, u, kInf, Side::AtInfinity);
  const double bottom = std::max(previous_breakpoint(f, s), a0);
  auto to_alpha = [&](double t) { return t == a0 ? o.alpha0 : std::ldexp(t, -e); };
  out.last_region_alpha = to_alpha(bottom);
  out.last_region_hash = s.pattern.hash();
  const Matrix& cw = s.cw.back();
  out.feature_offset = cw.col(0);
  out.feature_slope = cw.col(1).unaryExpr([e](double v) { return std::ldexp(v, e); });
  const Scores sc = scores_along(head, cw.col(0), cw.col(1), out.s_u, out.r_u, out.q_u);
  out.a_u = sc.a;
  out.c_u = sc.c;
  out.mean_slope = sc.a.unaryExpr([e](double v) { return std::ldexp(v, e); });
  out.variance_growth = out.s_u.unaryExpr([e](double v) { return std::ldexp(v, 2 * e); });
  out.limit_scores = sc.at(kInf);
  if (!out.limit_scores.allFinite()) {
    out.stop_reason = "the posterior gives a class no variance along this ray, so the limit is not a number";
    return out;
  }
  const Predictive lim = predictive_of_scores(out.limit_scores);
  out.limit_probabilities = lim.probabilities;
  out.limit_class = lim.cls;
  out.limit_confidence = lim.confidence;
  out.one_minus_limit_confidence = lim.one_minus_confidence;
  if (o.limit_only) {
    out.complete = true;
    return out;
  }

  // alpha_within: from the last region down, each region cut into pieces on
  // which every score is monotone; the first (highest) violation found ends it.
  std::size_t budget = o.max_bisections;
  bool exhausted = false;
  auto search_region = [&](const Scores& region, double t_lo, double t_hi) {
    ++out.regions_searched;
    std::vector<double> cuts{t_lo};
    for (int k = 0; k < head.classes(); ++k) {
      const double t = region.critical(k);
      if (t > t_lo && t < t_hi) cuts.push_back(t);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    cuts.push_back(t_hi);
    WithinSearch search(region, out.limit_confidence, o.tolerance, budget);
    double sup = -kInf;
    for (std::size_t i = cuts.size() - 1; i-- > 0;) {
      sup = search.sup_violation(cuts[i], cuts[i + 1]);
      if (sup > -kInf || search.exhausted()) break;
    }
    budget -= std::min(budget, search.used());
    exhausted = exhausted || search.exhausted();
    return sup;
  };
  double sup = search_region(sc, bottom, kInf);
  std::string walk_stop;
  if (sup == -kInf && !exhausted && bottom > a0) {
    TraversalOptions to;
    to.max_segments = o.max_regions;
    to.cancel = o.cancel;
    to.point_segments = false;
    to.until = [&](const LineSegment& seg) {
      if (std::isinf(seg.t_end)) return false;  // the last region: searched above
      Vector sv, rv, qv;
      sup = search_region(scores_along(head, seg.logit_c, seg.logit_w, sv, rv, qv), seg.t_begin, seg.t_end);
      return sup > -kInf || exhausted;
    };
    const LineTraversal down = traverse_ray_down(f, u, a0, to);
    if (!down.complete) walk_stop = down.stop_reason;
  }
  if (exhausted || !walk_stop.empty() || (std::isinf(sup) && sup > 0)) {
    out.alpha_within = Finding<double>::unknown();
    out.stop_reason = exhausted ? "the search for the alpha within " + std::to_string(o.tolerance) + " of the limit used its " +
                                      std::to_string(o.max_bisections) + " bounds"
                      : !walk_stop.empty() ? "the search for the alpha within the tolerance stopped: " + walk_stop
                                           : "the confidence is still farther than " + std::to_string(o.tolerance) +
                                                 " from its limit beyond the range of double precision";
    return out;
  }
  if (sup == -kInf) {
    out.alpha_within = Finding<double>::at(o.alpha0);
    out.within_from_start = true;
  } else {
    out.alpha_within = Finding<double>::at(to_alpha(sup));
  }
  out.complete = true;
  return out;
}

}  // namespace tessera
