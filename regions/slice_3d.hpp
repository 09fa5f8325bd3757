// Exact linear regions on a 3-D affine slice
// P(u, v, w) = origin + u·e1 + v·e2 + w·e3 over a box of (u, v, w): convex
// polyhedra that tile the box, cut layer by layer exactly like the 2-D
// slices (regions/slice_2d.hpp), by the planes where units switch.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "regions/convex_polyhedron.hpp"
#include "regions/slice_2d.hpp"

namespace tessera {

struct Plane3d {
  Vector origin, e1, e2, e3;
};

struct SliceBox {
  Eigen::Vector3d lo{-1, -1, -1}, hi{1, 1, 1};
};

struct SlicePolyhedron {
  ConvexPolyhedron cell;
  std::uint64_t pattern_hash = 0;
  ActivationPattern pattern;  // only with keep_patterns
  Matrix logits;              // K x 4: logits(u, v, w) = logits * (u, v, w, 1)
  int predicted_class = -1;   // at the centroid
  double volume = 0;
};

struct Slice3d {
  std::vector<SlicePolyhedron> polyhedra;
  double box_volume = 0;
  bool complete = false;
  std::string stop_reason;
  std::string precision_warning;  // as for Slice2d
};

// Throws tessera::Error for degenerate directions (zero or linearly
// dependent), an empty box, or wrong sizes. SliceOptions::decision_boundary
// is ignored (confidence ranges are 2-D only for now).
Slice3d slice_regions_3d(const Network& net, const Plane3d& slice, const SliceBox& box, const SliceOptions& options = {});

}  // namespace tessera
