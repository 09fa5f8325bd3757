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
    if (std::isinf(alpha)) return limit(k);
    if (alpha <= 1) return (a[k] * alpha + c[k]) / std::sqrt(A[k] * alpha * alpha + B[k] * alpha + C[k]);
    // Divided through by alpha, so that alpha^2 cannot overflow.
    const double inv = 1.0 / alpha;
    return (a[k] + c[k] * inv) / std::sqrt(A[k] + (B[k] + C[k] * inv) * inv);
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

 private:
  bool violates(const Vector& z) const { return std::abs(max_softmax(z) - limit_) > tol_; }
  const Scores& s_;
  double limit_, tol_;
  std::size_t budget_, used_ = 0;
  bool exhausted_ = false;
};

}  // namespace

Vector LaplaceCertificate::scores_at(double alpha) const {
  Scores s{mean_slope, mean_offset, kPiOver8 * variance_growth, 2 * kPiOver8 * variance_linear,
           (1.0 + kPiOver8 * variance_constant.array()).matrix()};
  return s.at(alpha);
}

double LaplaceCertificate::confidence_at(double alpha) const { return max_softmax(scores_at(alpha)); }

LaplaceCertificate laplace_certify(const LaplaceModel& model, const Vector& x, const LaplaceRayOptions& o) {
  if (!(o.alpha0 > 0) || !std::isfinite(o.alpha0)) throw Error("--alpha0 must be a positive number");
  if (!(o.tolerance > 0 && o.tolerance < 1)) throw Error("the Laplace tolerance must lie in (0, 1)");
  const Network& f = model.features;
  const LaplaceHead& head = model.head;
  check_input(x, f.input_size(), "input");
  const double max_abs = x.cwiseAbs().maxCoeff();
  if (max_abs == 0) throw Error("input: the zero vector has no ray (alpha x = 0 for every alpha)");

  LaplaceCertificate out;
  out.tolerance = o.tolerance;
  if (max_abs <= 1e150) {
    const Predictive p = laplace_predictive(head, logits(f, x));
    out.predicted_class = p.cls;
    out.confidence_at_input = p.confidence;
  }

  // As certify walks it: along u = x / 2^e, alpha' = alpha 2^e.
  const int e = std::ilogb(max_abs);
  const Vector u = x.unaryExpr([e](double v) { return std::ldexp(v, -e); });
  const double a0 = std::max(std::ldexp(o.alpha0, e), DBL_TRUE_MIN);
  LineState s = line_state(f, Vector::Zero(u.size()), u, kInf, Side::AtInfinity);
  const double bottom = std::max(previous_breakpoint(f, s), a0);
  out.last_region_alpha = bottom == a0 ? o.alpha0 : std::ldexp(bottom, -e);
  out.last_region_hash = s.pattern.hash();
  const Matrix& cw = s.cw.back();
  out.feature_offset = cw.col(0);
  out.feature_slope = cw.col(1).unaryExpr([e](double v) { return std::ldexp(v, e); });
  if (!out.feature_slope.allFinite()) {
    out.stop_reason = "the features grow beyond the range of double precision along this ray";
    return out;
  }

  const int K = head.classes();
  const Eigen::Index H = head.features();
  Vector uu = Vector::Zero(H + 1), ww = Vector::Zero(H + 1);
  uu.head(H) = out.feature_slope;
  ww.head(H) = out.feature_offset;
  ww[H] = 1.0;
  out.mean_slope = head.weight * out.feature_slope;
  out.mean_offset = head.weight * out.feature_offset + head.bias;
  out.variance_growth.resize(K);
  out.variance_linear.resize(K);
  out.variance_constant.resize(K);
  for (int k = 0; k < K; ++k) {
    out.variance_growth[k] = std::max(0.0, head.form(k, k, uu, uu));
    out.variance_linear[k] = head.form(k, k, uu, ww);
    out.variance_constant[k] = std::max(0.0, head.form(k, k, ww, ww));
  }
  const Scores sc{out.mean_slope, out.mean_offset, kPiOver8 * out.variance_growth, 2 * kPiOver8 * out.variance_linear,
                  (1.0 + kPiOver8 * out.variance_constant.array()).matrix()};
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

  // alpha_within: pieces of the last region on which every score is monotone.
  const double entry = out.last_region_alpha;
  std::vector<double> cuts{entry};
  for (int k = 0; k < K; ++k) {
    const double t = sc.critical(k);
    if (t > entry && std::isfinite(t)) cuts.push_back(t);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  cuts.push_back(kInf);
  WithinSearch search(sc, out.limit_confidence, o.tolerance, o.max_bisections);
  double sup = -kInf;
  for (std::size_t i = cuts.size() - 1; i-- > 0;) {
    sup = search.sup_violation(cuts[i], cuts[i + 1]);
    if (sup > -kInf || search.exhausted()) break;
  }
  if (search.exhausted()) {
    out.alpha_within = Finding<double>::unknown();
    out.stop_reason = "the search for the alpha within " + std::to_string(o.tolerance) + " of the limit used its " +
                      std::to_string(o.max_bisections) + " bounds";
    return out;
  }
  if (sup == -kInf) {
    out.alpha_within = Finding<double>::at(entry);
    out.within_on_whole_region = true;
  } else {
    out.alpha_within = Finding<double>::at(sup);
  }
  out.complete = true;
  return out;
}

}  // namespace tessera
