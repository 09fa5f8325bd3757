#include "gui/map_overlay.hpp"

#include <QFontMetricsF>
#include <QLinearGradient>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

namespace tessera::gui {
namespace {

QColor qcolour(const Rgb& c, int alpha = 255) { return QColor(c[0], c[1], c[2], alpha); }

QString q(const std::string& s) { return QString::fromStdString(s); }

// A tick label: short, without trailing zeros ("0.25", "1e+03").
QString tick_text(double t, double step) {
  if (t == 0) return "0";
  const double a = std::fabs(t);
  if (a >= 1e5 || a < 1e-3) return QString::number(t, 'g', 3);
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  return QString::number(t, 'f', std::min(decimals, 6));
}

// A confidence in nines, as the legends write it (with a true minus sign).
QString confidence_text(double nines) { return q(confidence_label(nines, "\u2212")); }

// Labels placed so that they do not overlap: each new one moves down until
// it is clear of those placed before.
class LabelPlacer {
 public:
  QRectF place(const QFontMetricsF& fm, const QPointF& at, const QString& text, const QRectF& bounds) {
    QRectF r(at, fm.size(0, text) + QSizeF(6, 2));
    if (r.right() > bounds.right()) r.moveRight(at.x() - 12);
    if (r.bottom() > bounds.bottom()) r.moveBottom(bounds.bottom());
    for (int tries = 0; tries < 8 && std::any_of(placed_.begin(), placed_.end(), [&](const QRectF& o) { return o.intersects(r); });
         ++tries)
      r.translate(0, r.height() + 1);
    placed_.push_back(r);
    return r;
  }

