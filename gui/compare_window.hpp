// Two or three models side by side on the same slice and the same ray (for
// example plain, CEDA and ACET): one region map and one confidence chart per
// model, with linked cameras, one shared alpha slider and one click that
// follows the same ray through every model.
#pragma once

#include <atomic>
#include <memory>

#include <QFutureWatcher>
#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

#include "core/network.hpp"
#include "gui/scene.hpp"

class QLabel;
class QSlider;

namespace tessera::gui {

class ConfidenceChart;
class RegionScene;
class VtkView;

class CompareWindow : public QWidget {
  Q_OBJECT
 public:
  // Throws tessera::Error when a model cannot be loaded or the models take
  // inputs of different sizes (the slice must be the same for all).
  CompareWindow(const QStringList& paths, const SliceFrame& frame, const SliceWindow& window, Colouring colouring,
                QWidget* parent = nullptr);
  ~CompareWindow() override;
  void pickPoint(double u, double v);
  void setAlpha(double alpha);
  bool ready() const;            // every slice computed
  std::size_t modelCount() const { return panels_.size(); }
  std::size_t cells(std::size_t i) const;
  std::size_t raySegments(std::size_t i) const;

 Q_SIGNALS:
  void allReady();

 private:
  struct Panel;
  void linkCameras(std::size_t from);
  std::vector<std::unique_ptr<Panel>> panels_;
  SliceFrame frame_;
  SliceWindow window_;
  Colouring colouring_;
  AlphaScale scale_;
  double alpha_ = 1;
  QSlider* slider_ = nullptr;
  QLabel* alpha_label_ = nullptr;
  bool linking_ = false;
  std::optional<Eigen::Vector2d> uv_;  // the picked point, when the ray lies in the slice
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace tessera::gui
