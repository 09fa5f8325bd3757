#include "regions/segment_confidence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/tolerances.hpp"

namespace tessera {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log Σ_j exp(z_j − z_k) with z_j − z_k = (c_j − c_k) + t (w_j − w_k).
double log_sum_exp_diff(const Vector& c, const Vector& w, double t, int k) {
  double m = -kInf;
  const Eigen::Index K = c.size();
  for (Eigen::Index j = 0; j < K; ++j) m = std::max(m, (c[j] - c[k]) + t * (w[j] - w[k]));
  if (std::isinf(m)) return m;  // +inf: class k is infinitely far behind
  double s = 0;
  for (Eigen::Index j = 0; j < K; ++j) s += std::exp((c[j] - c[k]) + t * (w[j] - w[k]) - m);
  return m + std::log(s);
}

// d/dt log p_k(t) = w_k − Σ_j p_j(t) w_j; decreasing in t.
double log_probability_slope(const Vector& c, const Vector& w, double t, int k) {
  const Eigen::Index K = c.size();
  double m = -kInf;
  for (Eigen::Index j = 0; j < K; ++j) m = std::max(m, c[j] + t * w[j] - (c[k] + t * w[k]));
  double num = 0, den = 0;
  for (Eigen::Index j = 0; j < K; ++j) {
    const double e = std::exp((c[j] - c[k]) + t * (w[j] - w[k]) - m);
    num += e * w[j];
    den += e;
  }
  return w[k] - num / den;
}

// Midpoint for bisection: geometric when the bracket spans orders of magnitude.
double midpoint(double lo, double hi) {
  if (lo > 0 && hi > 4 * lo) return std::sqrt(lo) * std::sqrt(hi);
  if (hi < 0 && lo < 4 * hi) return -std::sqrt(-lo) * std::sqrt(-hi);
  return lo + 0.5 * (hi - lo);
}

// Bisection for a predicate that switches once on [lo, hi]: narrows the
// bracket until lo and hi are neighbouring doubles.
template <typename Pred>
std::pair<double, double> narrow(Pred pred, double lo, double hi) {
  const bool at_lo = pred(lo);
  for (int i = 0; i < 4000; ++i) {
    const double mid = midpoint(lo, hi);
    if (mid <= lo || mid >= hi) break;
    (pred(mid) == at_lo ? lo : hi) = mid;
  }
  return {lo, hi};
}
// pred(lo) false, pred(hi) true: the first point found where pred holds.
template <typename Pred>
double first_true(Pred pred, double lo, double hi) { return narrow(pred, lo, hi).second; }
// pred(lo) true, pred(hi) false: the last point found where pred holds.
template <typename Pred>
double last_true(Pred pred, double lo, double hi) { return narrow(pred, lo, hi).first; }

// Next t after `from` going outwards (for brackets towards +inf).
double step_out(double from) { return from + std::max(1.0, std::abs(from)); }

// Where log p_k is largest on [a, b]; +inf when it keeps increasing.
double argmax_log_probability(const Vector& c, const Vector& w, double a, double b, int k) {
  if (log_probability_slope(c, w, a, k) <= 0) return a;
  if (std::isfinite(b)) {
    if (log_probability_slope(c, w, b, k) >= 0) return b;
    return last_true([&](double t) { return log_probability_slope(c, w, t, k) > 0; }, a, b);
  }
  double hi = step_out(a);
  while (std::isfinite(hi) && log_probability_slope(c, w, hi, k) > 0) hi = step_out(hi);
  if (!std::isfinite(hi)) return kInf;
  return last_true([&](double t) { return log_probability_slope(c, w, t, k) > 0; }, a, hi);
}

double limit_log_probability(const Vector& c, const Vector& w, int k) {
  const double wmax = w.maxCoeff();
  const double tie = tol::kLimitTieRelTol * std::max(w.cwiseAbs().maxCoeff(), 1e-300);
  if (w[k] < wmax - tie) return -kInf;
  // Share among the tied classes in proportion to exp(c).
  double m = -kInf;
  for (Eigen::Index j = 0; j < c.size(); ++j)
    if (w[j] >= wmax - tie) m = std::max(m, c[j]);
  double s = 0;
  for (Eigen::Index j = 0; j < c.size(); ++j)
    if (w[j] >= wmax - tie) s += std::exp(c[j] - m);
  return c[k] - m - std::log(s);
}

}  // namespace

double log_probability(const Vector& c, const Vector& w, double t, int k) {
  if (std::isinf(t)) return limit_log_probability(c, w, k);
  return -log_sum_exp_diff(c, w, t, k);
}

