// Small QPainter widgets of the ray panel: the confidence (and each class
// probability) against alpha on a log axis, the softmax bars at the current
// alpha, and the activation pattern as a grid of on/off cells per layer.
#pragma once

#include <QImage>
#include <QPainter>
#include <QWidget>
#include <optional>

#include "core/activation_pattern.hpp"
#include "gui/scene.hpp"

namespace tessera::gui {

class ConfidenceChart : public QWidget {
  Q_OBJECT
 public:
  explicit ConfidenceChart(QWidget* parent = nullptr);
  void setRay(const RayView* ray);  // not owned; nullptr clears
  void setAlpha(double alpha);
  void setScale(const AlphaScale& s) {
    scale_ = s;
    cache_ = QImage();
    update();
  }
  void setClassNames(std::vector<std::string> names) {
    names_ = std::move(names);
    cache_ = QImage();
    update();
  }
  QSize sizeHint() const override { return {420, 240}; }
  // Paints the chart into any rectangle (the widget, or an exported figure).
  void render(QPainter& p, const QRectF& area) const;
 Q_SIGNALS:
  void alphaPicked(double alpha);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mousePressEvent(QMouseEvent*) override;

 private:
  QRectF plotRect(const QRectF& area) const;
  double xOf(double alpha, const QRectF& r) const;
  std::vector<std::string> names_;
  // The chart without the alpha line, drawn once per ray and size: moving
  // alpha repaints only the line over it.
  mutable QImage cache_;
  void renderStatic(QPainter& p, const QRectF& area) const;
  void paintAlpha(QPainter& p, const QRectF& plot) const;
  const RayView* ray_ = nullptr;
  double alpha_ = 1;
  AlphaScale scale_;
  std::vector<std::vector<double>> samples_;  // per sample: probabilities
  std::vector<double> sample_alpha_;
};

class SoftmaxBars : public QWidget {
 public:
  explicit SoftmaxBars(QWidget* parent = nullptr) : QWidget(parent) {}
  void setProbabilities(std::vector<double> p) { p_ = std::move(p); update(); }
  void setClassNames(std::vector<std::string> names) { names_ = std::move(names); update(); }
  QSize sizeHint() const override { return {420, 110}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::vector<double> p_;
  std::vector<std::string> names_;
};

class PatternGrid : public QWidget {
 public:
  explicit PatternGrid(QWidget* parent = nullptr) : QWidget(parent) {}
  void setPattern(std::optional<ActivationPattern> p) { p_ = std::move(p); update(); }
  // The node names of the pattern's layers (labels of the rows).
  void setLayerNames(std::vector<std::string> names) { names_ = std::move(names); update(); }
  QSize sizeHint() const override { return {420, 120}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::optional<ActivationPattern> p_;
  std::vector<std::string> names_;
};

}  // namespace tessera::gui
