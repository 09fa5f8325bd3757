// Every numerical tolerance Tessera uses, in one place, with what it decides.
#pragma once

namespace tessera::tol {

// A ReLU / LeakyReLU unit is *active* when its pre-activation is strictly
// greater than this value. It is exactly zero on purpose: this is the seed's
// definition of Σ(x) (f_i(x) > 0), and a pre-activation of exactly 0 gives the
// same output under either branch, so the forward pass never depends on it.
constexpr double kActiveThreshold = 0.0;

// Relative tolerance with which a computed affine map V·x + a must reproduce
// the network's forward pass at the point it was computed for (tests; the
// residual is reported by `tessera affine`).
constexpr double kAffineReproductionRelTol = 1e-9;

// Largest magnitude accepted for a weight, bias or input value. Anything
// larger (or NaN / Inf) is rejected at load time, because products of a few
// such numbers overflow double precision.
constexpr double kMaxAbsParameter = 1e150;

// Along a line x0 + t·d a pre-activation under a fixed pattern is
// z(t) = c + t·w. At a point t it counts as *zero* (the point lies on the
// unit's hyperplane) when |c + t·w| <= kBreakpointRelTol · (|c| + |t·w|);
// the unit's state just right of t is then decided by the sign of w. This
// absorbs the rounding of c and w, so a breakpoint computed as -c/w flips
// its unit; two breakpoints closer than this (relative) merge into one.
constexpr double kBreakpointRelTol = 1e-10;

// Max-pool inputs whose values at t differ by at most kBreakpointRelTol
// relative to their magnitudes are tied; the tie is broken by the slope w
// (the larger wins just right of t), then by the first index.

// Two logit slopes (limit logits V·x) tie when they differ by at most
// kLimitTieRelTol · max|V·x|; the limit confidence is then shared.
constexpr double kLimitTieRelTol = 1e-12;

}  // namespace tessera::tol
