#include "gui/vtk_view.hpp"

#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCommand.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>

#include <QElapsedTimer>
#include <QMouseEvent>
#include <QPainter>
#include <QResizeEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QSurfaceFormat>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tessera::gui {

void VtkView::setDefaultSurfaceFormat() {
  QSurfaceFormat f;
  f.setRenderableType(QSurfaceFormat::OpenGL);
  f.setVersion(3, 2);
  f.setProfile(QSurfaceFormat::CoreProfile);
  f.setRedBufferSize(8);
  f.setGreenBufferSize(8);
  f.setBlueBufferSize(8);
  f.setDepthBufferSize(24);
  f.setStencilBufferSize(8);
  f.setSamples(0);
  f.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
  QSurfaceFormat::setDefaultFormat(f);
}

VtkView::VtkView(QWidget* parent) : QOpenGLWidget(parent) {
  window_ = vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New();
  renderer_ = vtkSmartPointer<vtkRenderer>::New();
  renderer_->SetBackground(1, 1, 1);
  window_->AddRenderer(renderer_);
  window_->SetReadyForRendering(false);
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(200, 200);
  // VTK asks the host to make its context current, whether it is current,
  // and announces finished frames; answer with Qt's context.
  auto observe = [this](unsigned long event) {
    observers_.push_back(window_->AddObserver(event, this, &VtkView::onVtkEvent));
  };
  observe(vtkCommand::WindowMakeCurrentEvent);
  observe(vtkCommand::WindowIsCurrentEvent);
  observe(vtkCommand::WindowFrameEvent);
}

VtkView::~VtkView() {
  makeCurrent();
  for (unsigned long id : observers_) window_->RemoveObserver(id);
  if (initialised_) {
    window_->Finalize();
    window_->SetReadyForRendering(false);
  }
  doneCurrent();
}

void VtkView::onVtkEvent(vtkObject*, unsigned long event, void* data) {
  switch (event) {
    case vtkCommand::WindowMakeCurrentEvent:
      // Only the context: QOpenGLWidget::makeCurrent() would also rebind the
      // widget's framebuffer behind the back of VTK's state cache, and VTK
      // would then draw into (and break) Qt's framebuffer.
      if (context() && QOpenGLContext::currentContext() != context()) context()->makeCurrent(surface_);
      break;
    case vtkCommand::WindowIsCurrentEvent:
      *static_cast<bool*>(data) = context() && QOpenGLContext::currentContext() == context();
      break;
    case vtkCommand::WindowFrameEvent:
      // A render finished outside paintGL (e.g. an interactor): show it.
      if (!in_paint_) update();
      break;
    default:
      break;
  }
}

void VtkView::initializeGL() {
  surface_ = context()->surface();
  // VTK caches OpenGL state: let it record Qt's (the widget's framebuffer
  // is bound), with the depth test VTK expects.
  window_->GetState()->Reset();
  window_->GetState()->vtkglDepthFunc(GL_LEQUAL);
  // VTK must not open windows or contexts of its own: Qt's is current.
  window_->SetOwnContext(false);
  window_->SetUseOffScreenBuffers(false);
  window_->SetForceMaximumHardwareLineWidth(1);
  window_->SetMultiSamples(0);
  window_->SetFrameBlitModeToNoBlit();  // paintGL blits into Qt's framebuffer
  window_->SetReadyForRendering(true);
  window_->OpenGLInitContext();
  initialised_ = true;
  render_pending_ = true;
}

void VtkView::resizeGL(int w, int h) {
  const double dpr = devicePixelRatioF();
  window_->SetSize(static_cast<int>(std::lround(w * dpr)), static_cast<int>(std::lround(h * dpr)));
  render_pending_ = true;
  Q_EMIT viewChanged();
}

