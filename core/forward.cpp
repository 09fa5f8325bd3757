#include "core/forward.hpp"

#include <cstdio>

#include <cmath>

#include "core/error.hpp"
#include "core/graph_walker.hpp"
#include "core/tolerances.hpp"

namespace tessera {

void check_input(const Vector& x, int size, const std::string& what) {
  if (x.size() != size)
    throw Error(what + ": has " + std::to_string(x.size()) + " values but the network expects " +
                std::to_string(size));
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      throw Error(what + ": value " + std::to_string(i) + " is " + (std::isnan(x[i]) ? "NaN" : "Inf"));
    if (std::abs(x[i]) > tol::kMaxAbsParameter)
    {
      char v[32];
      std::snprintf(v, sizeof v, "%.6g", x[i]);
      throw Error(what + ": value " + std::to_string(i) + " (" + v + ") is too large (limit 1e150)");
    }
  }
}

ForwardPass forward_pass(const Network& net, const Vector& x, const std::string& what) {
  check_input(x, net.input_size(), what);
  const WalkPlan plan(net);
  const std::vector<char> keep(net.nodes.size(), 1);
  GraphWalk walk(plan, x, 0, 1, &keep);
  AtColumn rule;
  walk.run(rule);
  ForwardPass fp;
  fp.pattern = std::move(walk.pattern);
  fp.values.resize(walk.values.size());
  for (size_t k = 0; k < walk.values.size(); ++k) fp.values[k] = walk.values[k].col(0);
  return fp;
}

Vector logits(const Network& net, const Vector& x) { return forward_pass(net, x).logits(); }

ActivationPattern activation_pattern(const Network& net, const Vector& x) { return forward_pass(net, x).pattern; }

Vector softmax(const Vector& z) {
  const double m = z.maxCoeff();
  if (std::isinf(m) && m > 0) {
    // Overflowed logits: the infinite ones share everything.
    Vector p = (z.array() == m).cast<double>();
    return p / p.sum();
  }
  Vector e = (z.array() - m).exp();
  return e / e.sum();
}

double log_max_confidence(const Vector& z) {
  const double m = z.maxCoeff();
  return -std::log((z.array() - m).exp().sum());
}

}  // namespace tessera
