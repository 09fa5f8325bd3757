#include "regions/linear_program.hpp"

#include <ClpEventHandler.hpp>
#include <ClpSimplex.hpp>
#include <ClpSolve.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace tessera {

namespace {
// Stops Clp at the end of an iteration once the cancel flag is set.
class CancelHandler : public ClpEventHandler {
 public:
  CancelHandler(const std::atomic<bool>* cancel, std::chrono::steady_clock::time_point deadline)
      : cancel_(cancel), deadline_(deadline) {}
  int event(Event which) override {
    if (which != endOfIteration) return -1;  // carry on
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) return 0;  // stop
    if (deadline_ != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() >= deadline_) return 0;
    return -1;
  }
  ClpEventHandler* clone() const override { return new CancelHandler(*this); }

 private:
  const std::atomic<bool>* cancel_;
  std::chrono::steady_clock::time_point deadline_;
};
}  // namespace

LpSolution solve_lp(const LinearProgram& lp) {
  const int m = static_cast<int>(lp.A.rows()), n = static_cast<int>(lp.A.cols());
  const double inf = std::numeric_limits<double>::infinity();
  // Column-major sparse copy of A.
  std::vector<CoinBigIndex> start(n + 1, 0);
  std::vector<int> index;
  std::vector<double> value;
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i)
      if (lp.A(i, j) != 0.0) {
        index.push_back(i);
        value.push_back(lp.A(i, j));
      }
    start[j + 1] = static_cast<CoinBigIndex>(index.size());
  }
  std::vector<double> col_lb(n, -COIN_DBL_MAX), col_ub(n, COIN_DBL_MAX), obj(n), row_lb(m, -COIN_DBL_MAX), row_ub(m);
  for (int j = 0; j < n; ++j) {
    if (lp.lower.size() && lp.lower[j] > -inf) col_lb[j] = lp.lower[j];
    if (lp.upper.size() && lp.upper[j] < inf) col_ub[j] = lp.upper[j];
    obj[j] = lp.c[j];
  }
  for (int i = 0; i < m; ++i) row_ub[i] = lp.b[i];
  ClpSimplex model;
  model.setLogLevel(0);
  model.loadProblem(n, m, start.data(), index.data(), value.data(), col_lb.data(), col_ub.data(), obj.data(),
                    row_lb.data(), row_ub.data());
  model.setOptimizationDirection(lp.maximise ? -1.0 : 1.0);
  if (lp.dual_tolerance > 0) model.setDualTolerance(lp.dual_tolerance);
  if (lp.primal_tolerance > 0) model.setPrimalTolerance(lp.primal_tolerance);
  const bool timed = lp.deadline != std::chrono::steady_clock::time_point::max();
  auto stopped = [&] { return (lp.cancel && lp.cancel->load()) || (timed && std::chrono::steady_clock::now() >= lp.deadline); };
  if (lp.cancel || timed) {
    const CancelHandler handler(lp.cancel, lp.deadline);
    model.passInEventHandler(&handler);
  }
  LpSolution s;
  if (stopped()) {
    s.status = LpSolution::Status::Cancelled;
    return s;
  }
  // Clp would install its own SIGINT handler during the solve (which swallows
  // Ctrl-C, and is not thread-safe): switched off; Tessera's stop flag
  // reaches Clp through the event handler instead.
  ClpSolve options;
  options.setSpecialOption(2, 1);
  if (!lp.presolve) options.setPresolveType(ClpSolve::presolveOff);
  model.initialSolve(options);
  if (stopped() && !model.isProvenOptimal()) {
    s.status = LpSolution::Status::Cancelled;
    return s;
  }
  if (model.isProvenOptimal()) {
    s.status = LpSolution::Status::Optimal;
    s.objective = model.objectiveValue();
    s.z = Eigen::Map<const Vector>(model.getColSolution(), n);
    s.duals = Eigen::Map<const Vector>(model.getRowPrice(), m);
  } else if (model.isProvenPrimalInfeasible()) {
    s.status = LpSolution::Status::Infeasible;
  } else if (model.isProvenDualInfeasible()) {
    s.status = LpSolution::Status::Unbounded;
  } else {
    s.status = LpSolution::Status::Failed;
    s.message = "Clp stopped with status " + std::to_string(model.status()) + " (secondary " +
                std::to_string(model.secondaryStatus()) + ")";
  }
  return s;
}

double safe_lp_bound(const LinearProgram& lp, const Vector& duals) {
  const double sign = lp.maximise ? -1.0 : 1.0;  // as a minimisation of sign * c
  double best = -std::numeric_limits<double>::infinity();
  for (const double flip : {-1.0, 1.0}) {
    const Vector mu = (flip * duals).cwiseMax(0.0);
    const Vector g = sign * lp.c + lp.A.transpose() * mu;
    double v = -mu.dot(lp.b);
    // What rounding can move: every product of the sums, including those
    // that form g.
    double magnitude = mu.cwiseProduct(lp.b.cwiseAbs()).sum();
    const Vector g_terms = lp.c.cwiseAbs() + lp.A.cwiseAbs().transpose() * mu;
    for (Eigen::Index j = 0; j < g.size(); ++j) {
      const double t = g[j] > 0 ? g[j] * lp.lower[j] : g[j] * lp.upper[j];
      v += t;
      magnitude += g_terms[j] * std::max(std::abs(lp.lower[j]), std::abs(lp.upper[j]));
    }
    // Rounding of the sums above: a few ulps of the magnitudes.
    v -= 1e-12 * (1.0 + magnitude);
    best = std::max(best, v);
  }
  return sign * best;
}

}  // namespace tessera
