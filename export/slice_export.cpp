#include "export/slice_export.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "export/canvas.hpp"
#include "export/palette.hpp"
#include "export/slice_stats.hpp"

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

void draw_slice(Canvas& c, const Layout& l, const Slice2d& s, const SliceWindow& w, Colouring colouring,
                const std::string& title) {
  auto X = [&](double u) { return 10 + (u - w.u0) / (w.u1 - w.u0) * l.plot_w; };
  auto Y = [&](double v) { return l.top + (w.v1 - v) / (w.v1 - w.v0) * l.plot_h; };
  auto points = [&](const ConvexPolygon& p) {
    Canvas::Points pts;
    for (const auto& v : p.vertices) pts.emplace_back(X(v[0]), Y(v[1]));
    return pts;
  };
  const int K = slice_classes(s);
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
    const std::vector<Rgb> colours = polygon_colours(s, colouring, K);
    for (std::size_t i = 0; i < s.polygons.size(); ++i) c.polygon(points(s.polygons[i].polygon), &colours[i], stroke, 0.35);
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
  } else if (colouring == Colouring::Shaded) {
    // Class swatches, then the shade ramp of the largest class as confidence.
    for (int k = 0; k < std::min(K, 10); ++k) {
      c.rect(x0, l.top + 18 * k, 12, 12, class_colour(k));
      c.text(x0 + 16, l.top + 18 * k + 11, "class " + std::to_string(k), 11);
    }
    const ShadeScale sc = shade_scale(s);
    const double top = l.top + 18 * std::min(K, 10) + 16, h = std::max(40.0, l.plot_h - (top - l.top) - 30);
    int big = 0;
    double big_share = -1;
    for (const auto& [k, share] : slice_statistics(s).class_share)
      if (share > big_share) big = k, big_share = share;
    for (int i = 0; i < 40; ++i) c.rect(x0, top + h * (39 - i) / 40.0, 14, h / 40.0 + 0.5, shaded_class_colour(big, i / 39.0));
    const std::string hi = confidence_label(sc.hi), lo = confidence_label(sc.lo);
    c.text(x0 + 18, top + 9, hi, 10);
    c.text(x0 + 18, top + h, lo, 10);
    c.text(x0, top + h + 16, "confidence", 11);
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

}  // namespace tessera
