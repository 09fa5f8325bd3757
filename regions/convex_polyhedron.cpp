#include "regions/convex_polyhedron.hpp"

#include <algorithm>
#include <cmath>

namespace tessera {

ConvexPolyhedron ConvexPolyhedron::box(const Eigen::Vector3d& lo, const Eigen::Vector3d& hi) {
  auto corner = [&](int i) { return Eigen::Vector3d(i & 1 ? hi[0] : lo[0], i & 2 ? hi[1] : lo[1], i & 4 ? hi[2] : lo[2]); };
  const int faces[6][4] = {{0, 2, 6, 4}, {1, 5, 7, 3}, {0, 4, 5, 1}, {2, 3, 7, 6}, {0, 1, 3, 2}, {4, 6, 7, 5}};
  ConvexPolyhedron p;
  for (const auto& f : faces) {
    Face face;
    for (int i : f) face.vertices.push_back(corner(i));
    p.faces.push_back(face);
  }
  return p;
}

std::vector<Eigen::Vector3d> ConvexPolyhedron::vertices() const {
  std::vector<Eigen::Vector3d> v;
  for (const Face& f : faces)
    for (const auto& p : f.vertices)
      if (std::none_of(v.begin(), v.end(), [&](const Eigen::Vector3d& q) { return (q - p).cwiseAbs().maxCoeff() == 0; }))
        v.push_back(p);
  return v;
}

namespace {
// Sums over the fan tetrahedra from an interior reference point.
template <typename F>
void for_each_tetrahedron(const ConvexPolyhedron& p, F f) {
  Eigen::Vector3d r(0, 0, 0);
  size_t n = 0;
  for (const auto& face : p.faces)
    for (const auto& v : face.vertices) {
      r += v;
      ++n;
    }
  if (n) r /= static_cast<double>(n);
  for (const auto& face : p.faces)
    for (size_t i = 1; i + 1 < face.vertices.size(); ++i) {
      const Eigen::Vector3d &a = face.vertices[0], &b = face.vertices[i], &c = face.vertices[i + 1];
      const double vol = std::abs((a - r).dot((b - r).cross(c - r))) / 6.0;
      f(vol, (r + a + b + c) / 4.0);
    }
}
}  // namespace

double ConvexPolyhedron::volume() const {
  double v = 0;
  for_each_tetrahedron(*this, [&](double vol, const Eigen::Vector3d&) { v += vol; });
  return v;
}

Eigen::Vector3d ConvexPolyhedron::centroid() const {
  Eigen::Vector3d c(0, 0, 0);
  double v = 0;
  for_each_tetrahedron(*this, [&](double vol, const Eigen::Vector3d& m) {
    c += vol * m;
    v += vol;
  });
  if (v > 0) return c / v;
  const auto vs = vertices();
  for (const auto& p : vs) c += p;
  return vs.empty() ? c : c / static_cast<double>(vs.size());
}

namespace {

double face_area(const std::vector<Eigen::Vector3d>& v) {
  Eigen::Vector3d n(0, 0, 0);
  for (size_t i = 1; i + 1 < v.size(); ++i) n += (v[i] - v[0]).cross(v[i + 1] - v[0]);
  return 0.5 * n.norm();
}

// The signed value of the plane at a vertex, 0 within the tolerance.
inline double plane_value(const Eigen::Vector4d& a, const Eigen::Vector3d& x, double tol) {
  const double v = a.head<3>().dot(x) + a[3];
  const double scale = a.head<3>().cwiseAbs().dot(x.cwiseAbs()) + std::abs(a[3]);
  return std::abs(v) <= tol * scale ? 0.0 : v;
}

// The part of the polyhedron where keep * a·(x,1) >= 0, capped by a face on
// the plane. s: plane_value at every vertex of every face, face after face.
ConvexPolyhedron keep_side(const ConvexPolyhedron& p, const std::vector<double>& s, const Eigen::Vector4d& a, int keep,
                           long label) {
  ConvexPolyhedron out;
  out.faces.reserve(p.faces.size() + 1);
  thread_local std::vector<Eigen::Vector3d> cap;
  cap.clear();
  std::size_t at = 0;
  for (const auto& face : p.faces) {
    ConvexPolyhedron::Face f;
    f.label = face.label;
    const size_t n = face.vertices.size();
    const double* sv = s.data() + at;
    at += n;
    f.vertices.reserve(n + 1);
    for (size_t i = 0; i < n; ++i) {
      const size_t j = i + 1 == n ? 0 : i + 1;
      const Eigen::Vector3d& x = face.vertices[i];
      const Eigen::Vector3d& y = face.vertices[j];
      const double sx = keep * sv[i], sy = keep * sv[j];
      if (sx >= 0) f.vertices.push_back(x);
      if (sx == 0) cap.push_back(x);
      if ((sx > 0 && sy < 0) || (sx < 0 && sy > 0)) {
        const Eigen::Vector3d m = x + (sx / (sx - sy)) * (y - x);
        f.vertices.push_back(m);
        cap.push_back(m);
      }
    }
    if (f.vertices.size() >= 3 && face_area(f.vertices) > 0) out.faces.push_back(std::move(f));
  }
  // Cap: the points on the plane, ordered by angle around their mean.
  std::vector<Eigen::Vector3d> pts;
  pts.reserve(cap.size());
  // The same crossing computed from the two faces of an edge can differ in
  // its last bits: merge points closer than rounding.
  for (const auto& c : cap)
    if (std::none_of(pts.begin(), pts.end(), [&](const Eigen::Vector3d& q) {
          return (q - c).cwiseAbs().maxCoeff() <= 1e-12 * (1 + c.cwiseAbs().maxCoeff());
        }))
      pts.push_back(c);
  if (pts.size() >= 3) {
    Eigen::Vector3d mean(0, 0, 0);
    for (const auto& q : pts) mean += q;
    mean /= static_cast<double>(pts.size());
    const Eigen::Vector3d normal = a.head<3>().normalized();
    Eigen::Vector3d e1 = normal.unitOrthogonal(), e2 = normal.cross(e1);
    // Sorted by the angle, computed once a point (the same comparisons, so
    // the same order, as comparing atan2 of both points every time).
    struct Keyed {
      double angle;
      Eigen::Vector3d x;
    };
    thread_local std::vector<Keyed> keyed;
    keyed.clear();
    for (const auto& x : pts) keyed.push_back({std::atan2((x - mean).dot(e2), (x - mean).dot(e1)), x});
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& x, const Keyed& y) { return x.angle < y.angle; });
    for (size_t i = 0; i < pts.size(); ++i) pts[i] = keyed[i].x;
    if (face_area(pts) > 0) {
      ConvexPolyhedron::Face f;
      f.vertices = std::move(pts);
      f.label = label;
      out.faces.push_back(std::move(f));
    }
  }
  if (out.empty() || !(out.volume() > 0)) return ConvexPolyhedron{};
  return out;
}

}  // namespace

double ConvexPolyhedron::surface_area() const {
  double a = 0;
  for (const Face& f : faces) a += face_area(f.vertices);
  return a;
}


bool split_polyhedron(const ConvexPolyhedron& p, const Eigen::Vector4d& a, long label, ConvexPolyhedron* positive,
                      ConvexPolyhedron* negative, int* side, double tol) {
  thread_local std::vector<double> s;
  s.clear();
  bool pos = false, neg = false;
  for (const auto& f : p.faces)
    for (const auto& x : f.vertices) {
      const double v = plane_value(a, x, tol);
      s.push_back(v);
      pos = pos || v > 0;
      neg = neg || v < 0;
    }
  if (!(pos && neg)) {
    *side = pos ? 1 : neg ? -1 : 0;
    return false;
  }
  *positive = keep_side(p, s, a, +1, label);
  *negative = keep_side(p, s, a, -1, label);
  if (positive->empty() || negative->empty()) {
    *side = positive->empty() ? -1 : 1;
    return false;
  }
  return true;
}

}  // namespace tessera
