// Linear programs through COIN-OR Clp (Debian's coinor-libclp-dev):
//   minimise or maximise c·z  subject to  A z <= b,  lower <= z <= upper.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "core/network.hpp"

namespace tessera {

struct LinearProgram {
  Matrix A;      // m x n
  Vector b;      // m
  Vector c;      // n
  Vector lower;  // n (-inf allowed); empty: -inf
  Vector upper;  // n (+inf allowed); empty: +inf
  bool maximise = true;
  // Clp's presolve: worth it for large sparse programs, pure overhead for
  // small dense ones solved many times.
  bool presolve = true;
  // Clp's tolerances on reduced costs and on rows (0: Clp's defaults,
  // 1e-7 each). Tighter ones matter when many columns have tiny costs.
  double dual_tolerance = 0, primal_tolerance = 0;
  // Polled at every simplex iteration: when set, the solve stops with
  // Status::Cancelled.
  const std::atomic<bool>* cancel = nullptr;
  // The solve also stops (Cancelled) at this time, checked at every
  // simplex iteration.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct LpSolution {
  enum class Status { Optimal, Infeasible, Unbounded, Failed, Cancelled } status = Status::Failed;
  double objective = 0;
  Vector z;             // the optimal point (Optimal only)
  // Clp's row duals at the optimum (Optimal only), one per row of A, in
  // Clp's sign convention; safe_lp_bound() turns them into a bound that
  // does not depend on Clp's tolerances.
  Vector duals;
  std::string message;  // for Failed: Clp's status, one line
};

LpSolution solve_lp(const LinearProgram& lp);

// A rigorous bound on the optimum of a bounded-box LP from any multipliers
// (Neumaier & Shcherbina 2004): for a minimisation with finite lower/upper,
// min over the box of (c + A^T mu) z - mu b with mu = max(0, -duals) (and
// the other sign, whichever is larger) is <= the true optimum, whatever the
// accuracy of the duals. For a maximisation, the same with c negated, and
// the result is an upper bound. Needs finite lower and upper.
double safe_lp_bound(const LinearProgram& lp, const Vector& duals);

}  // namespace tessera
