// The Tessera desktop window: the exact region map of a slice (VTK), the ray
// through a picked point with an alpha slider, its confidence curve, softmax
// bars and activation pattern, and the usual menus, settings and status bar.
// Heavy work (slices, rays) runs off the UI thread and can be cancelled.
#pragma once

#include <QFutureWatcher>
#include <QMainWindow>
#include <QTimer>
#include <atomic>
#include <mutex>
#include <memory>
#include <optional>

#include "core/network.hpp"
#include "gui/map_overlay.hpp"
#include "gui/scene.hpp"

class QComboBox;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QTabWidget;

namespace tessera::gui {

class ConfidenceChart;
class PatternGrid;
class RegionScene;
class SurfaceScene;
class SoftmaxBars;
class VtkView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  MainWindow();
  ~MainWindow() override;
  // Loads a model; on failure shows the reason (message box unless quiet)
  // and keeps the previous state. Returns whether it loaded.
  bool openModel(const QString& path, bool quiet = false);
  // Sets the slice origin from a data file (image models); same rules.
  bool openInput(const QString& path, bool quiet = false);
  // An input box (VNN-LIB input bounds or two rows of numbers): the map
  // shows only the part of the slice inside it, and rays report where they
  // leave it. An empty path clears it. Same rules.
  bool openBoxFile(const QString& path, bool quiet = false);
  const InputBox* inputBox() const { return box_ ? &*box_ : nullptr; }
  void pickPoint(double u, double v);  // the ray is followed off the UI thread; rayReady() when done
  // Show the slice of another frame (recomputes the regions).
  void setFrame(const SliceFrame& frame);
  bool useRayPlane();  // the plane of the picked point's ray; false without one
  void setAlpha(double alpha);
  void setColouring(Colouring c);
  Colouring colouring() const { return colouring_; }
  // The colouring the "Colour by" box shows (it must always match the map).
  Colouring colourBoxColouring() const;
  // Class names for the legend, the read-out and the chart, replacing the
  // model's own (an empty list restores them).
  void setClassNames(const std::vector<std::string>& names);
  // What the map draws over its polygons now (axes, legend, markers, ...).
  const MapOverlay& overlay() const { return overlay_; }
  // Bounds the confidence on the l-inf ball of radius eps around the picked
  // point (inside the input box, or [0,1]^d for image models): the linear
  // relaxation, then branch and bound for at most exact_seconds, off the UI
  // thread; ballReady() when done. The map shows the ball and its bound.
  // False (with a message) without a picked point or with a bad radius.
  bool boundBall(double eps, double exact_seconds = 10.0, bool quiet = false);
  const BallBound* ballBound() const { return ball_.get(); }
  // Stops the slice in progress (as the Cancel button does).
  void cancelSlice();
  // Carries out step n of the guided tour (gui/tour.hpp) and shows its
  // text; tourStepReady() when its picture is complete. False for no such step.
  bool runTourStep(int n);
  int tourStep() const { return tour_step_; }
  class CompareWindow* tourCompare() const { return tour_compare_; }
  // The fan of the network without biases drawn over the map (dashed rays
  // from the plane's origin): where the map goes far away.
  void showFan(bool on);
  // Zooms out by 10x, `steps` times, recomputing the map each time, so the
  // map's convergence to the fan can be watched.
  void zoomToInfinity(int steps = 6);
  // Shows and computes the map on this window of the current plane.
  void showWindow(const SliceWindow& w);
  // Interaction timings for the benchmarks: `frames` pans of the map, each
  // rendered at once (VTK render + overlay), and `steps` moves of alpha
  // with everything that follows (chart, bars, pattern, map overlay).
  struct Timings {
    std::vector<double> frame_ms, render_ms, alpha_ms;
  };
  Timings measureInteraction(int frames, int steps);
  // The most regions a slice computes before it stops (a partial map).
  void setMaxRegions(std::size_t n) { max_regions_ = n; }
  const Slice2d* slice() const { return slice_.get(); }
  std::size_t sceneCells() const;
  // Regions of the slice in progress already on the map (before it ends).
  std::size_t previewCells() const;
  bool busy() const;
  const RayView* ray() const { return ray_.get(); }
  double alpha() const { return alpha_; }
  QString lastError() const { return last_error_; }
  VtkView* regionView() const { return view_; }
  VtkView* surfaceView() const { return surface_view_; }
  void showSurface(bool on);  // the 3-D tab
  // Opens the comparison window for the current model and `others` (one or
  // two more) on the current slice; nullptr and a message on failure.
  class CompareWindow* compareWith(const QStringList& others, bool quiet = false);
  std::size_t surfaceCells() const;
  const SliceWindow& computedWindow() const { return computed_; }
  const SliceFrame& frame() const { return frame_; }

 Q_SIGNALS:
  void sliceReady();
  // The slice ended without a single region (stopped inside a layer's cut,
  // cancelled, or an error): why.
  void sliceFailed(const QString& why);
  void rayReady();
  void tourStepReady();
  void fanReady();
  void ballReady();
  void ballFailed(const QString& why);

