#include "export/slice_export.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "export/canvas.hpp"
#include "export/palette.hpp"

namespace tessera {

namespace {

struct Layout {
  int plot_w, plot_h, legend, top;
  int width() const { return plot_w + 20 + legend; }
  int height() const { return plot_h + top + 30; }
};

Layout layout_for(const SliceWindow& w, Colouring colouring, int width, const std::string& title) {
  Layout l;
  l.plot_w = width;
  l.plot_h = std::max(50, static_cast<int>(std::lround(width * (w.v1 - w.v0) / (w.u1 - w.u0))));
  l.legend = colouring == Colouring::Region ? 0 : 80;
  l.top = title.empty() ? 10 : 34;
  return l;
}

int classes_of(const Slice2d& s) {
  int K = 0;
  for (const auto& p : s.polygons) K = std::max<int>(K, static_cast<int>(p.logits.rows()));
  return K;
}

void draw_slice(Canvas& c, const Layout& l, const Slice2d& s, const SliceWindow& w, Colouring colouring,
                const std::string& title) {
  auto X = [&](double u) { return 10 + (u - w.u0) / (w.u1 - w.u0) * l.plot_w; };
  auto Y = [&](double v) { return l.top + (w.v1 - v) / (w.v1 - w.v0) * l.plot_h; };
  auto points = [&](const ConvexPolygon& p) {
    Canvas::Points pts;
    for (const auto& v : p.vertices) pts.emplace_back(X(v[0]), Y(v[1]));
    return pts;
  };
  const int K = classes_of(s);
  if (!title.empty()) c.text(10, 22, title, 15);
  const double stroke =
      std::max(0.2, std::min(1.0, 400.0 / std::sqrt(static_cast<double>(s.polygons.size()) + 1) / 20));
  if (colouring == Colouring::Class) {
    // Class cells (polygons split by the decision boundary), then the region edges.
    for (const SlicePolygon& p : s.polygons) {
      if (p.class_cells.empty()) {
        const Rgb col = class_colour(p.predicted_class);
        c.polygon(points(p.polygon), &col);
      }
      for (const auto& [k, cell] : p.class_cells) {
        const Rgb col = class_colour(k);
        c.polygon(points(cell), &col);
      }
    }
    for (const SlicePolygon& p : s.polygons) c.polygon(points(p.polygon), nullptr, stroke, 0.35);
  } else {
    for (const SlicePolygon& p : s.polygons) {
      const Rgb col = colouring == Colouring::Region ? region_colour(p.pattern_hash)
                                                     : confidence_colour(p.max_confidence, K);
      c.polygon(points(p.polygon), &col, stroke, 0.35);
    }
  }
  for (const auto& seg : s.decision_boundary) c.line(X(seg[0][0]), Y(seg[0][1]), X(seg[1][0]), Y(seg[1][1]), 2);
  char caption[160];
  std::snprintf(caption, sizeof caption, "u %g .. %g,  v %g .. %g,  %zu regions%s", w.u0, w.u1, w.v0, w.v1,
                s.polygons.size(), s.complete ? "" : " (partial)");
  c.text(10, l.top + l.plot_h + 20, caption, 12);
  const int x0 = l.plot_w + 25;
  if (colouring == Colouring::Confidence) {
    // The colour bar spans [1/K, 1], as the colours do.
    const double h = l.plot_h, floor = K > 1 ? 1.0 / K : 0.0;
    for (int i = 0; i < 50; ++i) c.rect(x0, l.top + h * (49 - i) / 50.0, 16, h / 50.0 + 0.5, viridis(i / 49.0));
    char lo[32];
    std::snprintf(lo, sizeof lo, "%.3g", floor);
    c.text(x0 + 20, l.top + 10, "1", 12);
    c.text(x0 + 20, l.top + h, K > 1 ? lo : "0", 12);
    c.text(x0, l.top + h + 20, "max conf", 12);
  } else if (colouring == Colouring::Class) {
    for (int k = 0; k < std::min(K, 10); ++k) {
      c.rect(x0, l.top + 20 * k, 14, 14, class_colour(k));
      c.text(x0 + 20, l.top + 20 * k + 12, "class " + std::to_string(k), 12);
    }
  }
}

std::string draw(PictureFormat format, const Slice2d& s, const SliceWindow& w, Colouring colouring, int width,
                 const std::string& title) {
  const Layout l = layout_for(w, colouring, width, title);
  Canvas c(format, l.width(), l.height());
  draw_slice(c, l, s, w, colouring, title);
  return c.finish();
}

}  // namespace

std::string slice_to_svg(const Slice2d& s, const SliceWindow& w, SliceColouring colouring, int width,
                         const std::string& title) {
  return draw(PictureFormat::Svg, s, w, colouring, width, title);
}

std::string slice_to_png(const Slice2d& s, const SliceWindow& w, SliceColouring colouring, int width,
                         const std::string& title) {
  return draw(PictureFormat::Png, s, w, colouring, width, title);
}

namespace {

// One cell-data array of a .vtp file (every value fits a double exactly).
struct CellArray {
  const char* type;
  const char* name;
  std::vector<double> values;
};

// VTK XML PolyData, ASCII: one polygon cell per entry of `polygons`.
std::string polydata_xml(const std::vector<const std::vector<Eigen::Vector3d>*>& polygons,
                         const std::vector<CellArray>& arrays) {
  std::size_t points = 0;
  for (const auto* p : polygons) points += p->size();
  std::ostringstream o;
  o.precision(17);
  o << "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"0.1\" byte_order=\"LittleEndian\">\n<PolyData>\n"
    << "<Piece NumberOfPoints=\"" << points << "\" NumberOfVerts=\"0\" NumberOfLines=\"0\" NumberOfStrips=\"0\" "
    << "NumberOfPolys=\"" << polygons.size() << "\">\n<Points>\n"
    << "<DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">\n";
  for (const auto* p : polygons)
    for (const auto& v : *p) o << v[0] << " " << v[1] << " " << v[2] << "\n";
  o << "</DataArray>\n</Points>\n<Polys>\n<DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">\n";
  std::size_t next = 0;
  for (const auto* p : polygons) {
    for (size_t i = 0; i < p->size(); ++i) o << next++ << " ";
    o << "\n";
  }
  o << "</DataArray>\n<DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">\n";
  next = 0;
  for (const auto* p : polygons) o << (next += p->size()) << "\n";
  o << "</DataArray>\n</Polys>\n<CellData Scalars=\"class\">\n";
  for (const CellArray& a : arrays) {
    o << "<DataArray type=\"" << a.type << "\" Name=\"" << a.name << "\" format=\"ascii\">\n";
    for (double v : a.values) o << v << "\n";
    o << "</DataArray>\n";
  }
  o << "</CellData>\n</Piece>\n</PolyData>\n</VTKFile>\n";
  return o.str();
}

}  // namespace

std::string slice_to_vtp(const Slice2d& s) {
  std::vector<std::vector<Eigen::Vector3d>> points(s.polygons.size());
  std::vector<const std::vector<Eigen::Vector3d>*> polys;
  std::vector<CellArray> arrays = {{"Int64", "region_id", {}},      {"UInt32", "pattern_hash_hi", {}},
                                   {"UInt32", "pattern_hash_lo", {}}, {"Int32", "class", {}},
                                   {"Float64", "confidence_min", {}}, {"Float64", "confidence_max", {}},
                                   {"Float64", "area", {}}};
  for (size_t i = 0; i < s.polygons.size(); ++i) {
    const SlicePolygon& p = s.polygons[i];
    for (const auto& v : p.polygon.vertices) points[i].emplace_back(v[0], v[1], 0.0);
    polys.push_back(&points[i]);
    const double values[] = {static_cast<double>(i), static_cast<double>(p.pattern_hash >> 32),
                             static_cast<double>(p.pattern_hash & 0xffffffffu), static_cast<double>(p.predicted_class),
                             p.min_confidence, p.max_confidence, p.area};
    for (size_t k = 0; k < arrays.size(); ++k) arrays[k].values.push_back(values[k]);
  }
  return polydata_xml(polys, arrays);
}

std::string slice_to_vtp(const Slice3d& s) {
  std::vector<const std::vector<Eigen::Vector3d>*> faces;
  std::vector<CellArray> arrays = {{"Int64", "region_id", {}},       {"UInt32", "pattern_hash_hi", {}},
                                   {"UInt32", "pattern_hash_lo", {}}, {"Int32", "class", {}},
                                   {"Float64", "volume", {}}};
  for (size_t i = 0; i < s.polyhedra.size(); ++i) {
    const SlicePolyhedron& p = s.polyhedra[i];
    for (const auto& f : p.cell.faces) {
      faces.push_back(&f.vertices);
      const double values[] = {static_cast<double>(i), static_cast<double>(p.pattern_hash >> 32),
                               static_cast<double>(p.pattern_hash & 0xffffffffu),
                               static_cast<double>(p.predicted_class), p.volume};
      for (size_t k = 0; k < arrays.size(); ++k) arrays[k].values.push_back(values[k]);
    }
  }
  return polydata_xml(faces, arrays);
}

}  // namespace tessera