 private:
  std::vector<QRectF> placed_;
};

void label(QPainter& p, const QRectF& r, const QString& text, const QColor& colour) {
  p.setPen(Qt::NoPen);
  p.setBrush(QColor(255, 255, 255, 215));
  p.drawRoundedRect(r, 3, 3);
  p.setPen(colour);
  p.drawText(r, Qt::AlignCenter, text);
}

void outline(QPainter& p, const QRectF& plot, const SliceWindow& view, const std::vector<Eigen::Vector2d>& vertices,
             const QColor& colour, double width) {
  if (vertices.size() < 2) return;
  QPolygonF poly;
  for (const auto& v : vertices) poly << to_pixel(plot, view, v);
  p.setBrush(Qt::NoBrush);
  p.setPen(QPen(colour, width, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
  p.drawPolygon(poly);
}

// The far end of the ray from (0,0) along d, well beyond the view.
Eigen::Vector2d far_point(const SliceWindow& view, const Eigen::Vector2d& d) {
  const double reach = 4 * (std::fabs(view.u0) + std::fabs(view.u1) + std::fabs(view.v0) + std::fabs(view.v1));
  return d * (reach / std::max(1e-300, d.norm()));
}

bool visible(const SliceWindow& view, const Eigen::Vector2d& uv) {
  return uv.x() >= view.u0 && uv.x() <= view.u1 && uv.y() >= view.v0 && uv.y() <= view.v1;
}

void paint_axes(QPainter& p, const QRectF& plot, const MapOverlay& o) {
  QFont f = p.font();
  f.setPointSizeF(9);
  f.setItalic(false);
  p.setFont(f);
  const QFontMetricsF fm(f);
  const double strip_h = fm.height() * 2 + 8, strip_w = fm.horizontalAdvance("-0.000") + fm.height() + 12;
  p.setPen(Qt::NoPen);
  p.setBrush(QColor(255, 255, 255, 238));
  p.drawRect(QRectF(plot.left(), plot.bottom() - strip_h, plot.width(), strip_h));
  p.drawRect(QRectF(plot.left(), plot.top(), strip_w, plot.height() - strip_h));
  p.setPen(QPen(QColor(40, 40, 40), 1));
  const SliceWindow& w = o.view;
  const int nx = std::max(2, static_cast<int>(plot.width() / 90)), ny = std::max(2, static_cast<int>(plot.height() / 60));
  const std::vector<double> tu = nice_ticks(w.u0, w.u1, nx), tv = nice_ticks(w.v0, w.v1, ny);
  const double su = tu.size() > 1 ? tu[1] - tu[0] : 1, sv = tv.size() > 1 ? tv[1] - tv[0] : 1;
  const double y_axis = plot.bottom() - strip_h, x_axis = plot.left() + strip_w;
  p.drawLine(QPointF(x_axis, y_axis), QPointF(plot.right(), y_axis));
  p.drawLine(QPointF(x_axis, plot.top()), QPointF(x_axis, y_axis));
  for (double t : tu) {
    const double x = to_pixel(plot, w, {t, w.v0}).x();
    if (x < x_axis + 2 || x > plot.right() - 2) continue;
    p.drawLine(QPointF(x, y_axis), QPointF(x, y_axis + 5));
    const QString s = tick_text(t, su);
    p.drawText(QPointF(x - fm.horizontalAdvance(s) / 2, y_axis + 5 + fm.ascent()), s);
  }
  for (double t : tv) {
    const double y = to_pixel(plot, w, {w.u0, t}).y();
    if (y < plot.top() + 2 || y > y_axis - 2) continue;
    p.drawLine(QPointF(x_axis - 5, y), QPointF(x_axis, y));
    const QString s = tick_text(t, sv);
    p.drawText(QPointF(x_axis - 7 - fm.horizontalAdvance(s), y + fm.ascent() / 2 - 1), s);
  }
  QFont bold = f;
  bold.setBold(true);
  p.setFont(bold);
  p.drawText(QRectF(x_axis, y_axis + fm.height() + 4, plot.right() - x_axis, fm.height() + 2), Qt::AlignHCenter,
             q(o.u_label));
  p.save();
  p.translate(plot.left() + fm.height() - 2, (plot.top() + y_axis) / 2);
  p.rotate(-90);
  p.drawText(QRectF(-(y_axis - plot.top()) / 2, -fm.height(), y_axis - plot.top(), fm.height() + 2), Qt::AlignHCenter,
             q(o.v_label));
  p.restore();
  p.setFont(f);
}

void paint_legend(QPainter& p, const QRectF& plot, const MapLegend& l, double top) {
  QFont f = p.font();
  f.setPointSizeF(9);
  p.setFont(f);
  const QFontMetricsF fm(f);
  const double line = fm.height() + 3, pad = 8, swatch = fm.height() - 2;
  auto name = [&](int k) {
    return q(k >= 0 && k < static_cast<int>(l.names.size()) ? l.names[k] : "class " + std::to_string(k));
  };
  QString title;
  switch (l.colouring) {
    case Colouring::Region: title = "colour: one per region"; break;
    case Colouring::Class: title = "predicted class"; break;
    case Colouring::Confidence: title = "largest confidence"; break;
    case Colouring::Shaded: title = "class (paler: less sure)"; break;
  }
  const bool classes = l.colouring == Colouring::Class || l.colouring == Colouring::Shaded;
  const int rows = classes ? static_cast<int>(std::min<std::size_t>(l.shown.size(), 10)) : 0;
  const bool ramp = l.colouring == Colouring::Shaded || l.colouring == Colouring::Confidence;
  double width = fm.horizontalAdvance(title);
  for (int i = 0; i < rows; ++i)
    width = std::max(width, swatch + 6 + fm.horizontalAdvance(name(l.shown[i].first) + QString("  100%")));
  if (ramp) width = std::max(width, 150.0);
  const double height = line * (1 + rows + (l.shown.size() > 10 ? 1 : 0)) + (ramp ? 3.6 * line : 0) + 2 * pad - 3;
  const QRectF box(plot.right() - width - 2 * pad - 8, top, width + 2 * pad, height);
  p.setPen(QPen(QColor(150, 150, 150), 1));
  p.setBrush(QColor(255, 255, 255, 230));
  p.drawRoundedRect(box, 4, 4);
  double y = box.top() + pad;
  QFont bold = f;
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(Qt::black);
  p.drawText(QPointF(box.left() + pad, y + fm.ascent()), title);
  p.setFont(f);
  y += line;
  for (int i = 0; i < rows; ++i) {
    const auto [k, share] = l.shown[i];
    p.setPen(QPen(QColor(60, 60, 60), 0.8));
    p.setBrush(qcolour(class_colour(k)));
    p.drawRect(QRectF(box.left() + pad, y + 1, swatch, swatch));
    p.setPen(Qt::black);
    p.drawText(QPointF(box.left() + pad + swatch + 6, y + fm.ascent()),
               name(k) + QString("  %1%").arg(100 * share, 0, 'f', share < 0.1 ? 1 : 0));
    y += line;
  }
  if (l.shown.size() > 10) {
    p.drawText(QPointF(box.left() + pad, y + fm.ascent()), QString("… %1 more").arg(l.shown.size() - 10));
    y += line;
  }
  if (!ramp) return;
  p.drawText(QPointF(box.left() + pad, y + fm.ascent()), l.colouring == Colouring::Shaded ? "confidence (shade)" : "confidence");
  y += line;
  const QRectF bar(box.left() + pad, y + 2, box.width() - 2 * pad, line);
  QLinearGradient g(bar.topLeft(), bar.topRight());
  for (int i = 0; i <= 16; ++i) {
    const double t = i / 16.0;
    g.setColorAt(t, qcolour(l.colouring == Colouring::Shaded ? shaded_class_colour(l.shade_class, t) : viridis(t)));
  }
  p.setPen(QPen(QColor(60, 60, 60), 0.8));
  p.setBrush(g);
  p.drawRect(bar);
  p.setPen(Qt::black);
  QString lo, hi;
  if (l.colouring == Colouring::Shaded) {
    lo = confidence_text(l.shade.lo);
    hi = confidence_text(l.shade.hi);
  } else {
    lo = QString::number(l.classes > 1 ? 1.0 / l.classes : 0.0, 'g', 3);
    hi = "1";
  }
  const double ty = bar.bottom() + fm.ascent() + 1;
  p.drawText(QPointF(bar.left(), ty), lo);
  p.drawText(QPointF(bar.right() - fm.horizontalAdvance(hi), ty), hi);
}

}  // namespace

QPointF to_pixel(const QRectF& plot, const SliceWindow& v, const Eigen::Vector2d& uv) {
  return {plot.left() + (uv.x() - v.u0) / (v.u1 - v.u0) * plot.width(),
          plot.top() + (v.v1 - uv.y()) / (v.v1 - v.v0) * plot.height()};
}

MapRay map_ray(const RayView& ray, const Eigen::Vector2d& uv, double alpha) {
  MapRay r;
  r.direction = uv;
  r.alpha = alpha;
  const auto& segs = ray.traversal.segments;
  for (std::size_t i = 1; i < segs.size(); ++i) r.crossings.push_back(segs[i].t_begin);
  if (ray.certificate.last_region_found) r.last_region_alpha = ray.certificate.last_region_alpha;
  r.alpha_star = ray.certificate.alpha_star.value;
  return r;
}

void describe_slice(MapOverlay& o, const SliceFrame& frame, const Slice2d* slice, Colouring colouring, int classes,
                    const std::vector<std::string>& names) {
  o.u_label = frame.u_label;
  o.v_label = frame.v_label;
  o.landmarks = frame.landmarks;
  o.legend.reset();
  o.partial.clear();
  if (!slice) return;
  o.legend = make_legend(*slice, colouring, classes, names);
  if (!slice->complete)
    o.partial = std::to_string(slice->polygons.size()) + " regions; " + slice->stop_reason;
}

void set_pick(MapOverlay& o, const Slice2d* slice, const std::optional<Eigen::Vector2d>& picked) {
  o.picked = picked;
  o.picked_region.clear();
  if (!slice || !picked) return;
  const int i = polygon_at(*slice, picked->x(), picked->y());
  if (i >= 0) o.picked_region = slice->polygons[i].polygon.vertices;
}

void set_ray(MapOverlay& o, const Slice2d* slice, const RayView* ray, const std::optional<Eigen::Vector2d>& uv, double alpha) {
  o.ray.reset();
  o.ray_region.clear();
  if (!ray || !uv) return;
  o.ray = map_ray(*ray, *uv, alpha);
  // The region of alpha*x, as the map has it (where the map was computed).
  if (!slice) return;
  const Eigen::Vector2d at = alpha * *uv;
  const int i = polygon_at(*slice, at.x(), at.y());
  if (i >= 0) o.ray_region = slice->polygons[i].polygon.vertices;
}

MapLegend make_legend(const Slice2d& slice, Colouring colouring, int classes, const std::vector<std::string>& names) {
  MapLegend l;
  l.colouring = colouring;
  l.classes = classes;
  l.names = names;
  const SliceStatistics stats = slice_statistics(slice);
  for (const auto& [k, share] : stats.class_share) l.shown.emplace_back(k, share);
  std::stable_sort(l.shown.begin(), l.shown.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (!l.shown.empty()) l.shade_class = l.shown.front().first;
  if (colouring == Colouring::Shaded) l.shade = shade_scale(slice);
  return l;
}

void paint_polygons(QPainter& p, const QRectF& plot, const SliceWindow& view, const Slice2d& slice, Colouring colouring,
                    int classes) {
  const std::vector<Rgb> colours = polygon_colours(slice, colouring, classes);
  p.save();
  p.setClipRect(plot);
  const double edge = slice.polygons.size() > 3000 ? 0.4 : 0.8;
  for (std::size_t i = 0; i < slice.polygons.size(); ++i) {
    // Polygons outside the view are left out (a figure of a zoomed-in view
    // would otherwise carry every region at huge coordinates).
    const auto& vs = slice.polygons[i].polygon.vertices;
    double lo_u = 1e300, hi_u = -1e300, lo_v = 1e300, hi_v = -1e300;
    for (const auto& v : vs) {
      lo_u = std::min(lo_u, v.x()), hi_u = std::max(hi_u, v.x());
      lo_v = std::min(lo_v, v.y()), hi_v = std::max(hi_v, v.y());
    }
    if (hi_u < view.u0 || lo_u > view.u1 || hi_v < view.v0 || lo_v > view.v1) continue;
    QPolygonF poly;
    for (const auto& v : vs) poly << to_pixel(plot, view, v);
    p.setBrush(qcolour(colours[i]));
    p.setPen(QPen(QColor(60, 60, 60, 150), edge));
    p.drawPolygon(poly);
  }
  p.setPen(QPen(Qt::black, 2.5, Qt::SolidLine, Qt::RoundCap));
  for (const auto& s : slice.decision_boundary) p.drawLine(to_pixel(plot, view, s[0]), to_pixel(plot, view, s[1]));
  p.restore();
}

void paint_overlay(QPainter& p, const QRectF& plot, const MapOverlay& o) {
  if (!(o.view.u1 > o.view.u0) || !(o.view.v1 > o.view.v0)) return;
  p.save();
  p.setRenderHint(QPainter::Antialiasing);
  p.setClipRect(plot);
  const SliceWindow& w = o.view;
  QFont f = p.font();
  f.setPointSizeF(9);
  f.setItalic(false);
  p.setFont(f);
  const QFontMetricsF fm(f);
  LabelPlacer placer;

  // The asymptotic fan: dashed rays from (0,0).
  if (!o.fan.empty()) {
    p.setPen(QPen(QColor(20, 20, 20, 170), 1.3, Qt::DashLine));
    const QPointF c = to_pixel(plot, w, {0, 0});
    for (const auto& d : o.fan) p.drawLine(c, to_pixel(plot, w, far_point(w, d)));
  }
  outline(p, plot, w, o.picked_region, QColor(200, 0, 140), 3);
  outline(p, plot, w, o.ray_region, QColor(20, 90, 220), 3);
  // The bounded ball: a dashed outline, its bound written above it, and the
  // best input found as a cross.
  auto ball_label = [&](const QPointF& at, const QString& text) {
    const QRectF r(at, QSizeF(fm.horizontalAdvance(text) + 10, fm.height() + 4));
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(255, 255, 255, 225));
    p.drawRoundedRect(r, 3, 3);
    p.setPen(QColor(150, 60, 0));
    p.drawText(r, Qt::AlignCenter, text);
    p.setBrush(Qt::NoBrush);
  };
  if (o.ball.size() >= 3) {
    QPolygonF poly;
    double top = 1e300, left = 1e300;
    for (const auto& v : o.ball) {
      poly << to_pixel(plot, w, v);
      top = std::min(top, poly.back().y());
      left = std::min(left, poly.back().x());
    }
    p.setBrush(QColor(255, 140, 0, 40));
    p.setPen(QPen(QColor(230, 110, 0), 2.5, Qt::DashLine));
    p.drawPolygon(poly);
    p.setBrush(Qt::NoBrush);
    if (!o.ball_label.empty()) {
      const double width = fm.horizontalAdvance(q(o.ball_label)) + 10;
      ball_label(QPointF(std::clamp(left, plot.left() + 2, std::max(plot.left() + 2, plot.right() - width - 2)),
                         std::max(plot.top() + 2, top - fm.height() - 8)),
                 q(o.ball_label));
    }
  }
  if (o.ball.size() < 3 && !o.ball_label.empty())  // the ball misses this plane (or has no area): top left
    ball_label(QPointF(plot.left() + 4, plot.top() + 4), q(o.ball_label) + "  (the ball does not meet this plane)");
  if (o.ball_argmax && visible(w, *o.ball_argmax)) {
    const QPointF c = to_pixel(plot, w, *o.ball_argmax);
    p.setPen(QPen(QColor(150, 60, 0), 2.5));
    p.drawLine(c + QPointF(-6, -6), c + QPointF(6, 6));
    p.drawLine(c + QPointF(-6, 6), c + QPointF(6, -6));
  }

  if (o.ray) {
    const MapRay& r = *o.ray;
    p.setPen(QPen(QColor(215, 25, 25), 2));
    p.drawLine(to_pixel(plot, w, {0, 0}), to_pixel(plot, w, far_point(w, r.direction)));
    // Where the ray enters each region: short ticks across it.
    const Eigen::Vector2d n = Eigen::Vector2d(-r.direction.y(), r.direction.x()).normalized();
    const QPointF tick(n.x() * 5, -n.y() * 5);
    p.setPen(QPen(QColor(215, 25, 25), 1.5));
    std::size_t drawn = 0;
    for (double a : r.crossings) {
      const Eigen::Vector2d uv = a * r.direction;
      if (!visible(w, uv)) continue;
      const QPointF c = to_pixel(plot, w, uv);
      p.drawLine(c - tick, c + tick);
      if (++drawn > 4000) break;
    }
    auto mark = [&](double a, const QColor& colour, const QString& text, bool filled) {
      const Eigen::Vector2d uv = a * r.direction;
      if (!visible(w, uv)) return;
      const QPointF c = to_pixel(plot, w, uv);
      p.setPen(QPen(colour, 2));
      p.setBrush(filled ? QBrush(colour) : QBrush(Qt::white));
      p.drawEllipse(c, 5, 5);
      label(p, placer.place(fm, c + QPointF(8, 4), text, plot), text, colour);
    };
    if (r.last_region_alpha) mark(*r.last_region_alpha, QColor(0, 120, 0), QString("last region from α = %1").arg(*r.last_region_alpha, 0, 'g', 3), false);
    if (r.alpha_star) mark(*r.alpha_star, QColor(170, 0, 0), QString("α* = %1").arg(*r.alpha_star, 0, 'g', 3), false);
    mark(r.alpha, QColor(215, 25, 25), QString("αx, α = %1").arg(r.alpha, 0, 'g', 3), true);
  }
  for (const auto& [name, uv] : o.landmarks) {
    if (!visible(w, uv)) continue;
    const QPointF c = to_pixel(plot, w, uv);
    p.setPen(QPen(Qt::black, 1.5));
    p.setBrush(Qt::white);
    p.drawEllipse(c, 4.5, 4.5);
    p.drawLine(c - QPointF(2, 0), c + QPointF(2, 0));
    label(p, placer.place(fm, c + QPointF(7, -fm.height() - 2), q(name), plot), q(name), Qt::black);
  }
  if (o.picked && visible(w, *o.picked)) {
    const QPointF c = to_pixel(plot, w, *o.picked);
    p.setPen(QPen(QColor(200, 0, 140), 2.5));
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(c, 7, 7);
    p.drawLine(c + QPointF(-11, 0), c + QPointF(-4, 0));
    p.drawLine(c + QPointF(4, 0), c + QPointF(11, 0));
    label(p, placer.place(fm, c + QPointF(10, 6), "picked", plot), "picked", QColor(200, 0, 140));
  }
  paint_axes(p, plot, o);
  double legend_top = plot.top() + 8;
  if (!o.partial.empty()) {
    QFont b = f;
    b.setBold(true);
    b.setPointSizeF(10);
    p.setFont(b);
    const QString text = "PARTIAL MAP: " + q(o.partial) + "  (grey: not computed)";
    const QFontMetricsF bm(b);
    const double width = std::min(plot.width() - 20, bm.horizontalAdvance(text) + 20);
    const QRectF r(plot.center().x() - width / 2, plot.top() + 8, width, bm.height() * (bm.horizontalAdvance(text) + 20 > width ? 2.2 : 1.2));
    p.setPen(QPen(QColor(150, 0, 0), 1.5));
    p.setBrush(QColor(255, 225, 220, 240));
    p.drawRect(r);
    p.setPen(QColor(120, 0, 0));
    p.drawText(r.adjusted(6, 2, -6, -2), Qt::AlignCenter | Qt::TextWordWrap, text);
    p.setFont(f);
    legend_top = r.bottom() + 8;
  }
  if (o.legend) paint_legend(p, plot, *o.legend, legend_top);
  if (!o.hover.empty()) {
    const QString text = q(o.hover);
    const QRectF r = fm.boundingRect(QRectF(0, 0, plot.width() * 0.6, 400), Qt::TextWordWrap, text);
    // Bottom left, above the u axis (the banner and the legend use the top).
    const double axis = fm.height() * 2 + 8;
    const QRectF box(plot.left() + fm.horizontalAdvance("-0.000") + fm.height() + 20,
                     plot.bottom() - axis - r.height() - 14, r.width() + 12, r.height() + 8);
    p.setPen(QPen(QColor(150, 150, 150), 1));
    p.setBrush(QColor(255, 255, 240, 235));
    p.drawRoundedRect(box, 3, 3);
    p.setPen(Qt::black);
    p.drawText(box.adjusted(6, 4, -6, -4), Qt::TextWordWrap, text);
  }
  if (!o.title.empty()) {
    QFont t = f;
    t.setPointSizeF(12);
    t.setBold(true);
    p.setFont(t);
    p.setPen(Qt::black);
    p.setClipping(false);
    p.drawText(QRectF(plot.left(), plot.top() - 28, plot.width(), 24), Qt::AlignLeft | Qt::AlignVCenter, q(o.title));
  }
  p.restore();
}

}  // namespace tessera::gui