 private:
  void buildMenus();
  // Builds the 3-D surface of the current slice if it is stale (on showing
  // its tab).
  void updateSurface();
  // Drops the bounded ball (and stops its job).
  void clearBall();
  void buildTour();
  void continueTour();
  void computeFan();
  // Forgets the ray (and stops the one being followed): its chart, bars,
  // pattern, slider and Play button. A ray job started before is ignored
  // when it ends.
  void clearRay();
  void buildPanels();
  void computeSlice(const SliceWindow& window);
  void onSliceFinished();
  void onRayFinished();
  void onViewChanged();
  void updateRayPanel();
  void updateRecentMenu();
  void rememberRecent(const QString& path);
  void exportPicture();
  void exportFigure();
 public:
  // The map's figure as File > Export figure writes it (SVG or PNG by the
  // extension), `width` pixels wide. Throws tessera::Error.
  void saveFigure(const QString& path, int width) const;
 private:
  void exportChart();
  // legend: also the frame's labels, the legend and the partial banner (a
  // new slice, colouring or names); otherwise the ray and picks only.
  void updateOverlay(bool legend = true);
  void updateHover(double u, double v);
  std::string className(int k) const;
  std::vector<std::string> classNames() const;
  void exportVtp();
  void showError(const QString& title, const QString& text, bool quiet);

  std::shared_ptr<const Network> net_;
  QString model_path_;
  std::optional<InputBox> box_;
  std::optional<Vector> origin_;
  SliceFrame frame_;
  std::shared_ptr<Slice2d> slice_;
  SliceWindow computed_;
  std::unique_ptr<RayView> ray_;
  std::optional<Eigen::Vector2d> ray_uv_, ray_uv_pending_;
  double alpha_ = 1.0;
  Colouring colouring_ = Colouring::Class;
  AlphaScale scale_;
  QString last_error_;

  VtkView* view_ = nullptr;
  std::unique_ptr<RegionScene> scene_;
  VtkView* surface_view_ = nullptr;
  std::unique_ptr<SurfaceScene> surface_;
  QTabWidget* tabs_ = nullptr;
  bool surface_fitted_ = false;
  bool surface_stale_ = true;  // the surface does not show the current slice yet
  QComboBox* colour_box_ = nullptr;
  QPlainTextEdit* info_ = nullptr;
  QSlider* slider_ = nullptr;
  QLabel* alpha_label_ = nullptr;
  ConfidenceChart* chart_ = nullptr;
  SoftmaxBars* bars_ = nullptr;
  PatternGrid* grid_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_button_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* partial_label_ = nullptr;  // "partial map" in the status bar, apart from the messages
  MapOverlay overlay_;
  std::vector<std::string> class_names_;  // override of the model's, or empty
  QMenu* recent_menu_ = nullptr;
  QTimer view_timer_;

  std::shared_ptr<std::atomic<bool>> cancel_;
  std::shared_ptr<std::atomic<std::size_t>> cut_pieces_;  // pieces of the cut in progress
  std::shared_ptr<std::atomic<std::size_t>> found_;
  // Regions of the slice in progress not yet on screen (the progress timer
  // moves them into the map's preview).
  struct Arrivals {
    std::mutex mutex;
    std::vector<std::pair<ConvexPolygon, int>> regions;
  };
  std::shared_ptr<Arrivals> arrivals_;
  QFutureWatcher<std::shared_ptr<Slice2d>> watcher_;
  QFutureWatcher<std::shared_ptr<RayView>> ray_watcher_;
  std::shared_ptr<std::atomic<bool>> ray_cancel_;
  std::uint64_t seed_ = 1;
  std::size_t max_regions_ = 50000;
  int tour_step_ = -1;
  enum class TourWait { None, Slice, Ray } tour_wait_ = TourWait::None;
  class QDockWidget* tour_dock_ = nullptr;
  QLabel* tour_text_ = nullptr;
  QPushButton *tour_back_ = nullptr, *tour_next_ = nullptr;
  class CompareWindow* tour_compare_ = nullptr;
  QLabel* input_picture_ = nullptr;
  QLabel* alpha_picture_ = nullptr;
  QWidget* pictures_ = nullptr;
  QPlainTextEdit* ray_text_ = nullptr;
  QTimer progress_timer_;
  QPushButton* play_ = nullptr;  // animates alpha on its log scale
  QTimer play_timer_;
  bool fan_on_ = false;
  QAction* fan_action_ = nullptr;
  using FanResult = std::pair<std::vector<Eigen::Vector2d>, std::string>;  // rays, or why none
  QFutureWatcher<FanResult> fan_watcher_;
  std::shared_ptr<std::atomic<bool>> fan_cancel_;
  std::unique_ptr<BallBound> ball_;
  QFutureWatcher<std::shared_ptr<BallBound>> ball_watcher_;
  std::shared_ptr<std::atomic<bool>> ball_cancel_;
  std::uint64_t ball_generation_ = 0, ball_job_generation_ = 0;
  int zoom_steps_ = 0;  // zoomToInfinity: steps still to go
  int zoom_chain_ = 0;  // bumped to drop a pending zoom step
  std::uint64_t ray_generation_ = 0, ray_job_generation_ = 0;  // results of an older ray job are dropped
  SliceFrame slice_frame_, pending_frame_;  // the plane of slice_, and of the slice being computed
  bool tour_call_ = false;  // inside runTourStep (a frame change that keeps the tour going)
};

}  // namespace tessera::gui
