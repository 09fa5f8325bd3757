#include "gui/charts.hpp"

#include <QMouseEvent>
#include <QPainter>
#include <QFontMetricsF>
#include <QPainterPath>
#include <algorithm>
#include <cmath>

namespace tessera::gui {
namespace {
QColor qcolour(const Rgb& c) { return QColor(c[0], c[1], c[2]); }
}  // namespace

ConfidenceChart::ConfidenceChart(QWidget* parent) : QWidget(parent) { setMinimumHeight(160); }

void ConfidenceChart::setRay(const RayView* ray) {
  ray_ = ray;
  cache_ = QImage();
  samples_.clear();
  sample_alpha_.clear();
  if (ray_) {
    const int n = 800;
    for (int i = 0; i <= n; ++i) {
      const double a = std::pow(10.0, scale_.log10_min + (scale_.log10_max - scale_.log10_min) * i / n);
      sample_alpha_.push_back(a);
      samples_.push_back(ray_->probabilities(a));
    }
  }
  update();
}

void ConfidenceChart::setAlpha(double alpha) {
  alpha_ = alpha;
  update();
}

// Room on the right for the last tick label and the class key.
QRectF ConfidenceChart::plotRect(const QRectF& a) const {
  return QRectF(a.left() + 40, a.top() + 10, a.width() - 40 - 96, a.height() - 42);
}

double ConfidenceChart::xOf(double alpha, const QRectF& r) const {
  const double t = (std::log10(std::max(alpha, 1e-300)) - scale_.log10_min) / (scale_.log10_max - scale_.log10_min);
  return r.left() + std::clamp(t, 0.0, 1.0) * r.width();
}

void ConfidenceChart::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const qreal dpr = devicePixelRatioF();
  const QSize size(static_cast<int>(width() * dpr), static_cast<int>(height() * dpr));
  if (cache_.size() != size) {
    cache_ = QImage(size, QImage::Format_RGB32);
    cache_.setDevicePixelRatio(dpr);
    QPainter c(&cache_);
    renderStatic(c, QRectF(rect()));
  }
  p.drawImage(QPointF(0, 0), cache_);
  paintAlpha(p, plotRect(QRectF(rect())));
}

void ConfidenceChart::paintAlpha(QPainter& p, const QRectF& r) const {
  p.setPen(QPen(QColor(30, 90, 200), 2));
  const double xa = xOf(alpha_, r);
  p.drawLine(QPointF(xa, r.top()), QPointF(xa, r.bottom()));
}

void ConfidenceChart::render(QPainter& p, const QRectF& area) const {
  renderStatic(p, area);
  p.save();
  p.setRenderHint(QPainter::Antialiasing);
  paintAlpha(p, plotRect(area));
  p.restore();
}

