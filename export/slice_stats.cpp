#include "export/slice_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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

double confidence_nines(const Vector& z) {
  if (z.size() < 2) return 0;
  Eigen::Index top = 0;
  const double m = z.maxCoeff(&top);
  // 1 - p = sum_{k != top} e^{z_k} / sum_k e^{z_k}, both sums taken relative to the max.
  double rest = 0;
  for (Eigen::Index k = 0; k < z.size(); ++k)
    if (k != top) rest += std::exp(z[k] - m);
  if (rest == 0) return std::numeric_limits<double>::infinity();
  return -(std::log(rest) - std::log1p(rest)) / std::log(10.0);
}

double centroid_nines(const SlicePolygon& p) {
  const Eigen::Vector2d c = p.polygon.centroid();
  return confidence_nines(p.logits * Eigen::Vector3d(c.x(), c.y(), 1));
}

double ShadeScale::shade(double nines) const {
  const double t = (nines - lo) / (hi - lo);
  return t <= 0 ? 0 : t >= 1 ? 1 : t;  // NaN: palest
}

std::string confidence_label(double nines, const std::string& minus) {
  char buf[48];
  if (nines >= 5) {
    std::snprintf(buf, sizeof buf, "%.2g", std::pow(10.0, -nines));
    return "1" + minus + buf;
  }
  const int digits = std::clamp(static_cast<int>(std::ceil(nines)) + 1, 2, 15);
  std::snprintf(buf, sizeof buf, "%.*f", digits, 1 - std::pow(10.0, -nines));
  return buf;
}

ShadeScale shade_scale(const Slice2d& slice) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const SlicePolygon& p : slice.polygons) {
    const double n = centroid_nines(p);
    if (!std::isfinite(n)) continue;
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  if (!(lo <= hi)) return {};
  if (hi - lo < 0.5) {
    const double mid = 0.5 * (lo + hi);
    lo = std::max(0.0, mid - 0.25);
    hi = lo + 0.5;
  }
  return {lo, hi};
}

std::vector<Rgb> polygon_colours(const Slice2d& slice, Colouring colouring, int classes) {
  if (classes <= 0) classes = slice_classes(slice);
  const ShadeScale scale = colouring == Colouring::Shaded ? shade_scale(slice) : ShadeScale{};
  std::vector<Rgb> out;
  out.reserve(slice.polygons.size());
  for (const SlicePolygon& p : slice.polygons) {
    const double shade = colouring == Colouring::Shaded ? scale.shade(centroid_nines(p)) : 1.0;
    out.push_back(slice_region_colour(colouring, p.pattern_hash, p.predicted_class, p.max_confidence, classes, shade));
  }
  return out;
}

SliceStatistics slice_statistics(const Slice3d& slice) {
  return statistics(slice.polyhedra, slice.box_volume, [](const SlicePolyhedron& p) { return p.volume; });
}

}  // namespace tessera
