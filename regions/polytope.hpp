// The linear region Q(x) of an input as a polytope: every unit keeps the
// sign (or, for a Piecewise unit, the piece between two knots) it has at x,
// every max-pool window keeps its winner. In input space
// each condition is a half-space (the unit's pre-activation is affine on the
// region), so Q(x) = { z : A z <= b }, optionally intersected with a box.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// Where a row of A z <= b comes from.
struct RowOrigin {
  int node = -1;   // the Relu/LeakyRelu/Piecewise/MaxPool2d node (-1: the box)
  int unit = -1;   // unit of that node (for max-pool: the output window)
  int other = -1;  // max-pool: the input index that must not beat the winner
  bool box = false;
  int knot = -1;   // Piecewise: which of the unit's knots (0 = the lowest)
};

struct RegionOptions {
  bool has_box = false;
  double box_lo = 0.0, box_hi = 1.0;
  // Per-coordinate bounds (one entry per input; empty: box_lo, box_hi).
  Vector box_lower, box_upper;
  bool find_facets = true;
  // Confidence bounds over the region by LPs on the logit differences
  // (K + K(K-1) LPs for K classes).
  bool confidence = true;
  // Facets (one LP per row) and confidence bounds (K^2 LPs over all rows)
  // are skipped above this many rows.
  std::size_t max_lp_rows = 5000;
  // Polled between and inside LPs: when set, the report is returned with
  // what was computed so far (complete = false).
  const std::atomic<bool>* cancel = nullptr;
  // Called now and then with (stage, LPs done, LPs in the stage); stage is
  // "polytope" (boundedness and Chebyshev centre), "confidence" or
  // "facets". May be empty.
  std::function<void(const char*, std::size_t, std::size_t)> progress;
};

struct RegionReport {
  bool complete = true;           // false: stopped (cancel) before every LP was solved
  std::string stop_reason;        // why, if not complete
  Matrix A;                       // rows normalised to unit length
  Vector b;
  std::vector<RowOrigin> origin;  // per row
  std::size_t constant_rows = 0;  // units constant on the whole input space (no half-space)
  bool facets_computed = false;
  std::string facets_note;        // why not, if not
  std::vector<int> facets;        // indices of the irredundant rows
  bool bounded_computed = false;  // false only when stopped before its LP finished
  bool bounded = false;
  Vector recession_direction;     // when unbounded: d != 0 with A d <= 0
  std::optional<Vector> chebyshev_center;  // empty when the inradius is unbounded
  double inradius = 0;            // +inf when unbounded
  bool inradius_computed = false; // false only when stopped before its LP finished

  // Over the region (with the box), from LPs on the logit differences,
  // which are affine there (valid when confidence_computed):
  //  max_margin[k] = max over z of min_j (z_k - z_j): class k is the
  //  arg-max somewhere in the region iff it is >= 0;
  //  the largest confidence over the region lies in
  //  [largest_confidence_lower, largest_confidence_upper], where
  //  lower = max_k 1 / (1 + (K-1) exp(-max_margin[k])) (attained at the
  //  margin's optimum) and upper = max_k min_j 1 / (1 + exp(-M_kj)) with
  //  M_kj = max over z of (z_k - z_j). Unbounded LPs give upper = 1.
  bool confidence_computed = false;
  std::string confidence_note;    // why not, if not
  Vector max_margin;
  double largest_confidence_lower = 0, largest_confidence_upper = 1;
  // The smallest confidence over the region lies in [smallest_confidence_lower,
  // smallest_confidence_upper]: lower = min over classes t that win somewhere
  // of 1 / (1 + sum_{j != t} exp(min(0, M_jt))) (where t is the arg-max,
  // z_j - z_t <= min(0, M_jt)); upper = the smaller confidence at x and at
  // the Chebyshev centre, both points of the region.
  double smallest_confidence_lower = 0, smallest_confidence_upper = 1;
};

// Throws tessera::Error for a bad input or options, or when an LP fails
// (naming the row and Clp's status).
RegionReport analyse_region(const Network& net, const Vector& x, const RegionOptions& options = {});

}  // namespace tessera