void VtkView::paintGL() {
  if (!initialised_) return;
  in_paint_ = true;
  const double dpr = devicePixelRatioF();
  const int w = static_cast<int>(std::lround(width() * dpr)), h = static_cast<int>(std::lround(height() * dpr));
  if (window_->GetSize()[0] != w || window_->GetSize()[1] != h) window_->SetSize(w, h);
  // Qt may have changed OpenGL state since VTK's last frame.
  // Qt changed OpenGL state since VTK's last frame: record it, render, and
  // restore it afterwards.
  window_->GetState()->Reset();
  window_->GetState()->Push();
  window_->GetState()->vtkglDepthFunc(GL_LEQUAL);
  // VTK keeps its last picture in its own framebuffer: when only the overlay
  // changed (hover, markers), blit it again without rendering the scene.
  if (render_pending_ || window_->GetRenderFramebuffer()->GetLastSize()[0] != w ||
      window_->GetRenderFramebuffer()->GetLastSize()[1] != h) {
    QElapsedTimer timer;
    timer.start();
    window_->Render();
    last_render_s_ = timer.nsecsElapsed() * 1e-9;
  }
  render_pending_ = false;
  makeCurrent();
  // Copy VTK's colour buffer into the widget's framebuffer.
  QOpenGLExtraFunctions* f = context()->extraFunctions();
  f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
  const GLenum buffers[1] = {GL_COLOR_ATTACHMENT0};
  f->glDrawBuffers(1, buffers);
  const GLboolean scissor = f->glIsEnabled(GL_SCISSOR_TEST);
  if (scissor) f->glDisable(GL_SCISSOR_TEST);
  int* size = window_->GetRenderFramebuffer()->GetLastSize();
  window_->BlitDisplayFramebuffer(0, 0, 0, size[0], size[1], 0, 0, w, h, GL_COLOR_BUFFER_BIT, GL_LINEAR);
  // Opaque alpha, or compositors (and Mesa) blend the picture with what is behind.
  f->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
  f->glClearColor(0, 0, 0, 1);
  f->glClear(GL_COLOR_BUFFER_BIT);
  f->glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
  if (scissor) f->glEnable(GL_SCISSOR_TEST);
  window_->GetState()->Pop();
  in_paint_ = false;
}

// The overlay is a transparent child widget painted by the raster engine
// over the OpenGL picture: Qt composes the two, in the window and in
// QWidget::grab, and it repaints without a VTK render.
class VtkView::Overlay : public QWidget {
 public:
  explicit Overlay(VtkView* view) : QWidget(view), view_(view) {
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setAttribute(Qt::WA_NoSystemBackground);
    setAttribute(Qt::WA_TranslucentBackground);
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    if (!view_->overlay_) return;
    QPainter painter(this);
    view_->overlay_(painter, QRectF(rect()));
  }

 private:
  VtkView* view_;
};

void VtkView::setOverlay(std::function<void(QPainter&, const QRectF&)> overlay) {
  overlay_ = std::move(overlay);
  if (!overlay_widget_) {
    overlay_widget_ = new Overlay(this);
    overlay_widget_->setGeometry(rect());
    overlay_widget_->show();
  }
  overlay_widget_->update();
}

void VtkView::repaintOverlay() {
  if (overlay_widget_) overlay_widget_->update();
}

void VtkView::resizeEvent(QResizeEvent* e) {
  QOpenGLWidget::resizeEvent(e);
  if (overlay_widget_) overlay_widget_->setGeometry(rect());
}

void VtkView::setBackground(double r, double g, double b) {
  renderer_->SetBackground(r, g, b);
  refresh();
}

void VtkView::refresh() {
  render_pending_ = true;
  update();
  repaintOverlay();  // the view may have moved under it
}

void VtkView::fitPlane(double x0, double x1, double y0, double y1) {
  vtkCamera* cam = renderer_->GetActiveCamera();
  cam->ParallelProjectionOn();
  const double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1);
  cam->SetFocalPoint(cx, cy, 0);
  // A parallel view: the distance does not scale the picture, and a fixed
  // one keeps the depth buffer fine enough for the layers 0.001 apart
  // (edges, boundary, preview) however far the map is zoomed out.
  cam->SetPosition(cx, cy, 10);
  cam->SetViewUp(0, 1, 0);
  const double aspect = height() > 0 ? static_cast<double>(width()) / height() : 1.0;
  cam->SetParallelScale(0.5 * std::max(y1 - y0, (x1 - x0) / std::max(1e-9, aspect)) * 1.02);
  renderer_->ResetCameraClippingRange();
  refresh();
}

void VtkView::fitOrbit() {
  // The fit depends on the viewport's aspect: take the widget's size now,
  // even if it has not been painted at that size yet.
  const double dpr = devicePixelRatioF();
  window_->SetSize(std::max(1, static_cast<int>(std::lround(width() * dpr))),
                   std::max(1, static_cast<int>(std::lround(height() * dpr))));
  vtkCamera* cam = renderer_->GetActiveCamera();
  cam->ParallelProjectionOff();
  double b[6];
  renderer_->ComputeVisiblePropBounds(b);
  if (!(b[0] <= b[1])) return;  // nothing visible
  const double cx = 0.5 * (b[0] + b[1]), cy = 0.5 * (b[2] + b[3]), cz = 0.5 * (b[4] + b[5]);
  // From the front left corner (35 degrees round from -y), 30 degrees above, z up.
  const double pi = 3.14159265358979323846, azimuth = 35 * pi / 180, elevation = 30 * pi / 180;
  cam->SetFocalPoint(cx, cy, cz);
  cam->SetPosition(cx - std::sin(azimuth) * std::cos(elevation), cy - std::cos(azimuth) * std::cos(elevation),
                   cz + std::sin(elevation));
  cam->SetViewUp(0, 0, 1);
  // Fit the bounds' projection tightly, then leave a margin for what lies
  // outside them (axis labels).
  renderer_->ResetCameraScreenSpace();
  cam->Zoom(0.7);
  renderer_->ResetCameraClippingRange();
  refresh();
}

