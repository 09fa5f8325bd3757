// Small QPainter widgets of the ray panel: the confidence (and each class
// probability) against alpha on a log axis, the softmax bars at the current
// alpha, and the activation pattern as a grid of on/off cells per layer.
#pragma once

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
  void setScale(const AlphaScale& s) { scale_ = s; update(); }
  QSize sizeHint() const override { return {420, 220}; }
 Q_SIGNALS:
  void alphaPicked(double alpha);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mousePressEvent(QMouseEvent*) override;

 private:
  QRectF plotRect() const;
  double xOf(double alpha, const QRectF& r) const;
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
  QSize sizeHint() const override { return {420, 110}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::vector<double> p_;
};

class PatternGrid : public QWidget {
 public:
  explicit PatternGrid(QWidget* parent = nullptr) : QWidget(parent) {}
  void setPattern(std::optional<ActivationPattern> p) { p_ = std::move(p); update(); }
  QSize sizeHint() const override { return {420, 120}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::optional<ActivationPattern> p_;
};

}  // namespace tessera::gui
