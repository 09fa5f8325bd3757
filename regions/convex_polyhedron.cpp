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

// Whether p.volume() > 0, from the same terms, stopping at the first
// tetrahedron with volume: a sum of non-negative terms is positive once one
// is, unless a later one is NaN, which needs an overflow: with every
// coordinate below 1e90 in magnitude every product is finite (beyond, the
// whole sum is taken).
bool has_volume(const ConvexPolyhedron& p) {
  Eigen::Vector3d r(0, 0, 0);
  size_t n = 0;
  double far = 0;
  for (const auto& face : p.faces)
    for (const auto& v : face.vertices) {
      r += v;
      far = std::max(far, v.cwiseAbs().maxCoeff());
      ++n;
    }
  if (!(far < 1e90)) return p.volume() > 0;
  if (n) r /= static_cast<double>(n);
  for (const auto& face : p.faces)
    for (size_t i = 1; i + 1 < face.vertices.size(); ++i) {
      const Eigen::Vector3d &a = face.vertices[0], &b = face.vertices[i], &c = face.vertices[i + 1];
      const double vol = std::abs((a - r).dot((b - r).cross(c - r))) / 6.0;
      if (vol > 0) return true;
    }
  return false;
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

// face_area(v) > 0, without the square root: 0.5 sqrt(x) > 0 exactly when
// x > 0 (the half of the square root of a positive double never rounds to 0).
bool has_area(const std::vector<Eigen::Vector3d>& v) {
  Eigen::Vector3d n(0, 0, 0);
  for (size_t i = 1; i + 1 < v.size(); ++i) n += (v[i] - v[0]).cross(v[i + 1] - v[0]);
  return n.squaredNorm() > 0;
}

// The signed value of the plane at a vertex, 0 within the tolerance.
inline double plane_value(const Eigen::Vector4d& a, const Eigen::Vector3d& x, double tol) {
  const double v = a.head<3>().dot(x) + a[3];
  const double scale = a.head<3>().cwiseAbs().dot(x.cwiseAbs()) + std::abs(a[3]);
  return std::abs(v) <= tol * scale ? 0.0 : v;
}

// Both parts of the polyhedron, where a·(x,1) >= 0 (pos) and <= 0 (neg),
// each capped by a face on the plane, in one pass: the same faces, vertices
// and order as cutting each side on its own (a face on one side only is
// copied whole, or moved when `steal`). s: plane_value at every vertex of
// every face, face after face. An empty part (no volume) comes back empty;
// then the faces moved are given back, so that p is as it was. Returns
// whether both parts have volume (p's faces are then moved-from, with
// `steal`).
bool split_sides(ConvexPolyhedron& p, const std::vector<double>& s, const Eigen::Vector4d& a, long label, bool steal,
                 ConvexPolyhedron* pos, ConvexPolyhedron* neg) {
  struct Taken {
    std::size_t face;
    int side;
    std::size_t at;
  };
  thread_local std::vector<Taken> stolen;
  stolen.clear();
  // With `steal`, a face the plane crosses lends its vertex buffer to its
  // positive part: its vertices are read from a copy here (and put back
  // from it if p must be given back).
  struct Lent {
    std::size_t face, at, n;
  };
  thread_local std::vector<Lent> lent;
  thread_local std::vector<Eigen::Vector3d> originals;
  lent.clear();
  originals.clear();
  ConvexPolyhedron out[2];  // [0]: keep +1, [1]: keep -1
  out[0].faces.reserve(p.faces.size() + 1);
  out[1].faces.reserve(p.faces.size() + 1);
  thread_local std::vector<Eigen::Vector3d> cap;
  cap.clear();
  std::size_t at = 0;
  for (std::size_t fi = 0; fi < p.faces.size(); ++fi) {
    auto& face = p.faces[fi];
    const size_t n = face.vertices.size();
    const double* sv = s.data() + at;
    at += n;
    bool has_pos = false, has_neg = false;
    for (size_t i = 0; i < n; ++i) {
      has_pos = has_pos || sv[i] > 0;
      has_neg = has_neg || sv[i] < 0;
    }
    if (!(has_pos && has_neg)) {
      // Wholly on one side (or on the plane): that side keeps the face as it
      // is; the other keeps its vertices on the plane, which are cap points.
      const int whole = has_neg ? 1 : 0;
      ConvexPolyhedron::Face f;
      f.label = face.label;
      size_t zeros = 0;
      for (size_t i = 0; i < n; ++i)
        if (sv[i] == 0) {
          cap.push_back(face.vertices[i]);
          ++zeros;
        }
      if (zeros >= 3)
        for (size_t i = 0; i < n; ++i)
          if (sv[i] == 0) f.vertices.push_back(face.vertices[i]);
      const bool other_ok = f.vertices.size() >= 3 && has_area(f.vertices);
      const bool whole_ok = n >= 3 && has_area(face.vertices);
      // Faces in the order of p's faces on both sides.
      if (whole_ok) {
        if (steal) {
          stolen.push_back({fi, whole, out[whole].faces.size()});
          out[whole].faces.push_back(std::move(face));
        } else {
          out[whole].faces.push_back(face);
        }
      }
      if (other_ok) out[1 - whole].faces.push_back(std::move(f));
      continue;
    }
    ConvexPolyhedron::Face f[2];
    const Eigen::Vector3d* v = face.vertices.data();
    if (steal) {
      lent.push_back({fi, originals.size(), n});
      originals.insert(originals.end(), face.vertices.begin(), face.vertices.end());
      v = originals.data() + lent.back().at;
      f[0].vertices = std::move(face.vertices);
      f[0].vertices.clear();
    }
    for (int k = 0; k < 2; ++k) {
      f[k].label = face.label;
      f[k].vertices.reserve(n + 1);
    }
    for (size_t i = 0; i < n; ++i) {
      const size_t j = i + 1 == n ? 0 : i + 1;
      const Eigen::Vector3d& x = v[i];
      const Eigen::Vector3d& y = v[j];
      const double sx = sv[i], sy = sv[j];
      if (sx >= 0) f[0].vertices.push_back(x);
      if (sx <= 0) f[1].vertices.push_back(x);
      if (sx == 0) cap.push_back(x);
      if ((sx > 0 && sy < 0) || (sx < 0 && sy > 0)) {
        // (-sx) / (-sx - -sy) is sx / (sx - sy) exactly: one point for both.
        const double kx = sx > 0 ? sx : -sx, ky = sx > 0 ? sy : -sy;
        const Eigen::Vector3d m = x + (kx / (kx - ky)) * (y - x);
        f[0].vertices.push_back(m);
        f[1].vertices.push_back(m);
        cap.push_back(m);
      }
    }
    for (int k = 0; k < 2; ++k)
      if (f[k].vertices.size() >= 3 && has_area(f[k].vertices)) out[k].faces.push_back(std::move(f[k]));
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
    if (has_area(pts)) {
      ConvexPolyhedron::Face f;
      f.vertices = pts;
      f.label = label;
      out[1].faces.push_back(std::move(f));
      f.vertices = std::move(pts);
      f.label = label;
      out[0].faces.push_back(std::move(f));
    }
  }
  bool empty[2];
  for (int k = 0; k < 2; ++k) empty[k] = out[k].empty() || !has_volume(out[k]);
  if (empty[0] || empty[1]) {
    for (const Taken& t : stolen) p.faces[t.face] = std::move(out[t.side].faces[t.at]);
    for (const Lent& l : lent)
      p.faces[l.face].vertices.assign(originals.begin() + l.at, originals.begin() + l.at + l.n);
  }
  for (int k = 0; k < 2; ++k)
    if (empty[k]) out[k] = ConvexPolyhedron{};
  *pos = std::move(out[0]);
  *neg = std::move(out[1]);
  return !(empty[0] || empty[1]);
}

// The signs of the plane at p's vertices into s; false when the plane does
// not cut p's interior (then *side as split_polyhedron's).
bool plane_signs(const ConvexPolyhedron& p, const Eigen::Vector4d& a, double tol, std::vector<double>& s, int* side) {
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
  return true;
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
  if (!plane_signs(p, a, tol, s, side)) return false;
  split_sides(const_cast<ConvexPolyhedron&>(p), s, a, label, false, positive, negative);  // copies only
  if (positive->empty() || negative->empty()) {
    *side = positive->empty() ? -1 : 1;
    return false;
  }
  return true;
}

bool split_polyhedron_taking(ConvexPolyhedron& p, const Eigen::Vector4d& a, long label, ConvexPolyhedron* positive,
                             ConvexPolyhedron* negative, int* side, double tol) {
  thread_local std::vector<double> s;
  if (!plane_signs(p, a, tol, s, side)) return false;
  if (!split_sides(p, s, a, label, true, positive, negative)) {
    *side = positive->empty() ? -1 : 1;
    return false;
  }
  return true;
}

}  // namespace tessera
