#include "regions/slice_2d.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>

#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "core/limits.hpp"
#include "core/linear_ops.hpp"
#include "core/tolerances.hpp"
#include "regions/layer_slicer.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

namespace {

using detail::kCutTol;

struct Geometry2 {
  using Cell = ConvexPolygon;
  using Point = Eigen::Vector2d;
  static constexpr int D = 2;
  static bool split(const Cell& c, const Eigen::Vector3d& a, long label, Cell* pos, Cell* neg, int* side, double tol) {
    return split_polygon(c, a, label, pos, neg, side, tol);
  }
  static Point centroid(const Cell& c) { return c.centroid(); }
  static void bounds(const Cell& c, Point* lo, Point* hi) {
    *lo = *hi = c.vertices.empty() ? Point(0, 0) : c.vertices.front();
    for (const Point& v : c.vertices) {
      *lo = lo->cwiseMin(v);
      *hi = hi->cwiseMax(v);
    }
  }
};

// log p_k at (u, v) and its gradient / Hessian, for interior maxima.
bool interior_maximum(const Matrix& L, int k, const ConvexPolygon& poly, double* best) {
  const Eigen::Index K = L.rows();
  Eigen::Vector2d x = poly.centroid();
  for (int it = 0; it < 60; ++it) {
    const Vector z = L.leftCols<2>() * x + L.col(2);
    const Vector p = softmax(z);
    const Eigen::Vector2d mean = L.leftCols<2>().transpose() * p;
    const Eigen::Vector2d g = L.row(k).head<2>().transpose() - mean;
    Eigen::Matrix2d H = Eigen::Matrix2d::Zero();
    for (Eigen::Index j = 0; j < K; ++j) {
      const Eigen::Vector2d d = L.row(j).head<2>().transpose() - mean;
      H -= p[j] * d * d.transpose();
    }
    if (H.determinant() <= 1e-300 || !(H.trace() < 0)) return false;
    const Eigen::Vector2d step = -H.ldlt().solve(g);
    x += step;
    if (!x.allFinite()) return false;
    if (step.norm() <= 1e-13 * (1 + x.norm())) break;
  }
  // Inside the polygon?
  const size_t n = poly.vertices.size();
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Vector2d e = poly.vertices[(i + 1) % n] - poly.vertices[i];
    const Eigen::Vector2d r = x - poly.vertices[i];
    if (e[0] * r[1] - e[1] * r[0] < 0) return false;
  }
  *best = std::max(*best, confidence_at(L.leftCols<2>() * x + L.col(2), Vector::Zero(K), 0.0));
  return true;
}

// Exact confidence range over the polygon and the decision-boundary edges.
void confidence_and_boundary(SlicePolygon& s, std::vector<std::array<Eigen::Vector2d, 2>>& boundary) {
  const Matrix& L = s.logits;
  const int K = static_cast<int>(L.rows());
  const Eigen::Index zero = 0;
  (void)zero;
  auto conf_at = [&](const Eigen::Vector2d& p) {
    return confidence_at(L.leftCols<2>() * p + L.col(2), Vector::Zero(K), 0.0);
  };
  double lo = 1.0, hi = 0.0;
  // The maximum: on an edge (1-D, exact) or at an interior stationary point.
  const size_t n = s.polygon.vertices.size();
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Vector2d& a = s.polygon.vertices[i];
    const Eigen::Vector2d& b = s.polygon.vertices[(i + 1) % n];
    const Vector c = L.leftCols<2>() * a + L.col(2), w = L.leftCols<2>() * (b - a);
    hi = std::max(hi, confidence_range(c, w, 0.0, 1.0).max);
  }
  for (int k = 0; k < K; ++k) interior_maximum(L, k, s.polygon, &hi);
  // The minimum: at a vertex of some class cell (where one class is the
  // arg-max, the confidence is that class's log-concave probability).
  for (int k = 0; k < K; ++k) {
    ConvexPolygon cell = s.polygon;
    for (int j = 0; j < K && !cell.empty(); ++j)
      // Decision lines are labelled -2 - j, apart from the window border (-1)
      // and the units' lines (>= 0).
      if (j != k) cell = clip_polygon(cell, (L.row(k) - L.row(j)).transpose(), -2 - j, kCutTol);
    if (cell.empty()) continue;
    s.class_cells.emplace_back(k, cell);
    for (size_t i = 0; i < cell.vertices.size(); ++i) {
      lo = std::min(lo, conf_at(cell.vertices[i]));
      const long j = -2 - cell.labels[i];
      if (j > k) boundary.push_back({cell.vertices[i], cell.vertices[(i + 1) % cell.vertices.size()]});
    }
  }
  s.min_confidence = std::min(lo, hi);
  s.max_confidence = hi;
}

}  // namespace

