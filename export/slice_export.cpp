#include "export/slice_export.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tessera {

namespace {

struct Rgb {
  double r, g, b;
};

// Viridis, sampled at 9 points and interpolated linearly.
Rgb viridis(double t) {
  static const Rgb stops[] = {{0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
                              {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
                              {0.135, 0.659, 0.518}, {0.267, 0.749, 0.441}, {0.478, 0.821, 0.318},
                              {0.741, 0.873, 0.150}, {0.993, 0.906, 0.144}};
  const int n = sizeof stops / sizeof stops[0];
  t = std::clamp(t, 0.0, 1.0) * (n - 1);
  const int i = std::min(static_cast<int>(t), n - 2);
  const double f = t - i;
  return {stops[i].r + f * (stops[i + 1].r - stops[i].r), stops[i].g + f * (stops[i + 1].g - stops[i].g),
          stops[i].b + f * (stops[i + 1].b - stops[i].b)};
}

// Ten well-separated class colours (Tableau 10).
Rgb class_colour(int k) {
  static const Rgb c[] = {{0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
                          {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
                          {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}};
  return c[((k % 10) + 10) % 10];
}

// A light colour per pattern hash (golden-angle hues).
Rgb region_colour(std::uint64_t h) {
  const double hue = std::fmod(static_cast<double>(h % 1000003) * 0.618033988749895, 1.0) * 6.0;
  const double s = 0.45, v = 0.95, c = v * s, x = c * (1 - std::abs(std::fmod(hue, 2.0) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hue)) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
  }
  return {r + m, g + m, b + m};
}

std::string hex(const Rgb& c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(255 * c.r)),
                static_cast<int>(std::lround(255 * c.g)), static_cast<int>(std::lround(255 * c.b)));
  return buf;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '<') o += "&lt;";
    else if (ch == '>') o += "&gt;";
    else if (ch == '&') o += "&amp;";
    else o += ch;
  }
  return o;
}

// A drawing surface: the slice picture is drawn once, onto SVG text or a
// Cairo image.
class Canvas {
 public:
  virtual ~Canvas() = default;
  // Filled polygon (fill may be null: outline only); stroke_width 0: none.
  virtual void polygon(const std::vector<std::pair<double, double>>& pts, const Rgb* fill, double stroke_width,
                       double stroke_opacity) = 0;
  virtual void line(double x1, double y1, double x2, double y2, double width) = 0;
  virtual void rect(double x, double y, double w, double h, const Rgb& fill) = 0;
  virtual void text(double x, double y, const std::string& s, double size) = 0;
};

class SvgCanvas : public Canvas {
 public:
  SvgCanvas(int w, int h) {
    o_.precision(6);
    o_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
       << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }
  void polygon(const std::vector<std::pair<double, double>>& pts, const Rgb* fill, double sw, double so) override {
    o_ << "<polygon fill=\"" << (fill ? hex(*fill) : "none") << "\"";
    if (sw > 0) o_ << " stroke=\"#333\" stroke-opacity=\"" << so << "\" stroke-width=\"" << sw << "\"";
    o_ << " points=\"";
    for (const auto& [x, y] : pts) o_ << x << "," << y << " ";
    o_ << "\"/>\n";
  }
  void line(double x1, double y1, double x2, double y2, double w) override {
    o_ << "<line stroke=\"black\" stroke-linecap=\"round\" stroke-width=\"" << w << "\" x1=\"" << x1 << "\" y1=\""
       << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\"/>\n";
  }
  void rect(double x, double y, double w, double h, const Rgb& fill) override {
    o_ << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << h << "\" fill=\"" << hex(fill)
       << "\"/>\n";
  }
  void text(double x, double y, const std::string& s, double size) override {
    o_ << "<text x=\"" << x << "\" y=\"" << y << "\" font-size=\"" << size << "\">" << escape(s) << "</text>\n";
  }
  std::string finish() {
    o_ << "</svg>\n";
    return o_.str();
  }

 private:
  std::ostringstream o_;
};

