#include "regions/convex_polygon.hpp"

#include <cmath>

namespace tessera {

ConvexPolygon ConvexPolygon::rectangle(double u0, double u1, double v0, double v1) {
  ConvexPolygon p;
  p.vertices = {{u0, v0}, {u1, v0}, {u1, v1}, {u0, v1}};
  p.labels = {-1, -1, -1, -1};
  return p;
}

double ConvexPolygon::area() const {
  double a = 0;
  const size_t n = vertices.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& p = vertices[i];
    const auto& q = vertices[(i + 1) % n];
    a += p[0] * q[1] - q[0] * p[1];
  }
  return 0.5 * a;
}

Eigen::Vector2d ConvexPolygon::centroid() const {
  // Area-weighted centroid of the fan of triangles from vertex 0.
  Eigen::Vector2d c(0, 0);
  double total = 0;
  for (size_t i = 1; i + 1 < vertices.size(); ++i) {
    const Eigen::Vector2d a = vertices[i] - vertices[0], b = vertices[i + 1] - vertices[0];
    const double w = a[0] * b[1] - a[1] * b[0];
    c += w * (vertices[0] + vertices[i] + vertices[i + 1]) / 3.0;
    total += w;
  }
  if (total == 0) {
    Eigen::Vector2d mean(0, 0);
    for (const auto& v : vertices) mean += v;
    return mean / static_cast<double>(std::max<size_t>(vertices.size(), 1));
  }
  return c / total;
}

namespace {

// Signed values of the line at every vertex, with near-zero ones set to 0
// (into a buffer of the calling thread, reused from call to call).
const std::vector<double>& side_values(const ConvexPolygon& poly, const Eigen::Vector3d& a, double tolerance) {
  thread_local std::vector<double> s;
  s.resize(poly.vertices.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto& p = poly.vertices[i];
    const double v = affine_at(a, p);
    const double scale = std::abs(a[0] * p[0]) + std::abs(a[1] * p[1]) + std::abs(a[2]);
    s[i] = std::abs(v) <= tolerance * scale ? 0.0 : v;
  }
  return s;
}

// One edge (p to q, values si and sj on the kept side's sign) of keep_side.
inline void keep_edge(ConvexPolygon& out, const Eigen::Vector2d& p, const Eigen::Vector2d& q, double si, double sj,
                      long edge_label, long label) {
  if (si >= 0) {
    out.vertices.push_back(p);
    // The edge leaving p: on the line if both ends are on it, or if it
    // leads to the crossing point / is cut.
    if (sj >= 0) {
      out.labels.push_back(si == 0 && sj == 0 ? label : edge_label);
    } else if (si > 0) {
      // p inside, q outside: cut the edge.
      const double t = si / (si - sj);
      out.labels.push_back(edge_label);
      out.vertices.push_back(p + t * (q - p));
      out.labels.push_back(label);
    } else {
      // p on the line, q outside: the next kept edge runs along the line.
      out.labels.push_back(label);
    }
  } else if (sj > 0) {
    // p outside, q inside: enter at the crossing point.
    const double t = si / (si - sj);
    out.vertices.push_back(p + t * (q - p));
    out.labels.push_back(edge_label);
  }
}

// Drops repeated points (a vertex exactly on the line can be emitted
// twice), in place: vertex i goes when it equals vertex i+1 (the first
// one's original value for the last); empty unless a polygon with area is
// left.
void clean_up(ConvexPolygon& out) {
  const size_t m = out.vertices.size();
  if (m == 0) return;
  const Eigen::Vector2d first = out.vertices[0];
  size_t kept = 0;
  for (size_t i = 0; i < m; ++i) {
    const Eigen::Vector2d& next = i + 1 == m ? first : out.vertices[i + 1];
    if ((out.vertices[i] - next).cwiseAbs().maxCoeff() == 0.0) continue;
    out.vertices[kept] = out.vertices[i];
    out.labels[kept] = out.labels[i];
    ++kept;
  }
  out.vertices.resize(kept);
  out.labels.resize(kept);
  if (out.vertices.size() < 3 || out.area() <= 0) out = ConvexPolygon{};
}

// Keeps the part with sign `keep` (+1 or -1) of the line; new edges on the
// line get `label`.
ConvexPolygon keep_side(const ConvexPolygon& poly, const std::vector<double>& s, int keep, long label) {
  ConvexPolygon out;
  const size_t n = poly.vertices.size();
  out.vertices.reserve(n + 2);
  out.labels.reserve(n + 2);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + 1 == n ? 0 : i + 1;
    keep_edge(out, poly.vertices[i], poly.vertices[j], keep * s[i], keep * s[j], poly.labels[i], label);
  }
  clean_up(out);
  return out;
}

// Both sides at once: the same as keep_side(+1) and keep_side(-1) (a
// crossing point, s_i / (s_i - s_j), is the same bits from either side).
void keep_both(const ConvexPolygon& poly, const std::vector<double>& s, long label, ConvexPolygon* pos,
               ConvexPolygon* neg) {
  ConvexPolygon out[2];
  const size_t n = poly.vertices.size();
  for (auto& o : out) {
    o.vertices.reserve(n + 2);
    o.labels.reserve(n + 2);
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + 1 == n ? 0 : i + 1;
    keep_edge(out[0], poly.vertices[i], poly.vertices[j], s[i], s[j], poly.labels[i], label);
    keep_edge(out[1], poly.vertices[i], poly.vertices[j], -s[i], -s[j], poly.labels[i], label);
  }
  clean_up(out[0]);
  clean_up(out[1]);
  *pos = std::move(out[0]);
  *neg = std::move(out[1]);
}

}  // namespace

bool split_polygon(const ConvexPolygon& poly, const Eigen::Vector3d& a, long label, ConvexPolygon* positive,
                   ConvexPolygon* negative, int* side, double tolerance) {
  const std::vector<double>& s = side_values(poly, a, tolerance);
  bool pos = false, neg = false;
  for (double v : s) {
    pos = pos || v > 0;
    neg = neg || v < 0;
  }
  if (!(pos && neg)) {
    *side = pos ? 1 : neg ? -1 : 0;
    return false;
  }
  keep_both(poly, s, label, positive, negative);
  if (positive->empty() || negative->empty()) {
    // A cut that leaves nothing of area on one side is no cut.
    *side = positive->empty() ? -1 : 1;
    return false;
  }
  return true;
}

ConvexPolygon clip_polygon(const ConvexPolygon& poly, const Eigen::Vector3d& a, long label, double tolerance) {
  const std::vector<double>& s = side_values(poly, a, tolerance);
  bool neg = false, pos = false;
  for (double v : s) {
    neg = neg || v < 0;
    pos = pos || v > 0;
  }
  if (!neg) return poly;
  if (!pos) return ConvexPolygon{};
  return keep_side(poly, s, +1, label);
}

}  // namespace tessera
