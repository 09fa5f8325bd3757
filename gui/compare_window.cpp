#include "gui/compare_window.hpp"

#include <vtkCamera.h>

#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrent>

#include "core/error.hpp"
#include "io/onnx_io.hpp"
#include "gui/charts.hpp"
#include "gui/map_overlay.hpp"
#include "gui/region_scene.hpp"
#include "gui/vtk_view.hpp"

namespace tessera::gui {

struct CompareWindow::Panel {
  QString name;
  std::shared_ptr<const Network> net;
  VtkView* view = nullptr;
  std::unique_ptr<RegionScene> scene;
  ConfidenceChart* chart = nullptr;
  QLabel* title = nullptr;
  std::shared_ptr<Slice2d> slice;
  std::unique_ptr<RayView> ray;
  QFutureWatcher<std::shared_ptr<Slice2d>> watcher;
  MapOverlay overlay;  // axes, legend, ray and picked point, as on the main map
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (int k = 0; k < net->output_size(); ++k) n.push_back(net->class_name(k));
    return n;
  }
};

CompareWindow::CompareWindow(const QStringList& paths, const SliceFrame& frame, const SliceWindow& window, Colouring colouring,
                             QWidget* parent)
    : QWidget(parent, Qt::Window), frame_(frame), window_(window), colouring_(colouring) {
  if (paths.size() < 2 || paths.size() > 3) throw Error("compare two or three models");
  std::vector<std::shared_ptr<const Network>> nets;
  for (const QString& p : paths) nets.push_back(std::make_shared<Network>(load_onnx(p.toStdString())));
  for (std::size_t i = 0; i < nets.size(); ++i)
    if (nets[i]->input_size() != frame.plane.origin.size())
      throw Error(paths[static_cast<int>(i)].toStdString() + " takes " + std::to_string(nets[i]->input_size()) +
                  " inputs but the slice lives in R^" + std::to_string(frame.plane.origin.size()));

  setWindowTitle("Tessera — compare models");
  auto* layout = new QVBoxLayout(this);
  auto* grid = new QGridLayout;
  layout->addLayout(grid, 1);
  for (std::size_t i = 0; i < nets.size(); ++i) {
    auto panel = std::make_unique<Panel>();
    panel->name = QFileInfo(paths[static_cast<int>(i)]).completeBaseName();
    panel->net = nets[i];
    panel->title = new QLabel(panel->name + " — computing …");
    panel->view = new VtkView;
    panel->scene = std::make_unique<RegionScene>(panel->view->renderer());
    {
      Panel* p = panel.get();
      p->view->setOverlay([p](QPainter& painter, const QRectF& r) {
        MapOverlay o = p->overlay;
        p->view->visibleRect(o.view.u0, o.view.u1, o.view.v0, o.view.v1);
        paint_overlay(painter, r, o);
      });
    }
    panel->chart = new ConfidenceChart;
    panel->chart->setScale(scale_);
    grid->addWidget(panel->title, 0, static_cast<int>(i));
    grid->addWidget(panel->view, 1, static_cast<int>(i));
    grid->addWidget(panel->chart, 2, static_cast<int>(i));
    grid->setRowStretch(1, 3);
    grid->setRowStretch(2, 2);
    const std::size_t index = i;
    connect(panel->view, &VtkView::clicked, this, [this](double u, double v) { pickPoint(u, v); });
    connect(panel->view, &VtkView::viewChanged, this, [this, index] { linkCameras(index); });
    connect(panel->chart, &ConfidenceChart::alphaPicked, this, [this](double a) { setAlpha(a); });
    Panel* raw = panel.get();
    connect(&panel->watcher, &QFutureWatcher<std::shared_ptr<Slice2d>>::finished, this, [this, raw] {
      raw->slice = raw->watcher.result();
      if (raw->slice && !raw->slice->polygons.empty()) {
        raw->scene->setSlice(*raw->slice, colouring_, raw->net->output_size());
        describe_slice(raw->overlay, frame_, raw->slice.get(), colouring_, raw->net->output_size(), raw->names());
        raw->title->setText(QString("%1 — %2 regions").arg(raw->name).arg(raw->slice->polygons.size()));
      } else {
        raw->title->setText(raw->name + " — no regions: " + QString::fromStdString(raw->slice ? raw->slice->stop_reason : ""));
      }
      raw->view->fitPlane(window_.u0, window_.u1, window_.v0, window_.v1);
      if (ready()) Q_EMIT allReady();
    });
    auto net = nets[i];
    const Plane2d plane = frame.plane;
    const SliceWindow w = window;
    auto cancel = cancel_;
    panel->watcher.setFuture(QtConcurrent::run([net, plane, w, cancel]() -> std::shared_ptr<Slice2d> {
      try {
        SliceOptions o;
        o.cancel = cancel.get();
        o.max_regions = 50000;
        return std::make_shared<Slice2d>(slice_regions_2d(*net, plane, w, o));
      } catch (const std::exception& e) {
        auto s = std::make_shared<Slice2d>();
        s->stop_reason = e.what();
        return s;
      }
    }));
    panels_.push_back(std::move(panel));
  }
  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel("α (shared)"));
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setRange(0, scale_.steps);
  slider_->setValue(scale_.position(1.0));
  connect(slider_, &QSlider::valueChanged, this, [this](int p) { setAlpha(scale_.alpha(p)); });
  row->addWidget(slider_, 1);
  alpha_label_ = new QLabel("α = 1");
  alpha_label_->setMinimumWidth(110);
  row->addWidget(alpha_label_);
  layout->addLayout(row);
  layout->addWidget(new QLabel("Click any map to follow the same ray αx through every model; drag and zoom move all maps together."));
  resize(460 * static_cast<int>(panels_.size()), 820);
}