class CairoCanvas : public Canvas {
 public:
  CairoCanvas(int w, int h)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h)), cr_(cairo_create(surface_)) {
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_paint(cr_);
    cairo_select_font_face(cr_, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  }
  ~CairoCanvas() override {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  void polygon(const std::vector<std::pair<double, double>>& pts, const Rgb* fill, double sw, double so) override {
    if (pts.empty()) return;
    cairo_move_to(cr_, pts[0].first, pts[0].second);
    for (size_t i = 1; i < pts.size(); ++i) cairo_line_to(cr_, pts[i].first, pts[i].second);
    cairo_close_path(cr_);
    if (fill) {
      cairo_set_source_rgb(cr_, fill->r, fill->g, fill->b);
      if (sw > 0)
        cairo_fill_preserve(cr_);
      else
        cairo_fill(cr_);
    }
    if (sw > 0) {
      cairo_set_source_rgba(cr_, 0.2, 0.2, 0.2, so);
      cairo_set_line_width(cr_, sw);
      cairo_stroke(cr_);
    }
    cairo_new_path(cr_);
  }
  void line(double x1, double y1, double x2, double y2, double w) override {
    cairo_set_source_rgb(cr_, 0, 0, 0);
    cairo_set_line_width(cr_, w);
    cairo_set_line_cap(cr_, CAIRO_LINE_CAP_ROUND);
    cairo_move_to(cr_, x1, y1);
    cairo_line_to(cr_, x2, y2);
    cairo_stroke(cr_);
  }
  void rect(double x, double y, double w, double h, const Rgb& fill) override {
    cairo_set_source_rgb(cr_, fill.r, fill.g, fill.b);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_fill(cr_);
  }
  void text(double x, double y, const std::string& s, double size) override {
    cairo_set_source_rgb(cr_, 0, 0, 0);
    cairo_set_font_size(cr_, size);
    cairo_move_to(cr_, x, y);
    cairo_show_text(cr_, s.c_str());
  }
  std::string finish() {
    cairo_surface_flush(surface_);
    std::string bytes;
    cairo_surface_write_to_png_stream(
        surface_,
        [](void* closure, const unsigned char* data, unsigned int length) {
          static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
          return CAIRO_STATUS_SUCCESS;
        },
        &bytes);
    return bytes;
  }

 private:
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

struct Layout {
  int plot_w, plot_h, legend, top;
  int width() const { return plot_w + 20 + legend; }
  int height() const { return plot_h + top + 30; }
};

Layout layout_for(const SliceWindow& w, SliceColouring colouring, int width, const std::string& title) {
  Layout l;
  l.plot_w = width;
  l.plot_h = std::max(50, static_cast<int>(std::lround(width * (w.v1 - w.v0) / (w.u1 - w.u0))));
  l.legend = colouring == SliceColouring::Region ? 0 : 80;
  l.top = title.empty() ? 10 : 34;
  return l;
}

void draw_slice(Canvas& c, const Layout& l, const Slice2d& s, const SliceWindow& w, SliceColouring colouring,
                const std::string& title) {
  auto X = [&](double u) { return 10 + (u - w.u0) / (w.u1 - w.u0) * l.plot_w; };
  auto Y = [&](double v) { return l.top + (w.v1 - v) / (w.v1 - w.v0) * l.plot_h; };
  auto points = [&](const ConvexPolygon& p) {
    std::vector<std::pair<double, double>> pts;
    for (const auto& v : p.vertices) pts.emplace_back(X(v[0]), Y(v[1]));
    return pts;
  };
  if (!title.empty()) c.text(10, 22, title, 15);
  const double stroke =
      std::max(0.2, std::min(1.0, 400.0 / std::sqrt(static_cast<double>(s.polygons.size()) + 1) / 20));
  if (colouring == SliceColouring::Class) {
    // Class cells (polygons split by the decision boundary), then the region edges.
    for (const SlicePolygon& p : s.polygons) {
      if (p.class_cells.empty()) {
        const Rgb col = class_colour(p.predicted_class);
        c.polygon(points(p.polygon), &col, 0, 0);
      }
      for (const auto& [k, cell] : p.class_cells) {
        const Rgb col = class_colour(k);
        c.polygon(points(cell), &col, 0, 0);
      }
    }
    for (const SlicePolygon& p : s.polygons) c.polygon(points(p.polygon), nullptr, stroke, 0.35);
  } else {
    for (const SlicePolygon& p : s.polygons) {
      const Rgb col = colouring == SliceColouring::Region ? region_colour(p.pattern_hash) : viridis(p.max_confidence);
      c.polygon(points(p.polygon), &col, stroke, 0.35);
    }
  }
  for (const auto& seg : s.decision_boundary) c.line(X(seg[0][0]), Y(seg[0][1]), X(seg[1][0]), Y(seg[1][1]), 2);
  char caption[160];
  std::snprintf(caption, sizeof caption, "u %g .. %g,  v %g .. %g,  %zu regions%s", w.u0, w.u1, w.v0, w.v1,
                s.polygons.size(), s.complete ? "" : " (partial)");
  c.text(10, l.top + l.plot_h + 20, caption, 12);
  const int x0 = l.plot_w + 25;
  if (colouring == SliceColouring::Confidence) {
    const double h = l.plot_h;
    for (int i = 0; i < 50; ++i) c.rect(x0, l.top + h * (49 - i) / 50.0, 16, h / 50.0 + 0.5, viridis(i / 49.0));
    c.text(x0 + 20, l.top + 10, "1", 12);
    c.text(x0 + 20, l.top + h, "0", 12);
    c.text(x0, l.top + h + 20, "max conf", 12);
  } else if (colouring == SliceColouring::Class) {
    int K = 0;
    for (const auto& p : s.polygons) K = std::max(K, p.predicted_class + 1);
    for (const auto& p : s.polygons)
      for (const auto& cell : p.class_cells) K = std::max(K, cell.first + 1);
    for (int k = 0; k < std::min(K, 10); ++k) {
      c.rect(x0, l.top + 20 * k, 14, 14, class_colour(k));
      c.text(x0 + 20, l.top + 20 * k + 12, "class " + std::to_string(k), 12);
    }
  }
}

}  // namespace

std::string slice_to_svg(const Slice2d& s, const SliceWindow& w, SliceColouring colouring, int width,
                         const std::string& title) {
  const Layout l = layout_for(w, colouring, width, title);
  SvgCanvas c(l.width(), l.height());
  draw_slice(c, l, s, w, colouring, title);
  return c.finish();
}

std::string slice_to_png(const Slice2d& s, const SliceWindow& w, SliceColouring colouring, int width,
                         const std::string& title) {
  const Layout l = layout_for(w, colouring, width, title);
  CairoCanvas c(l.width(), l.height());
  draw_slice(c, l, s, w, colouring, title);
  return c.finish();
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
