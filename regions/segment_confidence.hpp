// Confidence along a segment on which the logits are affine in t:
// z(t) = c + t·w. The confidence is the largest softmax probability.
//
// Every p_k(t) is log-concave in t (log p_k = z_k − logsumexp(z), affine minus
// convex), which makes each question below exact up to floating point:
//  - its superlevel set {p_k >= thr} is an interval, found by bisection on
//    either side of the maximum of log p_k (itself the root of the decreasing
//    derivative w_k − Σ_j p_j w_j);
//  - between two consecutive changes of the arg-max logit (the breakpoints of
//    the upper envelope of the lines z_k) the confidence is one p_k, so its
//    minimum over the segment is attained at the segment's ends or at an
//    envelope breakpoint.
// All evaluations use logit differences and log-sum-exp, so they stay finite
// for t up to 1e300.
#pragma once

#include <utility>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// log p_k(t) for the given class.
double log_probability(const Vector& c, const Vector& w, double t, int k);
// Largest softmax probability at t.
double confidence_at(const Vector& c, const Vector& w, double t);
// Every softmax probability at t, each from logit differences
// (c_j - c_k) + t (w_j - w_k) and log-sum-exp, never from the logits
// c + t w themselves: for t up to 1e300 the values stay finite, sum to 1
// up to rounding, and each is monotone in t wherever the exact one is
// (softmax(c + t w) is not: the rounding of two huge logits swamps their
// difference).
Vector softmax_at(const Vector& c, const Vector& w, double t);

struct LimitBehaviour {
  int cls = -1;             // class winning as t -> +inf
  int ties = 1;             // how many classes share the largest slope w
  double confidence = 1.0;  // limit of the confidence: 1 unless ties > 1
};
// t -> +inf: the classes with the largest w (ties within tol::kLimitTieRelTol)
// share the limit in proportion to exp(c_k); alone, a class reaches 1.
LimitBehaviour limit_of(const Vector& c, const Vector& w);

struct ConfidenceRange {
  double min = 0, max = 0;  // over [a, b]; for b = +inf, max may be a supremum
};
ConfidenceRange confidence_range(const Vector& c, const Vector& w, double a, double b);

// {t in [a, b] : confidence(t) >= threshold} as sorted, disjoint closed
// intervals (b = +inf allowed; an interval ending at +inf is unbounded).
std::vector<std::pair<double, double>> confident_intervals(const Vector& c, const Vector& w, double a, double b,
                                                           double threshold);

}  // namespace tessera
