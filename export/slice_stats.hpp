// Statistics of an exact slice, for the command line's report, the app's
// status line and scripts: region count and density, cell sizes, the share
// of each predicted class, the length of the decision boundary.
#pragma once

#include <cstddef>
#include <map>

#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

struct SliceStatistics {
  std::size_t regions = 0;
  double measure = 0;   // area of the (clipped) window, or volume of the box
  double density = 0;   // regions per unit area / volume
  // Sizes of the regions (areas or volumes): smallest, the upper median
  // (the element at index n/2 when sorted), largest; 0 without regions.
  double min_size = 0, median_size = 0, max_size = 0;
  // Share of the window (area or volume) of each class predicted at the
  // regions' centroids, in [0, 1].
  std::map<int, double> class_share;
  double decision_boundary_length = 0;  // 2-D only
};

// The number of classes of a slice: the most logit rows of its regions.
int slice_classes(const Slice2d& slice);
int slice_classes(const Slice3d& slice);

SliceStatistics slice_statistics(const Slice2d& slice);
SliceStatistics slice_statistics(const Slice3d& slice);

}  // namespace tessera
