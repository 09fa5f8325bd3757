#include "export/slice_stats.hpp"

#include <algorithm>
#include <vector>

namespace tessera {

namespace {
void sizes(SliceStatistics& s, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  s.min_size = v.front();
  s.median_size = v[v.size() / 2];
  s.max_size = v.back();
}
}  // namespace

SliceStatistics slice_statistics(const Slice2d& slice) {
  SliceStatistics s;
  s.regions = slice.polygons.size();
  s.measure = slice.window_area;
  s.density = s.measure > 0 ? static_cast<double>(s.regions) / s.measure : 0;
  std::vector<double> areas;
  for (const auto& p : slice.polygons) {
    areas.push_back(p.area);
    s.class_share[p.predicted_class] += s.measure > 0 ? p.area / s.measure : 0;
  }
  sizes(s, std::move(areas));
  for (const auto& seg : slice.decision_boundary) s.decision_boundary_length += (seg[1] - seg[0]).norm();
  return s;
}

SliceStatistics slice_statistics(const Slice3d& slice) {
  SliceStatistics s;
  s.regions = slice.polyhedra.size();
  s.measure = slice.box_volume;
  s.density = s.measure > 0 ? static_cast<double>(s.regions) / s.measure : 0;
  std::vector<double> volumes;
  for (const auto& p : slice.polyhedra) {
    volumes.push_back(p.volume);
    s.class_share[p.predicted_class] += s.measure > 0 ? p.volume / s.measure : 0;
  }
  sizes(s, std::move(volumes));
  return s;
}

}  // namespace tessera
