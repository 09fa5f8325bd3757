#include "regions/slice_3d.hpp"

#include <omp.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/layer_slicer.hpp"

namespace tessera {

namespace {
struct Geometry3 {
  using Cell = ConvexPolyhedron;
  using Point = Eigen::Vector3d;
  static constexpr int D = 3;
  // c is discarded after a successful split: its faces may be taken.
  static bool split(Cell& c, const Eigen::Vector4d& a, long label, Cell* pos, Cell* neg, int* side, double tol) {
    return split_polyhedron_taking(c, a, label, pos, neg, side, tol);
  }
  static Point centroid(const Cell& c) { return c.centroid(); }
  static void bounds(const Cell& c, Point* lo, Point* hi) {
    *lo = *hi = Point(0, 0, 0);
    bool first = true;
    for (const auto& f : c.faces)
      for (const Point& v : f.vertices) {
        *lo = first ? v : Point(lo->cwiseMin(v));
        *hi = first ? v : Point(hi->cwiseMax(v));
        first = false;
      }
  }
};
}  // namespace

Slice3d slice_regions_3d(const Network& net, const Plane3d& s, const SliceBox& box, const SliceOptions& o) {
  check_input(s.origin, net.input_size(), "slice origin");
  check_input(s.e1, net.input_size(), "slice direction e1");
  check_input(s.e2, net.input_size(), "slice direction e2");
  check_input(s.e3, net.input_size(), "slice direction e3");
  Matrix E(net.input_size(), 3);
  E << s.e1, s.e2, s.e3;
  if (s.e1.isZero(0.0) || s.e2.isZero(0.0) || s.e3.isZero(0.0)) throw Error("slice: a direction (e1, e2 or e3) is zero");
  {
    Eigen::JacobiSVD<Matrix> svd(E);
    const Vector sv = svd.singularValues();
    if (sv[2] <= 1e-12 * sv[0]) throw Error("slice: e1, e2 and e3 are linearly dependent, so they span no 3-D slice");
  }
  for (int i = 0; i < 3; ++i)
    if (!std::isfinite(box.lo[i]) || !std::isfinite(box.hi[i]) || !(box.lo[i] < box.hi[i]))
      throw Error("slice: the box is empty, inverted or not finite (need lo < hi in every coordinate)");
  if (o.max_regions == 0) throw Error("slice: the region limit must be positive");

  check_memory(detail::LayerSlicer<Geometry3>::estimated_bytes(net, omp_get_max_threads()),
               "the slice of " + (net.source.empty() ? std::string("the model") : net.source));
  detail::LayerSlicer<Geometry3> slicer(net, o);
  ConvexPolyhedron start;
  start = ConvexPolyhedron::box(box.lo, box.hi);
  double clipped_volume = -1;
  if (o.box_lower.size()) {
    if (o.box_lower.size() != net.input_size() || o.box_upper.size() != net.input_size())
      throw Error("slice: the input box has " + std::to_string(o.box_lower.size()) + " intervals but the network has " +
                  std::to_string(net.input_size()) + " inputs");
    // lo_i <= origin_i + E_i (u, v, w) <= hi_i: two half-spaces a coordinate
    // (border label -1).
    bool empty = false;
    auto keep = [&](const Eigen::Vector4d& a) {
      ConvexPolyhedron pos, neg;
      int side = 0;
      if (split_polyhedron(start, a, -1, &pos, &neg, &side, detail::kCutTol))
        start = std::move(pos);
      else if (side < 0)
        empty = true;
    };
    for (Eigen::Index i = 0; i < net.input_size() && !empty; ++i) {
      const Eigen::Vector4d a(E(i, 0), E(i, 1), E(i, 2), s.origin[i]);
      keep(a - Eigen::Vector4d(0, 0, 0, o.box_lower[i]));
      if (!empty) keep(Eigen::Vector4d(0, 0, 0, o.box_upper[i]) - a);
    }
    if (empty)
      throw Error("slice: the 3-D window does not meet the input box (no point of it has every input within its bounds)");
    clipped_volume = start.volume();
  }
  Matrix input(net.input_size(), 4);
  input.leftCols(3) = E;
  input.col(3) = s.origin;
  Slice3d out;
  out.box_volume = clipped_volume >= 0 ? clipped_volume : (box.hi - box.lo).prod();
  auto cells = slicer.run(std::move(start), std::move(input), &out.stop_reason);
  out.complete = out.stop_reason.empty();
  out.polyhedra.resize(cells.size());
  // Each cell's volume and width (3 volume / surface), in parallel: the
  // cells are independent, and the smallest width is taken in order after.
  std::vector<double> width(cells.size(), std::numeric_limits<double>::infinity());
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < cells.size(); ++i) {
    SlicePolyhedron& p = out.polyhedra[i];
    p.cell = std::move(cells[i].cell);
    p.pattern_hash = cells[i].pattern_hash;
    p.pattern = std::move(cells[i].pattern);
    p.logits = std::move(cells[i].logits);
    p.predicted_class = cells[i].predicted_class;
    p.volume = p.cell.volume();
    const double surface = p.cell.surface_area();
    if (surface > 0) width[i] = 3 * p.volume / surface;
  }
  double smallest = std::numeric_limits<double>::infinity();
  for (double w : width) smallest = std::min(smallest, w);
  double far = 0, narrow = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 3; ++i) {
    far = std::max({far, std::abs(box.lo[i]), std::abs(box.hi[i])});
    narrow = std::min(narrow, box.hi[i] - box.lo[i]);
  }
  out.precision_warning = detail::precision_warning(far, narrow, smallest);
  return out;
}

}  // namespace tessera
