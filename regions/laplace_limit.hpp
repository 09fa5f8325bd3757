// The exact far-away confidence of a last-layer Laplace model
// (core/laplace.hpp) along the ray alpha x.
//
// In the ray's last linear region the features are affine in alpha,
// phi(alpha x) = alpha phi_inf + phi_0, so for class k
//   mean  mu_k(alpha) = a_k alpha + c_k            (a = W phi_inf, c = W phi_0 + b)
//   var   v_k(alpha)  = s_k alpha^2 + 2 r_k alpha + q_k
//   score z_k(alpha)  = mu_k / sqrt(1 + pi/8 v_k)  ->  a_k / sqrt(pi/8 s_k)
// and the predictive confidence tends to the largest softmax of those
// limits: a number below 1 whenever the posterior covariance is positive
// definite and phi_inf is not zero (Kristiadi, Hein & Hennig 2020). The
// last region is found as the certificate finds it (the pattern that holds
// for all large alpha), with no sampling.
//
// The distance to the limit: alpha_within is the smallest alpha from which
// the predictive confidence stays within `tolerance` of the limit for every
// larger alpha. The search starts in the last region and walks down the ray
// region by region (the walk from infinity of the certificate) until it
// meets a point farther than the tolerance. In each region the features are
// affine in alpha, and the derivative of each z_k has a numerator linear in
// alpha, so z_k changes monotonicity at most once; on an interval where every
// z_k is monotone the values at its ends bound the softmax, and bisection
// with these proven bounds finds the last crossing. The answer is an upper
// bound on the exact value, at most a relative 1e-9 above it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/laplace.hpp"
#include "regions/finding.hpp"

namespace tessera {

struct LaplaceRayOptions {
  double alpha0 = 1e-6;      // the ray starts here (the last region's entry is at least alpha0)
  double tolerance = 1e-3;   // for alpha_within, in (0, 1)
  std::size_t max_bisections = 20000;  // bounds evaluated in the search for alpha_within
  bool limit_only = false;   // skip the search for alpha_within (unknown then)
  std::size_t max_regions = 100000;  // regions the search may walk down through
  const std::atomic<bool>* cancel = nullptr;  // stops the walk (alpha_within unknown)
};

struct LaplaceCertificate {
  bool complete = false;
  std::string stop_reason;

  // At the input itself (alpha = 1).
  int predicted_class = -1;
  double confidence_at_input = 0;

  // The last region (the same as the MAP network's: the features network has
  // the same piecewise layers).
  double last_region_alpha = 0;
  std::uint64_t last_region_hash = 0;
  Vector feature_slope;   // phi_inf
  Vector feature_offset;  // phi_0
  // Per class: a_k and s_k (the mean logits' and the variances' growth; not
  // finite for inputs so large or small that they leave double precision,
  // while everything else stays exact: the work is done along x / 2^e).
  Vector mean_slope, variance_growth;
  Vector limit_scores;         // z_k(inf)
  Vector limit_probabilities;  // softmax(limit_scores)
  int limit_class = -1;
  double limit_confidence = 0;
  double one_minus_limit_confidence = 1;  // stays positive where the confidence rounds to 1

  double tolerance = 1e-3;
  // Smallest alpha >= alpha0 with |conf(beta x) - limit| <= tolerance for
  // all beta >= alpha; alpha0 itself when that holds on the whole ray.
  Finding<double> alpha_within;
  bool within_from_start = false;   // it holds on the whole ray from alpha0
  std::size_t regions_searched = 0;  // regions the search looked at (the last one included)

  // The predictive confidence at alpha x, for alpha in the last region, from
  // the formulas above.
  double confidence_at(double alpha) const;
  Vector scores_at(double alpha) const;

  // The scores along u = x / 2^e (t = alpha 2^e): per class the mean
  // a_k t + c_k and the variance s_k t^2 + 2 r_k t + q_k.
  int scale_exponent = 0;
  Vector a_u, c_u, s_u, r_u, q_u;
};

// The predictive distribution at x0 + t d; for t = +inf its limit along the
// line (from the line's last region, as laplace_certify finds it for rays).
Predictive laplace_predictive_on_line(const LaplaceModel& model, const Vector& x0, const Vector& d, double t);

// Throws tessera::Error for a bad input (size, not finite, zero) or options.
LaplaceCertificate laplace_certify(const LaplaceModel& model, const Vector& x, const LaplaceRayOptions& options = {});

}  // namespace tessera
