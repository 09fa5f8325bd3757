// Every numerical tolerance Tessera uses, in one place, with what it decides.
#pragma once

namespace tessera::tol {

// A ReLU / LeakyReLU unit is *active* when its pre-activation is strictly
// greater than this value. It is exactly zero on purpose: this is the seed's
// definition of Σ(x) (f_i(x) > 0), and a pre-activation of exactly 0 gives the
// same output under either branch, so the forward pass never depends on it.
constexpr double kActiveThreshold = 0.0;

// Relative tolerance with which a computed affine map V·x + a must reproduce
// the network's forward pass at the point it was computed for. Used by
// self-checks in tests and by `tessera affine --check`.
constexpr double kAffineReproductionRelTol = 1e-9;

// Largest magnitude accepted for a weight, bias or input value. Anything
// larger (or NaN / Inf) is rejected at load time, because products of a few
// such numbers overflow double precision.
constexpr double kMaxAbsParameter = 1e150;

}  // namespace tessera::tol
