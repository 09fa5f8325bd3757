#include "regions/polytope.hpp"

#include <cstdio>

#include <cmath>
#include <limits>

#include "core/affine_map.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/graph_walker.hpp"
#include "core/limits.hpp"
#include "regions/linear_program.hpp"

namespace tessera {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string describe(const RowOrigin& r, const Network& net) {
  if (r.box) return "box row " + std::to_string(r.unit);
  std::string s = "unit " + std::to_string(r.unit) + " of node '" + net.nodes[r.node].name + "'";
  if (r.other >= 0) s += " (against input " + std::to_string(r.other) + ")";
  return s;
}

// Confidence bounds from LPs on the logit differences (see polytope.hpp).
// Returns false when cancelled (r.confidence_computed stays false).
bool confidence_bounds(const Network& net, const ForwardPass& fp, const RegionOptions& o, RegionReport& r) {
  const AffineMap out = affine_map(net, fp.pattern);
  const auto K = static_cast<int>(out.V.rows());
  const Eigen::Index m = r.A.rows(), d = r.A.cols();
  r.max_margin.resize(K);
  double lower = 0, upper = 0;
  Matrix M = Matrix::Constant(K, K, std::numeric_limits<double>::infinity());  // M(k, j) = max (z_k - z_j)
  const std::size_t total = static_cast<std::size_t>(K) * K;
  std::size_t done = 0;
  for (int k = 0; k < K; ++k) {
    if (o.progress) o.progress("confidence", done, total);
    // max s  s.t.  A z <= b,  s - (V_k - V_j) z <= a_k - a_j  for j != k.
    LinearProgram lp;
    lp.A = Matrix::Zero(m + K - 1, d + 1);
    lp.b.resize(m + K - 1);
    lp.A.topLeftCorner(m, d) = r.A;
    lp.b.head(m) = r.b;
    for (int j = 0, row = static_cast<int>(m); j < K; ++j) {
      if (j == k) continue;
      lp.A.block(row, 0, 1, d) = -(out.V.row(k) - out.V.row(j));
      lp.A(row, d) = 1;
      lp.b[row++] = out.a[k] - out.a[j];
    }
    lp.c = Vector::Zero(d + 1);
    lp.c[d] = 1;
    lp.cancel = o.cancel;
    const LpSolution s = solve_lp(lp);
    ++done;
    if (s.status == LpSolution::Status::Cancelled) return false;
    if (s.status == LpSolution::Status::Unbounded) {
      r.max_margin[k] = std::numeric_limits<double>::infinity();
    } else if (s.status == LpSolution::Status::Optimal) {
      r.max_margin[k] = s.objective;
    } else {
      throw Error("region: the margin LP for class " + std::to_string(k) + " failed: " +
                  (s.message.empty() ? "infeasible" : s.message));
    }
    lower = std::max(lower, 1.0 / (1.0 + (K - 1) * std::exp(-r.max_margin[k])));
    // Upper bound for class k: min over j of the largest pairwise margin.
    double bound = 1.0;
    for (int j = 0; j < K; ++j) {
      if (j == k) continue;
      LinearProgram pair;
      pair.A = r.A;
      pair.b = r.b;
      pair.c = (out.V.row(k) - out.V.row(j)).transpose();
      pair.cancel = o.cancel;
      const LpSolution p = solve_lp(pair);
      ++done;
      if (p.status == LpSolution::Status::Cancelled) return false;
      if (p.status == LpSolution::Status::Optimal) {
        M(k, j) = p.objective + out.a[k] - out.a[j];
        bound = std::min(bound, 1.0 / (1.0 + std::exp(-M(k, j))));
      }
      else if (p.status != LpSolution::Status::Unbounded)
        throw Error("region: the margin LP for classes " + std::to_string(k) + " and " + std::to_string(j) + " failed");
    }
    upper = std::max(upper, bound);
  }
  r.largest_confidence_lower = lower;
  r.largest_confidence_upper = std::max(upper, lower);
  // Smallest confidence: where t is the arg-max, z_j - z_t <= min(0, M(j, t)).
  double small_lower = 1.0;
  for (int t = 0; t < K; ++t) {
    if (!(r.max_margin[t] >= 0)) continue;
    double s = 1.0;
    for (int j = 0; j < K; ++j)
      if (j != t) s += std::exp(std::min(0.0, M(j, t)));
    small_lower = std::min(small_lower, 1.0 / s);
  }
  r.smallest_confidence_lower = small_lower;
  double small_upper = softmax(fp.logits()).maxCoeff();
  if (r.chebyshev_center) small_upper = std::min(small_upper, softmax(logits(net, *r.chebyshev_center)).maxCoeff());
  r.smallest_confidence_upper = std::max(small_upper, small_lower);
  r.confidence_computed = true;
  return true;
}

RegionReport& stopped(RegionReport& r, const std::string& where) {
  r.complete = false;
  r.stop_reason = "cancelled " + where;
  if (r.facets_note.empty()) r.facets_note = "not computed (stopped)";
  if (!r.confidence_computed && r.confidence_note.empty()) r.confidence_note = "not computed (stopped)";
  return r;
}

}  // namespace

