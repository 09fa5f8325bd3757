// The certificate of Theorem 3.1 for one input x: where the ray αx enters
// its last linear region, which class wins as α -> inf and with what limit
// confidence, and from which α on the confidence stays above a threshold.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/network.hpp"
#include "regions/line_traversal.hpp"

namespace tessera {

struct CertifyOptions {
  double threshold = 0.999;  // t in (0, 1)
  double alpha0 = 1e-6;      // the ray starts at alpha0 * x (> 0)
  // Optional box [lo, hi]^d (images: [0, 1]); disabled when has_box is false.
  bool has_box = false;
  double box_lo = 0.0, box_hi = 1.0;
  TraversalOptions traversal;

  // Empty when valid, else the reason (one line).
  std::string validate() const;
};

struct Certificate {
  bool complete = false;            // the traversal reached the last region
  std::string stop_reason;          // why not, if not
  std::size_t segments = 0;         // regions crossed from alpha0 on (point segments included)
  std::int64_t input = -1;          // certify_set: the input's column in the set
  int predicted_class = -1;         // at alpha = 1, i.e. the input itself
  double confidence_at_input = 0;   // confidence at alpha = 1

  // The last region (valid when complete):
  double last_region_alpha = 0;     // where it is entered (alpha0 if the ray starts in it)
  std::uint64_t last_region_hash = 0;
  Vector limit_logits;              // V x in the last region: logits(alpha) = alpha * V x + a
  Vector last_region_offset;        // a in the last region
  int limit_class = -1;             // arg max of V x (ties broken by a)
  int limit_ties = 1;               // classes sharing the largest slope
  double limit_confidence = 0;      // 1 without ties; shared by the tied classes otherwise
  double bias_free_residual = 0;    // max |V x - g(x)| / max(1, |g(x)|), g = the network with biases set to 0

  // Threshold results (nullopt: never / not applicable):
  std::optional<double> alpha_star;   // smallest alpha with conf(beta x) >= t for all beta >= alpha
  std::optional<double> first_alpha;  // first alpha >= alpha0 with conf >= t

  // Box results (when CertifyOptions::has_box):
  std::optional<double> box_exit_alpha;         // largest alpha with alpha x in the box (nullopt: never inside)
  std::optional<double> box_entry_alpha;        // smallest such alpha >= alpha0
  std::optional<double> max_confidence_in_box;  // over the part of the ray inside the box
  std::optional<double> first_alpha_in_box;     // first alpha in the box with conf >= t
};

// Throws tessera::Error for bad options or a bad input (wrong size, NaN,
// zero vector).
Certificate certify(const Network& net, const Vector& x, const CertifyOptions& options);

// The same network with every bias and shift set to zero: positively
// homogeneous, g(alpha x) = alpha g(x), and the limit of f(alpha x) / alpha.
Network bias_free(const Network& net);

}  // namespace tessera
