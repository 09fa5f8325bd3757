#include "regions/slice_export.hpp"

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

}  // namespace

std::string slice_to_svg(const Slice2d& s, const SliceWindow& w, SliceColouring colouring, int width,
                         const std::string& title) {
  const double aspect = (w.v1 - w.v0) / (w.u1 - w.u0);
  const int plot_w = width, plot_h = std::max(50, static_cast<int>(std::lround(width * aspect)));
  const int legend = colouring == SliceColouring::Region ? 0 : 70;
  const int top = title.empty() ? 10 : 34;
  auto X = [&](double u) { return 10 + (u - w.u0) / (w.u1 - w.u0) * plot_w; };
  auto Y = [&](double v) { return top + (w.v1 - v) / (w.v1 - w.v0) * plot_h; };
  std::ostringstream o;
  o.precision(6);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << plot_w + 20 + legend << "\" height=\"" << plot_h + top + 30
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty()) o << "<text x=\"10\" y=\"22\" font-size=\"15\">" << escape(title) << "</text>\n";
  const double stroke = std::max(0.2, std::min(1.0, 400.0 / std::sqrt(static_cast<double>(s.polygons.size()) + 1) / 20));
  o << "<g stroke=\"#333\" stroke-opacity=\"0.35\" stroke-width=\"" << stroke << "\">\n";
  if (colouring == SliceColouring::Class) {
    // Class cells (polygons split by the decision boundary) without strokes,
    // then the region edges on top.
    o << "</g>\n<g stroke=\"none\">\n";
    for (const SlicePolygon& p : s.polygons) {
      const auto draw = [&](int k, const ConvexPolygon& poly) {
        o << "<polygon fill=\"" << hex(class_colour(k)) << "\" points=\"";
        for (const auto& v : poly.vertices) o << X(v[0]) << "," << Y(v[1]) << " ";
        o << "\"/>\n";
      };
      if (p.class_cells.empty()) draw(p.predicted_class, p.polygon);
      for (const auto& [k, cell] : p.class_cells) draw(k, cell);
    }
    o << "</g>\n<g stroke=\"#333\" stroke-opacity=\"0.35\" stroke-width=\"" << stroke << "\" fill=\"none\">\n";
  }
  for (const SlicePolygon& p : s.polygons) {
    Rgb c{};
    switch (colouring) {
      case SliceColouring::Region: c = region_colour(p.pattern_hash); break;
      case SliceColouring::Class: c = class_colour(p.predicted_class); break;
      case SliceColouring::Confidence: c = viridis(p.max_confidence); break;
    }
    o << "<polygon fill=\"" << (colouring == SliceColouring::Class ? std::string("none") : hex(c)) << "\" points=\"";
    for (const auto& v : p.polygon.vertices) o << X(v[0]) << "," << Y(v[1]) << " ";
    o << "\"/>\n";
  }
  o << "</g>\n<g stroke=\"black\" stroke-width=\"2\" stroke-linecap=\"round\">\n";
  for (const auto& seg : s.decision_boundary)
    o << "<line x1=\"" << X(seg[0][0]) << "\" y1=\"" << Y(seg[0][1]) << "\" x2=\"" << X(seg[1][0]) << "\" y2=\""
      << Y(seg[1][1]) << "\"/>\n";
  o << "</g>\n";
  // Axes labels: the window.
  o << "<text x=\"10\" y=\"" << top + plot_h + 20 << "\">u " << w.u0 << " .. " << w.u1 << ",  v " << w.v0 << " .. " << w.v1
    << ",  " << s.polygons.size() << " regions" << (s.complete ? "" : " (partial)") << "</text>\n";
  if (colouring == SliceColouring::Confidence) {
    const int x0 = plot_w + 25, h = plot_h;
    for (int i = 0; i < 50; ++i)
      o << "<rect x=\"" << x0 << "\" y=\"" << top + h * (49 - i) / 50.0 << "\" width=\"16\" height=\"" << h / 50.0 + 0.5
        << "\" fill=\"" << hex(viridis(i / 49.0)) << "\"/>\n";
    o << "<text x=\"" << x0 + 20 << "\" y=\"" << top + 10 << "\">1</text><text x=\"" << x0 + 20 << "\" y=\"" << top + h
      << "\">0</text><text x=\"" << x0 << "\" y=\"" << top + h + 20 << "\">max conf</text>\n";
  } else if (colouring == SliceColouring::Class) {
    int K = 0;
    for (const auto& p : s.polygons) K = std::max(K, p.predicted_class + 1);
    for (int k = 0; k < std::min(K, 10); ++k)
      o << "<rect x=\"" << plot_w + 25 << "\" y=\"" << top + 20 * k << "\" width=\"14\" height=\"14\" fill=\""
        << hex(class_colour(k)) << "\"/><text x=\"" << plot_w + 45 << "\" y=\"" << top + 20 * k + 12 << "\">class " << k
        << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace tessera
