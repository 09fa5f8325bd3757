// Convex polygons in a plane, cut by lines: the geometry of exact 2-D slices.
#pragma once

#include <Eigen/Dense>
#include <vector>

namespace tessera {

// A convex polygon with counter-clockwise vertices. label[i] names the line
// that edge i (from vertex i to vertex i+1) lies on: -1 for the window's
// border, otherwise a caller-chosen id of the cutting line.
struct ConvexPolygon {
  std::vector<Eigen::Vector2d> vertices;
  std::vector<long> labels;

  static ConvexPolygon rectangle(double u0, double u1, double v0, double v1);
  double area() const;
  Eigen::Vector2d centroid() const;
  bool empty() const { return vertices.size() < 3; }
};

// The affine function a·(u, v, 1) at a point.
inline double affine_at(const Eigen::Vector3d& a, const Eigen::Vector2d& p) { return a[0] * p[0] + a[1] * p[1] + a[2]; }

// Splits `poly` by the line a·(u,v,1) = 0 into the part where it is >= 0
// (`positive`) and <= 0 (`negative`). Vertices within `tolerance` (relative
// to the terms' magnitudes) of the line count as on it. Returns false (and
// leaves both outputs empty) when the line does not cross the interior; then
// *side is +1 or -1 for the side the whole polygon is on (0: degenerate).
bool split_polygon(const ConvexPolygon& poly, const Eigen::Vector3d& a, long label, ConvexPolygon* positive,
                   ConvexPolygon* negative, int* side, double tolerance);

// The part of `poly` where a·(u,v,1) >= 0 (may be empty).
ConvexPolygon clip_polygon(const ConvexPolygon& poly, const Eigen::Vector3d& a, long label, double tolerance);

}  // namespace tessera