Slice2d slice_regions_2d(const Network& net, const Plane2d& plane, const SliceWindow& w, const SliceOptions& o) {
  check_input(plane.origin, net.input_size(), "slice origin");
  check_input(plane.e1, net.input_size(), "slice direction e1");
  check_input(plane.e2, net.input_size(), "slice direction e2");
  if (plane.e1.isZero(0.0) || plane.e2.isZero(0.0)) throw Error("slice: a direction (e1 or e2) is zero");
  {
    const double c = std::abs(plane.e1.dot(plane.e2)) / (plane.e1.norm() * plane.e2.norm());
    if (c > 1 - 1e-12) throw Error("slice: e1 and e2 are parallel, so they span no plane");
  }
  for (double v : {w.u0, w.u1, w.v0, w.v1})
    if (!std::isfinite(v)) throw Error("slice: the window bounds must be finite");
  if (!(w.u0 < w.u1) || !(w.v0 < w.v1)) throw Error("slice: the window is empty or inverted (need u0 < u1 and v0 < v1)");
  if (o.max_regions == 0) throw Error("slice: the region limit must be positive");

  check_memory(detail::LayerSlicer<Geometry2>::estimated_bytes(net, omp_get_max_threads()),
               "the slice of " + (net.source.empty() ? std::string("the model") : net.source));
  detail::LayerSlicer<Geometry2> slicer(net, o);
  ConvexPolygon start;
  start = ConvexPolygon::rectangle(w.u0, w.u1, w.v0, w.v1);
  if (o.box_lower.size()) {
    if (o.box_lower.size() != net.input_size() || o.box_upper.size() != net.input_size())
      throw Error("slice: the box has " + std::to_string(o.box_lower.size()) + " intervals but the network has " +
                  std::to_string(net.input_size()) + " inputs");
    // lo_i <= origin_i + u e1_i + v e2_i <= hi_i: two half-planes a
    // coordinate, drawn as window border (label -1).
    for (Eigen::Index i = 0; i < net.input_size() && !start.empty(); ++i) {
      const Eigen::Vector3d a(plane.e1[i], plane.e2[i], plane.origin[i]);
      start = clip_polygon(start, a - Eigen::Vector3d(0, 0, o.box_lower[i]), -1, detail::kCutTol);
      if (!start.empty())
        start = clip_polygon(start, Eigen::Vector3d(0, 0, o.box_upper[i]) - a, -1, detail::kCutTol);
    }
    if (start.empty())
      throw Error("slice: the window does not meet the box (no point of the window has every input within its bounds)");
  }
  Matrix input(net.input_size(), 3);
  input.col(0) = plane.e1;
  input.col(1) = plane.e2;
  input.col(2) = plane.origin;
  Slice2d out;
  out.window_area = start.area();  // the window, clipped to the box if there is one
  auto cells = slicer.run(std::move(start), std::move(input), &out.stop_reason);
  out.complete = out.stop_reason.empty();
  out.polygons.resize(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    SlicePolygon& p = out.polygons[i];
    p.polygon = std::move(cells[i].cell);
    p.pattern_hash = cells[i].pattern_hash;
    p.pattern = std::move(cells[i].pattern);
    p.logits = std::move(cells[i].logits);
    p.predicted_class = cells[i].predicted_class;
    p.area = p.polygon.area();
  }
  if (o.decision_boundary) {
    std::vector<std::vector<std::array<Eigen::Vector2d, 2>>> parts(out.polygons.size());
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < out.polygons.size(); ++i) {
      if (o.cancel && o.cancel->load(std::memory_order_relaxed)) continue;  // partial already
      confidence_and_boundary(out.polygons[i], parts[i]);
    }
    for (auto& p : parts) out.decision_boundary.insert(out.decision_boundary.end(), p.begin(), p.end());
    // Cancelled while the confidence ranges were computed: some polygons
    // have none, so the slice is partial.
    if (o.cancel && o.cancel->load() && out.complete) {
      out.complete = false;
      out.stop_reason = "cancelled";
    }
  }
  double smallest = std::numeric_limits<double>::infinity();
  for (const SlicePolygon& p : out.polygons) {
    double perimeter = 0;
    const auto& v = p.polygon.vertices;
    for (size_t i = 0; i < v.size(); ++i) perimeter += (v[(i + 1) % v.size()] - v[i]).norm();
    if (perimeter > 0) smallest = std::min(smallest, 2 * p.area / perimeter);
  }
  const double far = std::max({std::abs(w.u0), std::abs(w.u1), std::abs(w.v0), std::abs(w.v1)});
  out.precision_warning = detail::precision_warning(far, std::min(w.u1 - w.u0, w.v1 - w.v0), smallest);
  return out;
}

std::vector<Vector> random_orthonormal_directions(Eigen::Index d, int count, std::uint64_t seed) {
  SeededRandom rng(seed);
  std::vector<Vector> out;
  for (int k = 0; k < count; ++k) {
    Vector g(d);
    for (Eigen::Index i = 0; i < d; ++i) {
      const double a = rng.uniform(1e-300, 1.0), b = rng.uniform();
      g[i] = std::sqrt(-2 * std::log(a)) * std::cos(2 * M_PI * b);
    }
    for (const Vector& q : out) g -= g.dot(q) * q;
    out.push_back(g.normalized());
  }
  return out;
}

}  // namespace tessera
