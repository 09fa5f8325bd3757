// The coordinate planes of 2-D and 3-D input spaces, for slice tests.
#pragma once

#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

// The input plane of a 2-D model: origin 0, e1 = (1, 0), e2 = (0, 1).
inline Plane2d input_plane() {
  Plane2d p;
  p.origin = Eigen::Vector2d(0, 0);
  p.e1 = Eigen::Vector2d(1, 0);
  p.e2 = Eigen::Vector2d(0, 1);
  return p;
}

// The input space of a 3-D model, axis by axis.
inline Plane3d input_space() {
  Plane3d s;
  s.origin = Eigen::Vector3d::Zero();
  s.e1 = Eigen::Vector3d::UnitX();
  s.e2 = Eigen::Vector3d::UnitY();
  s.e3 = Eigen::Vector3d::UnitZ();
  return s;
}

}  // namespace tessera