void ConfidenceChart::renderStatic(QPainter& p, const QRectF& area) const {
  p.save();
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(area, Qt::white);
  const QRectF r = plotRect(area);
  p.setPen(QColor(225, 225, 225));
  for (int e = static_cast<int>(std::ceil(scale_.log10_min)); e <= scale_.log10_max; ++e) {
    const double x = xOf(std::pow(10.0, e), r);
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
  }
  for (double c : {0.25, 0.5, 0.75}) p.drawLine(QPointF(r.left(), r.bottom() - c * r.height()), QPointF(r.right(), r.bottom() - c * r.height()));
  p.setPen(Qt::black);
  p.drawRect(r);
  QFont f = p.font();
  f.setPointSizeF(8.5);
  f.setItalic(false);
  p.setFont(f);
  const QFontMetricsF fm(f);
  for (int e = static_cast<int>(std::ceil(scale_.log10_min)); e <= scale_.log10_max; e += 2) {
    const QString t = e == 0 ? "1" : QString("1e%1").arg(e);
    p.drawText(QPointF(xOf(std::pow(10.0, e), r) - fm.horizontalAdvance(t) / 2, r.bottom() + 4 + fm.ascent()), t);
  }
  const QString axis = "α (log scale)";
  p.drawText(QPointF(r.center().x() - fm.horizontalAdvance(axis) / 2, area.bottom() - 4), axis);
  for (double c : {0.0, 0.5, 1.0}) {
    const QString t = QString::number(c, 'f', 1);
    p.drawText(QPointF(r.left() - 6 - fm.horizontalAdvance(t), r.bottom() - c * r.height() + fm.ascent() / 2 - 1), t);
  }
  if (!ray_ || samples_.empty()) {
    p.drawText(r, Qt::AlignCenter, "click a point on the region map to follow its ray");
    p.restore();
    return;
  }
  // Region boundaries along the ray (thin ticks at the top).
  p.setPen(QColor(150, 150, 150));
  const auto& segs = ray_->traversal.segments;
  const std::size_t stride = std::max<std::size_t>(1, segs.size() / 400);
  for (std::size_t i = 1; i < segs.size(); i += stride) {
    const double x = xOf(segs[i].t_begin, r);
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.top() + 6));
  }
  // Class probabilities (thin) and the confidence (thick).
  const std::size_t classes = samples_.front().size();
  auto curve = [&](auto value) {
    QPainterPath path;
    bool started = false;
    for (std::size_t i = 0; i < samples_.size(); ++i) {
      if (samples_[i].empty()) continue;
      const QPointF pt(xOf(sample_alpha_[i], r), r.bottom() - value(samples_[i]) * r.height());
      if (!started) path.moveTo(pt), started = true;
      else path.lineTo(pt);
    }
    return path;
  };
  for (std::size_t k = 0; k < classes; ++k) {
    p.setPen(QPen(qcolour(class_colour(static_cast<int>(k))), 1.2));
    p.drawPath(curve([k](const std::vector<double>& s) { return s[k]; }));
  }
  p.setPen(QPen(Qt::black, 2.2));
  p.drawPath(curve([](const std::vector<double>& s) { return *std::max_element(s.begin(), s.end()); }));
  // The threshold, the last region's entry and alpha*.
  // The class key, right of the plot: the black curve, then each class.
  {
    double y = r.top() + 2;
    const double x = r.right() + 10;
    p.setPen(QPen(Qt::black, 2.2));
    p.drawLine(QPointF(x, y + fm.ascent() / 2), QPointF(x + 14, y + fm.ascent() / 2));
    p.setPen(Qt::black);
    p.drawText(QPointF(x + 18, y + fm.ascent()), "confidence");
    y += fm.height() + 2;
    const std::size_t shown = std::min<std::size_t>(classes, static_cast<std::size_t>((r.height() - fm.height()) / (fm.height() + 1)));
    for (std::size_t k = 0; k < shown; ++k) {
      p.setPen(QPen(qcolour(class_colour(static_cast<int>(k))), 2));
      p.drawLine(QPointF(x, y + fm.ascent() / 2), QPointF(x + 14, y + fm.ascent() / 2));
      p.setPen(Qt::black);
      const QString name = k < names_.size() ? QString::fromStdString(names_[k]) : QString("class %1").arg(k);
      p.drawText(QPointF(x + 18, y + fm.ascent()), fm.elidedText(name, Qt::ElideRight, area.right() - x - 20));
      y += fm.height() + 1;
    }
  }
  const Certificate& c = ray_->certificate;
  // Marker labels at the top of the plot, each moved down until it is clear
  // of those before it.
  std::vector<QRectF> placed;
  auto place_label = [&](double x, const QString& text, const QColor& colour) {
    QRectF box(x + 3, r.top() + 3, fm.horizontalAdvance(text) + 4, fm.height());
    if (box.right() > r.right()) box.moveRight(x - 3);
    for (int i = 0; i < 6 && std::any_of(placed.begin(), placed.end(), [&](const QRectF& o) { return o.intersects(box); }); ++i)
      box.translate(0, fm.height() + 1);
    placed.push_back(box);
    p.fillRect(box, QColor(255, 255, 255, 220));
    p.setPen(colour);
    p.drawText(box, Qt::AlignCenter, text);
  };
  p.setPen(QPen(QColor(200, 0, 0), 1, Qt::DashLine));
  p.drawLine(QPointF(r.left(), r.bottom() - ray_->threshold * r.height()), QPointF(r.right(), r.bottom() - ray_->threshold * r.height()));
  if (c.last_region_found) {
    p.setPen(QPen(QColor(0, 120, 0), 1.5, Qt::DashLine));
    const double x = xOf(c.last_region_alpha, r);
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
    place_label(x, "last region", QColor(0, 120, 0));
  }
  if (c.box_exit_alpha) {
    // Where the ray leaves the input box.
    p.setPen(QPen(QColor(90, 90, 90), 1.2, Qt::DotLine));
    const double x = xOf(*c.box_exit_alpha, r);
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
    place_label(x, "box exit", QColor(90, 90, 90));
  }
  if (c.alpha_star) {
    p.setPen(QPen(QColor(200, 0, 0), 1.5));
    const double x = xOf(*c.alpha_star, r);
    p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()));
    place_label(x, "α*", QColor(200, 0, 0));
  }
  p.restore();
}

