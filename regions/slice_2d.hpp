// Exact linear regions of a network on a 2-D affine slice
// P(u, v) = origin + u·e1 + v·e2 over a window [u0, u1] x [v0, v1].
//
// Layer by layer cutting (as in SplineCam and Hanin & Rolnick's counting):
// every polygon carries each node's values as affine functions of (u, v)
// (an n x 3 matrix acting on (u, v, 1)); at a ReLU/LeakyReLU layer each
// unit's pre-activation is such a function, so its zero set is a line, and
// the polygon is cut by the lines of the layer's units; at a max-pool layer
// by the lines where two entries of a window are equal. The pieces that
// survive all layers tile the window exactly: on each one the network is one
// affine map of (u, v).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/activation_pattern.hpp"
#include "core/network.hpp"
#include "regions/convex_polygon.hpp"

namespace tessera {

struct Plane2d {
  Vector origin, e1, e2;  // each of the network's input size
};

// `count` random orthonormal directions in R^d (Gram-Schmidt on Gaussian
// vectors from SeededRandom(seed)), so that slice coordinates are Euclidean
// distances in input space. The same seed gives the same directions in the
// CLI, the desktop app and on every platform.
std::vector<Vector> random_orthonormal_directions(Eigen::Index d, int count, std::uint64_t seed);

struct SliceWindow {
  double u0 = -1, u1 = 1, v0 = -1, v1 = 1;
};

struct SliceOptions {
  std::size_t max_regions = 1'000'000;  // stop with a partial, marked result beyond this
  // Per-coordinate input bounds (one entry per input; empty: none): the
  // window is clipped to the part of the plane inside the box, so every
  // region lies in the box (2-D and 3-D slices).
  Vector box_lower, box_upper;
  bool keep_patterns = false;           // keep each polygon's full pattern (hashes always)
  bool decision_boundary = true;        // compute decision-boundary segments and exact confidence ranges
  const std::atomic<bool>* cancel = nullptr;
  // Called now and then (from one thread at a time) with the number of
  // regions found so far; may be empty.
  std::function<void(std::size_t)> progress;
  // Called every 64 units while one layer cuts one cell (from the thread
  // doing it): how far that cut is. A CNN layer can cut a cell into
  // millions of pieces before any region is finished. May be empty.
  struct CutProgress {
    int layer = 0, layers = 0;       // piecewise layer (0-based) and their count
    long unit = 0, units = 0;        // unit of that layer being cut by
    std::size_t pieces = 0;          // pieces of the cell so far
  };
  std::function<void(const CutProgress&)> cut_progress;
  // 2-D slices: called with every region as it is finished (its polygon and
  // its class at the centroid), from the slicing threads, possibly at the
  // same time: for showing a map while it grows. May be empty.
  std::function<void(const ConvexPolygon&, int predicted_class)> region_found;
};

struct SlicePolygon {
  ConvexPolygon polygon;        // (u, v) vertices, counter-clockwise
  std::uint64_t pattern_hash = 0;
  ActivationPattern pattern;    // only with keep_patterns
  Matrix logits;                // K x 3: logits(u, v) = logits * (u, v, 1)
  int predicted_class = -1;     // at the centroid
  double area = 0;
  double min_confidence = 0, max_confidence = 0;  // over the polygon (with decision_boundary)
  // The polygon split where the arg-max class changes: (class, cell) pairs
  // (with decision_boundary).
  std::vector<std::pair<int, ConvexPolygon>> class_cells;
};

struct Slice2d {
  std::vector<SlicePolygon> polygons;
  // Segments where the two largest logits tie (class changes), in (u, v).
  std::vector<std::array<Eigen::Vector2d, 2>> decision_boundary;
  double window_area = 0;
  bool complete = false;
  std::string stop_reason;
  // Non-empty when the window is too large or too narrow for double
  // precision to resolve every region reliably (says why; see
  // detail::precision_warning).
  std::string precision_warning;
};

// Throws tessera::Error for a degenerate plane (zero or parallel e1, e2),
// an empty or inverted window, or vectors of the wrong size.
Slice2d slice_regions_2d(const Network& net, const Plane2d& plane, const SliceWindow& window,
                         const SliceOptions& options = {});

}  // namespace tessera
