// Sound upper bounds on the confidence along a piece [a, b] of a line
// x0 + t·d (for certify: the ray t·u), so that a search can skip the
// regions of a piece where the confidence provably stays below a target
// without visiting them.
//
// Every node's value on the piece is enclosed between two affine functions
// of t, kept as a middle M(t) = c_M + t w_M and a radius R(t) = c_R + t w_R
// (lower M - R, upper M + R, R >= 0 on [a, b]): a linear map sends them to
// (W M, |W| R); a ReLU that is stable on the piece passes or zeroes them;
// one that changes sign on the piece is relaxed by its chord above and by
// 0 or the identity below (the usual triangle relaxation, here in one
// variable t); a max-pool window with a clear winner passes it, otherwise
// it is enclosed by the largest upper bound (a constant) and the best lower
// bound. Units that are not convex (a leaky slope above 1 or below 0, and
// Piecewise units such as Clip or Abs) are affine where they stay on one
// piece and otherwise enclosed by their constant range over the piece of
// the ray. On a piece inside one region nothing is relaxed and the bounds
// are the exact logits.
//
// The confidence bound uses logit differences: p_k <= 1 / (1 + Σ_j
// exp(min over [a, b] of a lower bound of z_j - z_k)); when the output is a
// dense layer, z_j - z_k is bounded through that layer's rows W_j - W_k,
// which is much tighter than subtracting the bounds of two logits. Lower
// bounds of the differences are lowered by a rounding allowance, so the
// result is an upper bound of the exact confidence.
#pragma once

#include <cstddef>

#include "core/network.hpp"

namespace tessera {

class RayBounder {
 public:
  explicit RayBounder(const Network& net);

  struct Bound {
    double confidence = 1;        // >= the confidence at every t in [a, b]
    std::size_t relaxed = 0;      // units and windows relaxed (0: one region)
  };
  // The piece t in [a, b] (0 <= a < b < inf) of the line x0 + t·d.
  Bound confidence_bound(const Vector& x0, const Vector& d, double a, double b) const;

 private:
  const Network& net_;
  Network abs_;  // |W| for the linear nodes but dense ones (empty nodes elsewhere)
};

}  // namespace tessera
