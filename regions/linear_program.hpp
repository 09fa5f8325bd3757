// Linear programs through COIN-OR Clp (Debian's coinor-libclp-dev):
//   minimise or maximise c·z  subject to  A z <= b,  lower <= z <= upper.
#pragma once

#include <atomic>
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
  // Polled at every simplex iteration: when set, the solve stops with
  // Status::Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct LpSolution {
  enum class Status { Optimal, Infeasible, Unbounded, Failed, Cancelled } status = Status::Failed;
  double objective = 0;
  Vector z;             // the optimal point (Optimal only)
  std::string message;  // for Failed: Clp's status, one line
};

LpSolution solve_lp(const LinearProgram& lp);

}  // namespace tessera