bool VtkView::worldAt(const QPoint& p, double& x, double& y) const {
  const double dpr = devicePixelRatioF();
  const double dx = p.x() * dpr, dy = (height() - 1 - p.y()) * dpr;
  vtkCamera* cam = renderer_->GetActiveCamera();
  if (!cam->GetParallelProjection()) return false;
  renderer_->SetDisplayPoint(dx, dy, 0);
  renderer_->DisplayToWorld();
  const double* w = renderer_->GetWorldPoint();
  if (w[3] == 0) return false;
  x = w[0] / w[3];
  y = w[1] / w[3];
  return true;
}

void VtkView::visibleRect(double& x0, double& x1, double& y0, double& y1) const {
  vtkCamera* cam = renderer_->GetActiveCamera();
  double fp[3];
  cam->GetFocalPoint(fp);
  const double half_h = cam->GetParallelScale();
  const double aspect = height() > 0 ? static_cast<double>(width()) / height() : 1.0;
  x0 = fp[0] - half_h * aspect;
  x1 = fp[0] + half_h * aspect;
  y0 = fp[1] - half_h;
  y1 = fp[1] + half_h;
}

void VtkView::mousePressEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) {
    dragging_ = true;
    moved_ = false;
    last_ = e->position().toPoint();
  }
}

void VtkView::mouseMoveEvent(QMouseEvent* e) {
  const QPoint p = e->position().toPoint();
  if (dragging_) {
    const QPoint d = p - last_;
    if (std::abs(d.x()) + std::abs(d.y()) > 2 || moved_) {
      moved_ = true;
      vtkCamera* cam = renderer_->GetActiveCamera();
      if (navigation_ == Navigation::Plane) {
        const double scale = 2.0 * cam->GetParallelScale() / std::max(1, height());
        double fp[3], pos[3];
        cam->GetFocalPoint(fp);
        cam->GetPosition(pos);
        const double mx = -d.x() * scale, my = d.y() * scale;
        cam->SetFocalPoint(fp[0] + mx, fp[1] + my, fp[2]);
        cam->SetPosition(pos[0] + mx, pos[1] + my, pos[2]);
      } else {
        cam->Azimuth(-0.4 * d.x());
        cam->Elevation(0.4 * d.y());
        cam->OrthogonalizeViewUp();
        renderer_->ResetCameraClippingRange();
      }
      last_ = p;
      refresh();
      Q_EMIT viewChanged();
    }
    return;
  }
  double x = 0, y = 0;
  if (worldAt(p, x, y)) Q_EMIT hovered(x, y);
}

void VtkView::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return;
  dragging_ = false;
  if (!moved_) {
    double x = 0, y = 0;
    if (worldAt(e->position().toPoint(), x, y)) Q_EMIT clicked(x, y);
  }
}

void VtkView::wheelEvent(QWheelEvent* e) {
  const double steps = e->angleDelta().y() / 120.0;
  if (steps == 0) return;
  const double factor = std::pow(1.2, -steps);
  vtkCamera* cam = renderer_->GetActiveCamera();
  if (navigation_ == Navigation::Plane) {
    // Zoom about the point under the cursor.
    double wx = 0, wy = 0;
    const bool anchored = worldAt(e->position().toPoint(), wx, wy);
    double fp[3], pos[3];
    cam->GetFocalPoint(fp);
    cam->GetPosition(pos);
    cam->SetParallelScale(cam->GetParallelScale() * factor);
    if (anchored) {
      const double nx = wx + (fp[0] - wx) * factor, ny = wy + (fp[1] - wy) * factor;
      cam->SetFocalPoint(nx, ny, fp[2]);
      cam->SetPosition(nx, ny, pos[2]);
    }
  } else {
    cam->Dolly(1.0 / factor);
    renderer_->ResetCameraClippingRange();
  }
  refresh();
  Q_EMIT viewChanged();
}

}  // namespace tessera::gui
