// The certificate of Theorem 3.1 for one input x: where the ray αx enters
// its last linear region, which class wins as α -> inf and with what limit
// confidence, and from which α on the confidence stays above a threshold.
//
// By default it is computed in three parts, each visiting only the regions
// it needs (docs/user-guide.md, "How certify walks a ray"):
//  1. from infinity: the last region comes from the pattern that holds for
//     all large α (the bias-free network's pattern at x), then the walk goes
//     down region by region until the confidence first drops below the
//     threshold: that gives α*;
//  2. the box and 3. the middle (below the regions from infinity): the
//     largest confidence in the box and the first α with confidence >= t,
//     by a search that bounds the confidence on pieces of the ray
//     (regions/ray_bounds.hpp) and computes only the regions of pieces
//     whose bound does not rule them out.
// With CertifyOptions::full it walks every region from alpha0 up instead
// (needed for region counts). Both give the same fields, computed from the
// same regions with the same arithmetic (tests/regions/test_certificate.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/network.hpp"
#include "regions/finding.hpp"
#include "regions/laplace_limit.hpp"
#include "regions/line_traversal.hpp"
#include "regions/ray_bounds.hpp"

namespace tessera {

struct CertifyOptions {
  double threshold = 0.999;  // t in (0, 1)
  double alpha0 = 1e-6;      // the ray starts at alpha0 * x (> 0)
  // Optional box [lo, hi]^d (images: [0, 1]); disabled when has_box is false.
  bool has_box = false;
  double box_lo = 0.0, box_hi = 1.0;
  // Per-coordinate bounds (io/input_box.hpp): when not empty (one entry
  // per input), coordinate i lies in [box_lower_i, box_upper_i] instead.
  Vector box_lower, box_upper;
  double lower(Eigen::Index i) const { return box_lower.size() ? box_lower[i] : box_lo; }
  double upper(Eigen::Index i) const { return box_upper.size() ? box_upper[i] : box_hi; }
  // Walk every region from alpha0 up (region counts, histograms) instead of
  // the three parts.
  bool full = false;
  // Only the last region and the limit (no threshold, no box): what
  // `tessera eval` needs for its alpha -> inf rows.
  bool limit_only = false;
  // max_segments bounds the work of all parts together: regions computed,
  // plus confidence bounds of the fast path (each about one region's cost).
  TraversalOptions traversal;
  // Optional: bias_free(net) and a RayBounder of net, so that a set
  // builds them once.
  const Network* bias_free = nullptr;
  const RayBounder* bounder = nullptr;
  // Optional: a last-layer Laplace posterior of net's last layer
  // (core/laplace.hpp); the certificate then also holds its predictive
  // confidence at the input and its exact limit (regions/laplace_limit.hpp).
  const LaplaceModel* laplace = nullptr;
  double laplace_tolerance = 1e-3;  // for LaplaceCertificate::alpha_within

  // Empty when valid, else the reason (one line).
  std::string validate() const;
};

struct Certificate {
  bool complete = false;            // every field below was established
  std::string stop_reason;          // why not, if not
  bool full = false;                // computed by the full walk
  std::int64_t input = -1;          // certify_set: the input's column in the set
  int predicted_class = -1;         // at alpha = 1, i.e. the input itself
  double confidence_at_input = 0;   // confidence at alpha = 1
  double input_max_abs = 0;         // max |x_i|: the ray is walked along x / max|x_i| internally

  // Regions. `segments` counts every region on the ray from alpha0 on
  // (point segments included); it is known after a complete full walk, or
  // when the fast parts met. The others count what each part computed.
  std::optional<std::size_t> segments;
  std::size_t regions_visited = 0;
  std::size_t regions_from_infinity = 0;  // the last region and those below it down to alpha*
  std::size_t regions_box = 0;            // from alpha0 up to the box exit
  std::size_t regions_middle = 0;         // below the walk from infinity, outside the box
  std::size_t bounds_computed = 0;        // confidence bounds on pieces of the ray (fast path)

  // The last region (valid when last_region_found):
  bool last_region_found = false;
  double last_region_alpha = 0;     // where it is entered (alpha0 if the ray starts in it)
  std::uint64_t last_region_hash = 0;
  Vector limit_logits;              // V x in the last region: logits(alpha) = alpha * V x + a
  Vector last_region_offset;        // a in the last region
  int limit_class = -1;             // arg max of V x (ties broken by a)
  int limit_ties = 1;               // classes sharing the largest slope
  double limit_confidence = 0;      // 1 without ties; shared by the tied classes otherwise
  double bias_free_residual = 0;    // max |V x - g(x)| / max(1, |g(x)|), g = the network with biases set to 0

  // Threshold results (never: no such alpha):
  Finding<double> alpha_star;   // smallest alpha with conf(beta x) >= t for all beta >= alpha
  Finding<double> first_alpha;  // first alpha >= alpha0 with conf >= t
  // alpha* · max|x_i|: depends only on the direction of x, and stays finite
  // when alpha* itself does not fit a double (x of order 1e-310).
  Finding<double> alpha_star_times_max_abs;

  // Box results (when CertifyOptions::has_box). Entry and exit are exact
  // (nullopt: the ray never lies inside the box).
  std::optional<double> box_exit_alpha;   // largest alpha with alpha x in the box
  std::optional<double> box_entry_alpha;  // smallest such alpha >= alpha0
  Finding<double> max_confidence_in_box;  // over the part of the ray inside the box
  Finding<double> first_alpha_in_box;     // first alpha in the box with conf >= t

  // With CertifyOptions::laplace: the Laplace model's predictive confidence
  // at the input and its limit along the ray (its last region is checked to
  // be this certificate's).
  std::optional<LaplaceCertificate> laplace;
};

// Throws tessera::Error for bad options or a bad input (wrong size, NaN,
// zero vector). With `full_ray`, walks every region (as options.full) and
// also returns them, in the alphas of x.
Certificate certify(const Network& net, const Vector& x, const CertifyOptions& options,
                    LineTraversal* full_ray = nullptr);

// The same network with every bias and shift set to zero (and every knot and
// offset of a Piecewise node): positively homogeneous, g(alpha x) =
// alpha g(x), and the limit of f(alpha x) / alpha.
Network bias_free(const Network& net);

}  // namespace tessera