RegionReport analyse_region(const Network& net, const Vector& x, const RegionOptions& o) {
  if (o.has_box && o.box_lower.size() == 0 && !(o.box_lo < o.box_hi)) throw Error("region: the box needs lo < hi");
  if (o.has_box && o.box_lower.size() &&
      (o.box_lower.size() != net.input_size() || o.box_upper.size() != net.input_size()))
    throw Error("region: the box has " + std::to_string(o.box_lower.size()) + " intervals but the network has " +
                std::to_string(net.input_size()) + " inputs");
  if (o.has_box && x.size() == net.input_size())
    for (Eigen::Index k = 0; k < x.size(); ++k) {
      const double lo = o.box_lower.size() ? o.box_lower[k] : o.box_lo;
      const double hi = o.box_upper.size() ? o.box_upper[k] : o.box_hi;
      if (!(lo <= x[k] && x[k] <= hi)) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "value %lld is %.17g, outside [%.17g, %.17g]", static_cast<long long>(k), x[k],
                      lo, hi);
        throw Error(std::string("region: the input lies outside the box: ") + buf + " (use --box none, or another box)");
      }
    }
  const ForwardPass fp = forward_pass(net, x, "input");
  const std::vector<int> pre = pre_activation_nodes(net);
  {
    // The rows' maps, the rows, A and the LPs' copies of A: four matrices
    // of (pre-activations) x d doubles.
    std::int64_t units = 0;
    for (int i : pre) units = add_or_neg(units, net.nodes[i].shape.size());
    check_memory(mul_or_neg(mul_or_neg(units, net.input_size()), 4 * 8),
                 "the polytope of " + std::to_string(units) + " half-spaces in " + std::to_string(net.input_size()) +
                     " dimensions");
  }
  const auto maps = node_affine_maps(net, fp.pattern, pre);
  RegionReport r;
  std::vector<Vector> rows;
  std::vector<double> rhs;
  // Adds a·z + c >= 0 as -a·z <= c (normalised), unless a = 0.
  auto add = [&](const Vector& a, double c, const RowOrigin& origin) {
    const double norm = a.norm();
    if (norm == 0.0) {
      ++r.constant_rows;
      return;
    }
    rows.push_back(-a / norm);
    rhs.push_back(c / norm);
    r.origin.push_back(origin);
  };
  const auto piecewise = net.piecewise_nodes();
  for (size_t l = 0; l < piecewise.size(); ++l) {
    const int node = piecewise[l];
    const Node& n = net.nodes[node];
    const AffineMap& m = maps[l].map;
    const auto& layer = fp.pattern.layers[l];
    // Each wall g = sign·(z_a - z_b - level) >= 0 of the region
    // (core/graph_walker.hpp), with z = V z_in + a this node's input map.
    for_each_wall(n, layer, [&](const Wall& g) {
      Vector v = m.V.row(g.a).transpose();
      double c = m.a[g.a] - g.level;
      if (g.b >= 0) {
        v -= m.V.row(g.b).transpose();
        c = m.a[g.a] - m.a[g.b];
      }
      RowOrigin origin{node, g.unit, g.b, false};
      origin.knot = g.knot;
      add(g.sign * v, g.sign * c, origin);
    });
  }
  const int d = net.input_size();
  if (o.has_box)
    for (int k = 0; k < d; ++k) {
      Vector e = Vector::Zero(d);
      e[k] = 1;
      const double lo = o.box_lower.size() ? o.box_lower[k] : o.box_lo;
      const double hi = o.box_upper.size() ? o.box_upper[k] : o.box_hi;
      add(-e, hi, RowOrigin{-1, 2 * k, -1, true});  // z_k <= hi
      add(e, -lo, RowOrigin{-1, 2 * k + 1, -1, true});  // z_k >= lo
    }
  const auto m = static_cast<Eigen::Index>(rows.size());
  r.A.resize(m, d);
  r.b.resize(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    r.A.row(i) = rows[i].transpose();
    r.b[i] = rhs[i];
  }

  // Boundedness: A must have full column rank and no d != 0 with A d <= 0.
  if (o.progress) o.progress("polytope", 0, 2);
  {
    LinearProgram lp;
    lp.A = r.A;
    lp.b = Vector::Zero(m);
    lp.c = -r.A.colwise().sum().transpose();  // maximise sum_i (-A_i d)
    lp.lower = Vector::Constant(d, -1.0);
    lp.upper = Vector::Constant(d, 1.0);
    lp.cancel = o.cancel;
    const LpSolution s = solve_lp(lp);
    if (s.status == LpSolution::Status::Cancelled) return stopped(r, "before the boundedness LP finished");
    if (s.status != LpSolution::Status::Optimal)
      throw Error("region: the recession-cone LP failed: " + (s.message.empty() ? "not optimal" : s.message));
    if (s.objective > 1e-9) {
      r.recession_direction = s.z;
    } else {
      Eigen::ColPivHouseholderQR<Matrix> qr(r.A);
      if (qr.rank() < d) {
        // A direction in the null space of A: a line through the region.
        Eigen::FullPivLU<Matrix> lu(r.A);
        r.recession_direction = lu.kernel().col(0);
      }
    }
    r.bounded = r.recession_direction.size() == 0;
    r.bounded_computed = true;
  }

  // Chebyshev centre: max t with A z + t <= b (rows have unit norm).
  if (o.progress) o.progress("polytope", 1, 2);
  {
    LinearProgram lp;
    lp.A.resize(m, d + 1);
    lp.A.leftCols(d) = r.A;
    lp.A.col(d).setOnes();
    lp.b = r.b;
    lp.c = Vector::Zero(d + 1);
    lp.c[d] = 1;
    lp.cancel = o.cancel;
    const LpSolution s = solve_lp(lp);
    if (s.status == LpSolution::Status::Cancelled) return stopped(r, "before the Chebyshev-centre LP finished");
    r.inradius_computed = true;
    if (s.status == LpSolution::Status::Unbounded) {
      r.inradius = kInf;
    } else if (s.status == LpSolution::Status::Optimal) {
      r.inradius = s.objective;
      r.chebyshev_center = s.z.head(d);
    } else {
      throw Error("region: the Chebyshev-centre LP failed: " + (s.message.empty() ? "infeasible" : s.message));
    }
  }

  if (!o.confidence)
    r.confidence_note = "not requested";  // (computed after the Chebyshev centre, which it uses)
  else if (static_cast<std::size_t>(m) > o.max_lp_rows)
    r.confidence_note = "skipped: " + std::to_string(m) + " rows exceed the limit of " + std::to_string(o.max_lp_rows) +
                        " (--max-lp-rows)";
  else if (!confidence_bounds(net, fp, o, r))
    return stopped(r, "during the confidence LPs");

  // Facets: row i is irredundant when relaxing it lets A_i z exceed b_i.
  if (!o.find_facets) {
    r.facets_note = "not requested";
    return r;
  }
  if (static_cast<std::size_t>(m) > o.max_lp_rows) {
    r.facets_note = "skipped: " + std::to_string(m) + " rows exceed the limit of " + std::to_string(o.max_lp_rows) +
                    " (--max-lp-rows)";
    return r;
  }
  LinearProgram lp;
  lp.A = r.A;
  lp.b = r.b;
  lp.cancel = o.cancel;
  for (Eigen::Index i = 0; i < m; ++i) {
    if (o.progress) o.progress("facets", static_cast<std::size_t>(i), static_cast<std::size_t>(m));
    lp.b[i] = r.b[i] + 1.0;
    lp.c = r.A.row(i).transpose();
    const LpSolution s = solve_lp(lp);
    lp.b[i] = r.b[i];
    if (s.status == LpSolution::Status::Cancelled) {
      r.facets_note = "incomplete: " + std::to_string(i) + " of " + std::to_string(m) +
                      " rows checked; the facets listed are those found so far";
      return stopped(r, "during the facet LPs");
    }
    if (s.status == LpSolution::Status::Failed || s.status == LpSolution::Status::Infeasible)
      throw Error("region: the facet LP for row " + std::to_string(i) + " (" + describe(r.origin[i], net) +
                  ") failed: " + (s.message.empty() ? "infeasible" : s.message));
    if (s.status == LpSolution::Status::Unbounded || s.objective > r.b[i] + 1e-9) r.facets.push_back(static_cast<int>(i));
  }
  r.facets_computed = true;
  return r;
}

}  // namespace tessera