void ConfidenceChart::mousePressEvent(QMouseEvent* e) {
  const QRectF r = plotRect(QRectF(rect()));
  const double t = (e->position().x() - r.left()) / r.width();
  Q_EMIT alphaPicked(std::pow(10.0, scale_.log10_min + std::clamp(t, 0.0, 1.0) * (scale_.log10_max - scale_.log10_min)));
}

void SoftmaxBars::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), Qt::white);
  if (p_.empty()) return;
  const int n = static_cast<int>(p_.size());
  const double w = (width() - 20.0) / n;
  const double h = height() - 30.0;
  QFont f = p.font();
  f.setPointSizeF(8);
  p.setFont(f);
  for (int k = 0; k < n; ++k) {
    const double bh = p_[k] * h;
    p.fillRect(QRectF(10 + k * w + 2, 8 + h - bh, w - 4, bh), qcolour(class_colour(k)));
    p.setPen(Qt::black);
    const QString name = k < static_cast<int>(names_.size()) ? QString::fromStdString(names_[k]) : QString::number(k);
    p.drawText(QRectF(10 + k * w, height() - 20, w, 18), Qt::AlignCenter,
               QFontMetricsF(f).elidedText(name, Qt::ElideRight, w));
  }
  p.drawLine(QPointF(10, 8 + h), QPointF(width() - 10, 8 + h));
}

void PatternGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), Qt::white);
  if (!p_) return;
  const int layers = static_cast<int>(p_->layers.size());
  if (layers == 0) return;
  // Rows never shrink below a legible label (the widget asks for the height).
  const double row_h = std::clamp((height() - 4.0) / layers, 14.0, 24.0);
  QFont f = p.font();
  f.setPointSizeF(8);
  p.setFont(f);
  const QFontMetricsF fm(f);
  double left = 0;
  auto row_label = [&](int l) {
    const LayerPattern& lp = p_->layers[l];
    const QString name = l < static_cast<int>(names_.size()) ? QString::fromStdString(names_[l]) : QString("layer %1").arg(l + 1);
    if (lp.kind == OpKind::MaxPool2d) return QString("%1  max of %2").arg(name).arg(lp.size);
    return QString("%1  %2/%3").arg(name).arg(lp.active_count()).arg(lp.size);
  };
  for (int l = 0; l < layers; ++l) left = std::max(left, fm.horizontalAdvance(row_label(l)) + 8);
  left = std::min(left, width() * 0.45);
  for (int l = 0; l < layers; ++l) {
    const LayerPattern& lp = p_->layers[l];
    const int n = lp.size;
    const double cell = std::max(0.5, (width() - left - 4) / std::max(1, n));
    const double y = 2 + l * row_h;
    p.setPen(Qt::black);
    p.drawText(QRectF(0, y, left - 4, row_h), Qt::AlignRight | Qt::AlignVCenter,
               fm.elidedText(row_label(l), Qt::ElideLeft, left - 4));
    int top_piece = 1;
    for (std::uint8_t k : lp.pieces) top_piece = std::max<int>(top_piece, k);
    for (int i = 0; i < n; ++i) {
      // Piecewise units: grey levels from the first piece (light) to the
      // last seen (dark).
      // Max-pool outputs: four shades for which input of its window wins.
      const double level = lp.kind == OpKind::MaxPool2d ? 0.25 + 0.25 * (lp.selection[i] % 4)
                           : lp.kind == OpKind::Piecewise ? static_cast<double>(lp.pieces[i]) / top_piece
                                                          : (lp.active(i) ? 1.0 : 0.0);
      const int grey = static_cast<int>(225 - level * 185);
      p.fillRect(QRectF(left + i * cell, y + 1, std::max(0.5, cell - (cell > 3 ? 1 : 0)), row_h - 2),
                 QColor(grey, grey, grey));
    }
  }
}

}  // namespace tessera::gui
