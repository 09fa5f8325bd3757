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
// The distance to the limit: alpha_within is the smallest alpha in the last
// region from which the predictive confidence stays within `tolerance` of
// the limit for every larger alpha. It is found by bisection over alpha with
// proven bounds: the derivative of each z_k has a numerator linear in alpha,
// so z_k changes monotonicity at most once, and on an interval where every
// z_k is monotone the values at its ends bound the softmax. The answer is an
// upper bound on the exact value, at most a relative 1e-9 above it.
#pragma once

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
  // Smallest alpha >= the last region's entry with |conf(beta x) - limit| <=
  // tolerance for all beta >= alpha; equal to last_region_alpha when that
  // holds on the whole last region (earlier regions are not examined).
  Finding<double> alpha_within;
  bool within_on_whole_region = false;

  // The predictive confidence at alpha x, for alpha in the last region, from
  // the formulas above.
  double confidence_at(double alpha) const;
  Vector scores_at(double alpha) const;

  // The scores along u = x / 2^e (t = alpha 2^e): per class the mean
  // a_k t + c_k and the variance s_k t^2 + 2 r_k t + q_k.
  int scale_exponent = 0;
  Vector a_u, c_u, s_u, r_u, q_u;
};

// Throws tessera::Error for a bad input (size, not finite, zero) or options.
LaplaceCertificate laplace_certify(const LaplaceModel& model, const Vector& x, const LaplaceRayOptions& options = {});

}  // namespace tessera
