// Convex polyhedra in 3-D, cut by planes: the geometry of exact 3-D slices.
#pragma once

#include <Eigen/Dense>
#include <vector>

namespace tessera {

// A convex polyhedron as its faces (convex polygons in 3-D). label: the
// cutting plane a face lies on (-1 for the box).
struct ConvexPolyhedron {
  struct Face {
    std::vector<Eigen::Vector3d> vertices;
    long label = -1;
  };
  std::vector<Face> faces;

  static ConvexPolyhedron box(const Eigen::Vector3d& lo, const Eigen::Vector3d& hi);
  bool empty() const { return faces.size() < 4; }
  double volume() const;
  double surface_area() const;  // sum of the faces' areas
  Eigen::Vector3d centroid() const;
  std::vector<Eigen::Vector3d> vertices() const;  // each once
};

// Splits by the plane a·(x, y, z, 1) = 0 into the parts where it is >= 0 and
// <= 0; false (outputs untouched) when the plane does not cut the interior,
// with *side = +1 / -1 for the side the polyhedron is on.
bool split_polyhedron(const ConvexPolyhedron& p, const Eigen::Vector4d& a, long label, ConvexPolyhedron* positive,
                      ConvexPolyhedron* negative, int* side, double tolerance);

// The same split (the same parts, bit for bit), taking p's faces where it
// can: when it returns true, p is left valid but unspecified (to be
// discarded); when false, p is unchanged.
bool split_polyhedron_taking(ConvexPolyhedron& p, const Eigen::Vector4d& a, long label, ConvexPolyhedron* positive,
                             ConvexPolyhedron* negative, int* side, double tolerance);

}  // namespace tessera