double confidence_at(const Vector& c, const Vector& w, double t) {
  double best = -kInf;
  for (Eigen::Index k = 0; k < c.size(); ++k) best = std::max(best, log_probability(c, w, t, static_cast<int>(k)));
  return std::exp(best);
}

Vector softmax_at(const Vector& c, const Vector& w, double t) {
  Vector p(c.size());
  for (Eigen::Index k = 0; k < c.size(); ++k) p[k] = std::exp(log_probability(c, w, t, static_cast<int>(k)));
  return p;
}

LimitBehaviour limit_of(const Vector& c, const Vector& w) {
  LimitBehaviour lim;
  const double wmax = w.maxCoeff();
  const double tie = tol::kLimitTieRelTol * std::max(w.cwiseAbs().maxCoeff(), 1e-300);
  lim.ties = 0;
  double best_c = -kInf;
  for (Eigen::Index k = 0; k < w.size(); ++k) {
    if (w[k] < wmax - tie) continue;
    ++lim.ties;
    if (c[k] > best_c) {
      best_c = c[k];
      lim.cls = static_cast<int>(k);
    }
  }
  lim.confidence = std::exp(limit_log_probability(c, w, lim.cls));
  return lim;
}

ConfidenceRange confidence_range(const Vector& c, const Vector& w, double a, double b) {
  ConfidenceRange r;
  const int K = static_cast<int>(c.size());
  // Minimum: walk the upper envelope of the lines c_k + t w_k from a to b,
  // noting the classes on it.
  std::vector<int> tops;
  double worst = std::log(confidence_at(c, w, a));
  double t = a;
  auto top_at = [&](double at) {
    int top = 0;
    for (int k = 1; k < K; ++k) {
      const double zk = c[k] + at * w[k], zt = c[top] + at * w[top];
      if (zk > zt || (zk == zt && w[k] > w[top])) top = k;
    }
    return top;
  };
  int top = top_at(t);
  tops.push_back(top);
  bool whole_envelope = false;
  for (int guard = 0; guard <= K; ++guard) {
    double next = kInf;
    for (int j = 0; j < K; ++j)
      if (w[j] > w[top]) {
        const double cross = (c[top] - c[j]) / (w[j] - w[top]);
        if (cross > t && cross < next) next = cross;
      }
    if (!(next < b)) {
      whole_envelope = true;
      break;
    }
    worst = std::min(worst, std::log(confidence_at(c, w, next)));
    t = next;
    const int new_top = top_at(std::nextafter(t, kInf));
    if (new_top == top) break;
    top = new_top;
    tops.push_back(top);
  }
  worst = std::min(worst, std::log(confidence_at(c, w, b)));
  r.min = std::exp(worst);
  // Maximum: the best class at its own best point. Only classes on the
  // envelope can attain it (elsewhere a class is below the top one), so
  // the others are skipped; the value is the same.
  double best = -kInf;
  for (int k = 0; k < K; ++k) {
    if (whole_envelope && std::find(tops.begin(), tops.end(), k) == tops.end()) continue;
    const double at = argmax_log_probability(c, w, a, b, k);
    best = std::max(best, log_probability(c, w, at, k));
  }
  r.max = std::exp(best);
  return r;
}

std::vector<std::pair<double, double>> confident_intervals(const Vector& c, const Vector& w, double a, double b,
                                                           double threshold) {
  const double level = std::log(threshold);
  std::vector<std::pair<double, double>> out;
  for (int k = 0; k < c.size(); ++k) {
    auto above = [&](double t) { return log_probability(c, w, t, k) >= level; };
    const double peak = argmax_log_probability(c, w, a, b, k);
    if (std::isinf(peak)) {
      // log p_k increases for ever: above the level from some point on iff
      // its limit is.
      if (!above(kInf)) continue;
      if (above(a)) {
        out.emplace_back(a, kInf);
        continue;
      }
      double hi = step_out(a);
      while (std::isfinite(hi) && !above(hi)) hi = step_out(hi);
      out.emplace_back(std::isfinite(hi) ? first_true(above, a, hi) : kInf, kInf);
      continue;
    }
    if (!above(peak)) continue;
    // Concave: one interval around the peak.
    const double left = above(a) ? a : first_true(above, a, peak);
    double right;
    if (std::isfinite(b)) {
      right = above(b) ? b : last_true(above, peak, b);
    } else {
      double hi = step_out(peak);
      while (std::isfinite(hi) && above(hi)) hi = step_out(hi);
      right = std::isfinite(hi) ? last_true(above, peak, hi) : kInf;
    }
    out.emplace_back(left, right);
  }
  std::sort(out.begin(), out.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto& iv : out) {
    if (!merged.empty() && iv.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, iv.second);
    else
      merged.push_back(iv);
  }
  return merged;
}

}  // namespace tessera