CompareWindow::~CompareWindow() {
  cancel_->store(true);  // closing does not wait for whole slices
  for (auto& p : panels_) p->watcher.waitForFinished();
}

bool CompareWindow::ready() const {
  for (const auto& p : panels_)
    if (!p->slice) return false;
  return true;
}

std::size_t CompareWindow::cells(std::size_t i) const { return static_cast<std::size_t>(panels_.at(i)->scene->cellCount()); }

std::size_t CompareWindow::raySegments(std::size_t i) const {
  return panels_.at(i)->ray ? panels_.at(i)->ray->traversal.segments.size() : 0;
}

void CompareWindow::linkCameras(std::size_t from) {
  if (linking_) return;
  linking_ = true;
  vtkCamera* src = panels_[from]->view->renderer()->GetActiveCamera();
  for (std::size_t i = 0; i < panels_.size(); ++i) {
    if (i == from) continue;
    vtkCamera* dst = panels_[i]->view->renderer()->GetActiveCamera();
    dst->SetFocalPoint(src->GetFocalPoint());
    dst->SetPosition(src->GetPosition());
    dst->SetViewUp(src->GetViewUp());
    dst->SetParallelProjection(src->GetParallelProjection());
    dst->SetParallelScale(src->GetParallelScale());
    panels_[i]->view->refresh();
  }
  linking_ = false;
}

void CompareWindow::pickPoint(double u, double v) {
  const Vector x = point_at(frame_, u, v);
  if (x.cwiseAbs().maxCoeff() == 0) return;
  const bool in_plane = frame_.plane.origin.cwiseAbs().maxCoeff() == 0;
  uv_ = in_plane ? std::optional<Eigen::Vector2d>(Eigen::Vector2d(u, v)) : std::nullopt;
  for (auto& p : panels_) {
    try {
      p->ray = std::make_unique<RayView>(make_ray(*p->net, x));
    } catch (const std::exception&) {
      p->ray.reset();
    }
    p->chart->setRay(p->ray.get());
    set_pick(p->overlay, p->slice.get(), Eigen::Vector2d(u, v));
    if (p->ray && p->ray->certificate.last_region_found)
      p->title->setText(QString("%1 — limit confidence %2, α* %3")
                            .arg(p->name)
                            .arg(p->ray->certificate.limit_confidence, 0, 'f', 4)
                            .arg(p->ray->certificate.alpha_star ? QString::number(*p->ray->certificate.alpha_star, 'g', 4) : "never"));
    p->view->refresh();
  }
  setAlpha(alpha_);
}

void CompareWindow::setAlpha(double alpha) {
  alpha_ = alpha;
  const QSignalBlocker block(slider_);
  slider_->setValue(scale_.position(alpha));
  alpha_label_->setText(QString("α = %1").arg(alpha, 0, 'g', 4));
  for (auto& p : panels_) {
    p->chart->setAlpha(alpha);
    set_ray(p->overlay, p->slice.get(), p->ray.get(), uv_, alpha);
    p->view->repaintOverlay();
  }
}

}  // namespace tessera::gui
