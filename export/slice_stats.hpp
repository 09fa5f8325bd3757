// Statistics of an exact slice, for the command line's report, the app's
// status line and scripts: region count and density, cell sizes, the share
// of each predicted class, the length of the decision boundary.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"
#include "export/palette.hpp"

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

// The largest softmax probability p of logits z, in "nines": -log10(1 - p)
// (0.9 is 1, 0.999 is 3), computed from the logits by log-sum-exp, so it
// stays exact and finite where p itself rounds to 1.
double confidence_nines(const Vector& logits);
// A polygon's confidence at its centroid, in nines.
double centroid_nines(const SlicePolygon& polygon);

// How Colouring::Shaded maps confidence to shades on one slice: the range
// of the polygons' centroid nines (at least half a nine wide), palest at
// `lo`, full colour at `hi`. Relative to the slice, so a map on which every
// region is 99.99 % sure still shows its regions; the legend names the range.
struct ShadeScale {
  double lo = 0, hi = 1;  // in nines
  double shade(double nines) const;  // in [0, 1]
};
ShadeScale shade_scale(const Slice2d& slice);
// A confidence given in nines as a legend writes it: enough digits to
// differ from 1 ("0.99984"), and from 5 nines on as 1 minus the rest
// ("1-3.2e-07", with `minus` between).
std::string confidence_label(double nines, const std::string& minus = "-");
// Every polygon's colour under `colouring` (classes <= 0: slice_classes).
std::vector<Rgb> polygon_colours(const Slice2d& slice, Colouring colouring, int classes = 0);
SliceStatistics slice_statistics(const Slice3d& slice);

}  // namespace tessera
