#include "export/slice_stats.hpp"

#include <algorithm>
#include <vector>

namespace tessera {

namespace {
// Count, density, sizes and class shares of cells with a size and a class.
template <class Cells, class Size>
SliceStatistics statistics(const Cells& cells, double measure, Size size) {
  SliceStatistics s;
  s.regions = cells.size();
  s.measure = measure;
  s.density = measure > 0 ? static_cast<double>(s.regions) / measure : 0;
  std::vector<double> sizes;
  for (const auto& c : cells) {
    sizes.push_back(size(c));
    s.class_share[c.predicted_class] += measure > 0 ? size(c) / measure : 0;
  }
  if (sizes.empty()) return s;
  std::sort(sizes.begin(), sizes.end());
  s.min_size = sizes.front();
  s.median_size = sizes[sizes.size() / 2];
  s.max_size = sizes.back();
  return s;
}
}  // namespace

int slice_classes(const Slice2d& slice) {
  int k = 0;
  for (const SlicePolygon& p : slice.polygons) k = std::max(k, static_cast<int>(p.logits.rows()));
  return k;
}

int slice_classes(const Slice3d& slice) {
  int k = 0;
  for (const SlicePolyhedron& p : slice.polyhedra) k = std::max(k, static_cast<int>(p.logits.rows()));
  return k;
}

SliceStatistics slice_statistics(const Slice2d& slice) {
  SliceStatistics s = statistics(slice.polygons, slice.window_area, [](const SlicePolygon& p) { return p.area; });
  for (const auto& seg : slice.decision_boundary) s.decision_boundary_length += (seg[1] - seg[0]).norm();
  return s;
}

SliceStatistics slice_statistics(const Slice3d& slice) {
  return statistics(slice.polyhedra, slice.box_volume, [](const SlicePolyhedron& p) { return p.volume; });
}

}  // namespace tessera
