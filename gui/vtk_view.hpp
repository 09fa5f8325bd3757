// A Qt 6 widget that shows a VTK scene. Debian's VTK Qt module is built for
// Qt 5, so this hosts a vtkGenericOpenGLRenderWindow in a QOpenGLWidget
// itself: Qt owns the OpenGL context, VTK renders into its own framebuffer
// with that context current, and paintGL copies (blits) VTK's image into the
// widget's framebuffer. Mouse: wheel zooms; left drag pans (2-D) or rotates
// (3-D); a click reports the world point under the cursor on the z = 0 plane.
#pragma once

#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

#include <QOpenGLWidget>
#include <QPoint>
#include <QSurface>
#include <functional>

class QPainter;

namespace tessera::gui {

class VtkView : public QOpenGLWidget {
  Q_OBJECT
 public:
  enum class Navigation { Plane, Orbit };
  explicit VtkView(QWidget* parent = nullptr);
  ~VtkView() override;

  vtkRenderer* renderer() const { return renderer_; }
  vtkGenericOpenGLRenderWindow* renderWindow() const { return window_; }
  void setNavigation(Navigation n) { navigation_ = n; }
  // Fit the camera to the bounds (x0, x1, y0, y1) of a 2-D scene.
  void fitPlane(double x0, double x1, double y0, double y1);
  // Perspective view of the whole scene from above one corner (3-D).
  void fitOrbit();
  // World point (z = 0 plane) under a widget position.
  bool worldAt(const QPoint& widget_pos, double& x, double& y) const;
  // The visible world rectangle (2-D navigation).
  void visibleRect(double& x0, double& x1, double& y0, double& y1) const;
  // Request a VTK render at the next paint.
  void refresh();
  // Repaint only what is drawn over VTK's picture (the last render is kept).
  void repaintOverlay();
  // Drawn with QPainter over VTK's picture (in widget pixels), by a
  // transparent child widget: in the window and in grab(), not in
  // grabFramebuffer().
  void setOverlay(std::function<void(QPainter&, const QRectF&)> overlay);
  // Background colour of the scene (0..1).
  void setBackground(double r, double g, double b);
  // Seconds the last VTK render took (for the app's frame-rate read-out).
  double lastRenderSeconds() const { return last_render_s_; }

  // OpenGL 3.2 core, as VTK needs; call before the QApplication is created.
  static void setDefaultSurfaceFormat();

 Q_SIGNALS:
  void clicked(double x, double y);
  void hovered(double x, double y);
  void viewChanged();

 protected:
  void initializeGL() override;
  void resizeGL(int w, int h) override;
  void paintGL() override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  void onVtkEvent(vtkObject*, unsigned long event, void* data);
  vtkSmartPointer<vtkGenericOpenGLRenderWindow> window_;
  vtkSmartPointer<vtkRenderer> renderer_;
  Navigation navigation_ = Navigation::Plane;
  bool in_paint_ = false, render_pending_ = true, initialised_ = false;
  bool dragging_ = false, moved_ = false;
  QPoint last_;
  std::vector<unsigned long> observers_;
  QSurface* surface_ = nullptr;
  class Overlay;
  std::function<void(QPainter&, const QRectF&)> overlay_;
  QWidget* overlay_widget_ = nullptr;
  double last_render_s_ = 0;
};

}  // namespace tessera::gui
