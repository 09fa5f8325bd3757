#include "gui/main_window.hpp"

#include "io/input_box.hpp"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QDockWidget>
#include <QElapsedTimer>
#include <cstdio>
#include <cstdlib>
#include <QFrame>
#include <QGridLayout>
#include <QInputDialog>
#include <QPixmap>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QStatusBar>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrent>

#include "export/slice_stats.hpp"
#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/forward.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "gui/charts.hpp"
#include "gui/compare_window.hpp"
#include "gui/figure.hpp"
#include "gui/tour.hpp"
#include "gui/region_scene.hpp"
#include "gui/surface_scene.hpp"
#include "gui/vtk_view.hpp"
#include "vtk/vtp_writer.hpp"

#ifndef TESSERA_SOURCE_DIR
#define TESSERA_SOURCE_DIR "."
#endif

namespace tessera::gui {

namespace {
QPixmap toPixmap(const Picture& p) {
  const QImage::Format format = p.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
  QImage img(p.pixels.data(), p.width, p.height, p.width * p.channels, format);
  return QPixmap::fromImage(img.scaled(96, 96, Qt::KeepAspectRatio, Qt::FastTransformation));
}
}  // namespace

MainWindow::MainWindow() {
  setWindowTitle("Tessera");
  buildPanels();
  buildMenus();
  buildTour();
  QSettings settings;
  colouring_ = static_cast<Colouring>(std::clamp(settings.value("colouring", static_cast<int>(Colouring::Shaded)).toInt(), 0, 3));
  {
    const QSignalBlocker block(colour_box_);
    colour_box_->setCurrentIndex(static_cast<int>(colouring_));
  }
  if (settings.contains("geometry")) restoreGeometry(settings.value("geometry").toByteArray());
  else resize(1280, 800);
  view_timer_.setSingleShot(true);
  view_timer_.setInterval(250);
  connect(&view_timer_, &QTimer::timeout, this, &MainWindow::onViewChanged);
  connect(&watcher_, &QFutureWatcher<std::shared_ptr<Slice2d>>::finished, this, &MainWindow::onSliceFinished);
  connect(&ray_watcher_, &QFutureWatcher<std::shared_ptr<RayView>>::finished, this, &MainWindow::onRayFinished);
  connect(&ball_watcher_, &QFutureWatcher<std::shared_ptr<BallBound>>::finished, this, [this] {
    if (ball_job_generation_ != ball_generation_) return;  // computed for a model or plane since replaced
    std::shared_ptr<BallBound> b = ball_watcher_.result();
    if (!b || !b->error.empty()) {
      const QString why = b ? QString::fromStdString(b->error) : QString("cancelled");
      showError("Cannot bound the ball", why, true);
      Q_EMIT ballFailed(why);
      return;
    }
    ball_ = std::make_unique<BallBound>(std::move(*b));
    overlay_.ball = ball_->outline;
    overlay_.ball_label = ball_->label;
    overlay_.ball_argmax = ball_->argmax_uv;
    status_->setText(QString::fromStdString(ball_->label));
    view_->repaintOverlay();
    Q_EMIT ballReady();
  });
  connect(&fan_watcher_, &QFutureWatcher<FanResult>::finished, this, [this] {
    if (!fan_on_ || fan_watcher_.isCanceled()) return;
    const FanResult fan = fan_watcher_.result();
    overlay_.fan = fan.first;
    if (!fan.second.empty()) status_->setText(QString("No fan: %1").arg(QString::fromStdString(fan.second)));
    else if (fan.first.empty()) status_->setText("The fan has no rays: far away this plane lies in one region.");
    else status_->setText(QString("The asymptotic fan: %1 rays from the plane's origin (dashed).").arg(fan.first.size()));
    view_->repaintOverlay();
    Q_EMIT fanReady();
  });
  progress_timer_.setInterval(200);
  connect(&progress_timer_, &QTimer::timeout, this, [this] {
    if (!found_) return;
    // Inside one layer's cut of one cell no region is finished yet: show the cut.
    const std::size_t pieces = cut_pieces_ ? cut_pieces_->load() : 0;
    if (found_->load() == 0 && pieces > 0)
      progress_->setFormat(QString("cutting: %1 pieces").arg(pieces));
    else
      progress_->setFormat(QString("%1 regions").arg(found_->load()));
    // The map grows as regions arrive.
    if (arrivals_) {
      std::vector<std::pair<ConvexPolygon, int>> fresh;
      {
        std::lock_guard<std::mutex> lock(arrivals_->mutex);
        fresh.swap(arrivals_->regions);
      }
      if (!fresh.empty()) {
        scene_->addPreview(fresh);
        view_->refresh();
      }
    }
  });
}

MainWindow::~MainWindow() {
  if (cancel_) cancel_->store(true);
  if (ray_cancel_) ray_cancel_->store(true);
  if (fan_cancel_) fan_cancel_->store(true);
  if (ball_cancel_) ball_cancel_->store(true);
  ball_watcher_.waitForFinished();
  watcher_.waitForFinished();
  ray_watcher_.waitForFinished();
  fan_watcher_.waitForFinished();
  QSettings settings;
  settings.setValue("geometry", saveGeometry());
  settings.setValue("colouring", static_cast<int>(colouring_));
}

void MainWindow::buildPanels() {
  auto* split = new QSplitter(this);
  tabs_ = new QTabWidget(split);
  view_ = new VtkView;
  scene_ = std::make_unique<RegionScene>(view_->renderer());
  surface_view_ = new VtkView;
  surface_view_->setNavigation(VtkView::Navigation::Orbit);
  surface_ = std::make_unique<SurfaceScene>(surface_view_->renderer());
  tabs_->addTab(view_, "Region map");
  tabs_->addTab(surface_view_, "Logit surface (3-D)");
  connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
    if (i == 1) updateSurface();
  });
  tabs_->setTabToolTip(1, "z = the largest logit: one flat facet per class cell of each region; drag to rotate, wheel to zoom");
  connect(view_, &VtkView::clicked, this, [this](double u, double v) { pickPoint(u, v); });
  connect(view_, &VtkView::viewChanged, this, [this] { view_timer_.start(); });
  connect(view_, &VtkView::hovered, this, &MainWindow::updateHover);
  view_->setOverlay([this](QPainter& p, const QRectF& r) {
    MapOverlay o = overlay_;
    view_->visibleRect(o.view.u0, o.view.u1, o.view.v0, o.view.v1);
    paint_overlay(p, r, o);
  });

  auto* scroll = new QScrollArea(split);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* panel = new QWidget;
  scroll->setWidget(panel);
  auto* layout = new QVBoxLayout(panel);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel("Colour by"));
  colour_box_ = new QComboBox;
  // In the order of Colouring.
  colour_box_->addItems({"region", "predicted class", "largest confidence", "class, shaded by confidence"});
  connect(colour_box_, &QComboBox::currentIndexChanged, this, [this](int i) { setColouring(static_cast<Colouring>(i)); });
  top->addWidget(colour_box_);
  top->addStretch();
  layout->addLayout(top);

  info_ = new QPlainTextEdit;
  info_->setReadOnly(true);
  info_->setMinimumHeight(110);
  info_->setMaximumHeight(150);
  QFont mono("monospace");
  mono.setStyleHint(QFont::Monospace);
  mono.setPointSizeF(8.5);
  info_->setFont(mono);
  info_->setPlaceholderText("Click a region: its pattern, class, confidence and affine map appear here.");
  layout->addWidget(info_);

  auto* ray_box = new QGroupBox("The ray αx through the picked point");
  auto* ray_layout = new QVBoxLayout(ray_box);
  auto* slider_row = new QHBoxLayout;
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setRange(0, scale_.steps);
  slider_->setValue(scale_.position(1.0));
  slider_->setEnabled(false);
  alpha_label_ = new QLabel("α = 1");
  alpha_label_->setMinimumWidth(110);
  connect(slider_, &QSlider::valueChanged, this, [this](int p) { setAlpha(scale_.alpha(p)); });
  play_ = new QPushButton("▶ Play");
  play_->setToolTip("Move αx out along the ray on the logarithmic scale (10⁻² … 10¹⁶)");
  play_->setEnabled(false);
  play_->setCheckable(true);
  play_timer_.setInterval(33);
  connect(play_, &QPushButton::toggled, this, [this](bool on) {
    play_->setText(on ? "❚❚ Pause" : "▶ Play");
    if (on && slider_->value() >= slider_->maximum()) slider_->setValue(0);
    if (on) play_timer_.start();
    else play_timer_.stop();
  });
  // Nine seconds from 10^-2 to 10^16: five steps of the slider per frame.
  connect(&play_timer_, &QTimer::timeout, this, [this] {
    const int next = std::min(slider_->maximum(), slider_->value() + 5);
    slider_->setValue(next);
    if (next >= slider_->maximum()) play_->setChecked(false);
  });
  slider_row->addWidget(play_);
  slider_row->addWidget(slider_, 1);
  slider_row->addWidget(alpha_label_);
  ray_layout->addLayout(slider_row);
  chart_ = new ConfidenceChart;
  chart_->setMinimumHeight(190);
  chart_->setScale(scale_);
  connect(chart_, &ConfidenceChart::alphaPicked, this, [this](double a) { slider_->setValue(scale_.position(a)); });
  ray_layout->addWidget(chart_, 2);
  // The softmax bars and, for image models, x and alpha*x side by side, so
  // that the whole panel fits a laptop screen.
  auto* bars_row = new QHBoxLayout;
  auto* bars_col = new QVBoxLayout;
  bars_col->addWidget(new QLabel("softmax at αx"));
  bars_ = new SoftmaxBars;
  bars_->setMinimumHeight(80);
  bars_col->addWidget(bars_, 1);
  bars_row->addLayout(bars_col, 1);
  pictures_ = new QWidget;
  auto* pic_grid = new QGridLayout(pictures_);
  pic_grid->setContentsMargins(0, 0, 0, 0);
  input_picture_ = new QLabel;
  alpha_picture_ = new QLabel;
  for (QLabel* l : {input_picture_, alpha_picture_}) {
    l->setFixedSize(100, 100);
    l->setFrameShape(QFrame::Box);
    l->setAlignment(Qt::AlignCenter);
  }
  auto* x_label = new QLabel("x");
  auto* ax_label = new QLabel("αx (clipped to [0,1])");
  ax_label->setToolTip("αx shown with its values clipped to [0, 1]");
  pic_grid->addWidget(x_label, 0, 0, Qt::AlignHCenter);
  pic_grid->addWidget(ax_label, 0, 1, Qt::AlignHCenter);
  pic_grid->addWidget(input_picture_, 1, 0);
  pic_grid->addWidget(alpha_picture_, 1, 1);
  pictures_->setVisible(false);
  bars_row->addWidget(pictures_);
  ray_layout->addLayout(bars_row, 1);
  ray_layout->addWidget(new QLabel("activation pattern Σ(αx): active units per layer"));
  grid_ = new PatternGrid;
  grid_->setMinimumHeight(60);
  ray_layout->addWidget(grid_, 1);
  ray_text_ = new QPlainTextEdit;
  ray_text_->setReadOnly(true);
  ray_text_->setFont(mono);
  ray_text_->setMinimumHeight(90);
  ray_text_->setMaximumHeight(120);
  ray_text_->setPlaceholderText("The region of αx along the ray and its logits c + β·w appear here.");
  ray_layout->addWidget(ray_text_);
  layout->addWidget(ray_box, 1);

  split->addWidget(tabs_);
  split->addWidget(scroll);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({760, 520});
  setCentralWidget(split);

  status_ = new QLabel("Open a model (File ▸ Open model… or File ▸ Examples).");
  statusBar()->addWidget(status_, 1);
  progress_ = new QProgressBar;
  progress_->setRange(0, 0);
  progress_->setMaximumWidth(180);
  progress_->setTextVisible(true);
  progress_->setVisible(false);
  cancel_button_ = new QPushButton("Cancel");
  cancel_button_->setVisible(false);
  connect(cancel_button_, &QPushButton::clicked, this, [this] {
    cancelSlice();
    zoom_steps_ = 0;
  });
  partial_label_ = new QLabel;
  partial_label_->setStyleSheet("QLabel { color: #a00000; font-weight: bold; }");
  partial_label_->setVisible(false);
  statusBar()->addPermanentWidget(partial_label_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_button_);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  QAction* open = file->addAction("&Open model…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open an ONNX model", QFileInfo(model_path_).absolutePath(),
                                                      "ONNX models (*.onnx);;All files (*)");
    if (!path.isEmpty()) openModel(path);
  });
  open->setShortcut(QKeySequence::Open);
  QMenu* examples = file->addMenu("&Examples");
  const QString models = QString(TESSERA_SOURCE_DIR) + "/data/models";
  for (const char* name : {"toy2d", "toy2d_leaky", "trained/moons_plain", "trained/moons_ceda", "trained/moons_acet",
                              "trained/mnist_plain", "trained/mnist_acet", "trained/lenet/mnist_plain", "trained/lenet/mnist_ceda",
                              "trained/lenet/mnist_acet", "mnist_mlp", "mnist_cnn"}) {
    examples->addAction(name, this, [this, models, name] { openModel(models + "/" + QString(name) + ".onnx"); });
  }
  QAction* input = file->addAction("Open &input for the slice…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open an input (image, vector or IDX file)", QString(TESSERA_SOURCE_DIR) + "/data/inputs",
                                                      "Inputs (*.png *.pgm *.txt *.csv *.idx *.gz *-ubyte);;All files (*)");
    if (!path.isEmpty()) openInput(path);
  });
  input->setShortcut(QKeySequence("Ctrl+I"));
  file->addAction("Open input &box (VNN-LIB)…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Choose an input box: a VNN-LIB property or two rows of bounds",
                                                      QString(), "Input boxes (*.vnnlib *.txt);;All files (*)");
    if (!path.isEmpty()) openBoxFile(path);
  });
  file->addAction("Clear input box", this, [this] { openBoxFile(QString()); });
  recent_menu_ = file->addMenu("&Recent models");
  updateRecentMenu();
  QAction* compare = file->addAction("&Compare with other models…", this, [this] {
    const QStringList others = QFileDialog::getOpenFileNames(this, "Compare with one or two models (e.g. CEDA, ACET)",
                                                             QFileInfo(model_path_).absolutePath(), "ONNX models (*.onnx)");
    if (!others.isEmpty()) compareWith(others);
  });
  compare->setShortcut(QKeySequence("Ctrl+K"));
  file->addSeparator();
  QAction* figure = file->addAction("&Export figure of the map (PNG, SVG)…", this, &MainWindow::exportFigure);
  figure->setShortcut(QKeySequence("Ctrl+E"));
  file->addAction("Export figure of the &chart (PNG, SVG)…", this, &MainWindow::exportChart);
  file->addAction("Export &screen picture of the map…", this, &MainWindow::exportPicture);
  file->addAction("Export slice as .&vtp…", this, &MainWindow::exportVtp);
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", qApp, &QApplication::quit);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* slice_menu = menuBar()->addMenu("&Slice");
  slice_menu->addAction("Through the &centre, random directions", this, [this] {
    if (net_) setFrame(default_frame(*net_, std::nullopt, seed_));
  });
  slice_menu->addAction("Through an &input…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open an input (image, vector or IDX file)", QString(TESSERA_SOURCE_DIR) + "/data/inputs",
                                                      "Inputs (*.png *.pgm *.txt *.csv *.idx *.gz *-ubyte);;All files (*)");
    if (!path.isEmpty()) openInput(path);
  });
  slice_menu->addAction("Through uniform &noise", this, [this] {
    if (!net_) return;
    ++seed_;
    origin_ = noise_input(*net_, seed_);
    setFrame(default_frame(*net_, origin_, seed_));
  });
  slice_menu->addAction("Through &three inputs…", this, [this] {
    if (!net_) return;
    const QStringList files = QFileDialog::getOpenFileNames(this, "Choose three inputs: the origin, then the ends of u and v",
                                                            QString(TESSERA_SOURCE_DIR) + "/data/inputs");
    if (files.isEmpty()) return;
    try {
      if (files.size() != 3) throw Error("choose exactly three inputs (chose " + std::to_string(files.size()) + ")");
      std::vector<Vector> x;
      for (const QString& f : files) x.push_back(read_input_for(net_->input_shape(), f.toStdString()));
      setFrame(points_frame(x[0], x[1], x[2]));
    } catch (const std::exception& e) {
      showError("Cannot make the slice", QString::fromStdString(e.what()), false);
    }
  });
  QAction* ray_plane = slice_menu->addAction("Plane of the picked &ray", this, [this] {
    if (!useRayPlane()) showError("No ray", "click a point first: the slice then contains its ray", false);
  });
  ray_plane->setShortcut(QKeySequence("Ctrl+R"));
  slice_menu->addAction("New random &directions", this, [this] {
    if (!net_) return;
    ++seed_;
    setFrame(default_frame(*net_, origin_, seed_));
  });

  QMenu* view = menuBar()->addMenu("&View");
  QAction* fit = view->addAction("&Fit slice", this, [this] {
    view_->fitPlane(computed_.u0, computed_.u1, computed_.v0, computed_.v1);
  });
  fit->setShortcut(QKeySequence("Ctrl+0"));
  QAction* far = view->addAction("Zoom &far out (the unbounded fan)", this, [this] {
    double x0, x1, y0, y1;
    view_->visibleRect(x0, x1, y0, y1);
    const double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1), r = 20 * std::max(x1 - x0, y1 - y0);
    view_->fitPlane(cx - r, cx + r, cy - r, cy + r);
    view_timer_.start();
  });
  far->setShortcut(QKeySequence("Ctrl+-"));
  fan_action_ = view->addAction("Show the asymptotic &fan (the network without biases)", this, [this](bool on) { showFan(on); });
  fan_action_->setCheckable(true);
  fan_action_->setShortcut(QKeySequence("Ctrl+F"));
  view->addAction("Zoom to &infinity (×10, six times)", this, [this] { zoomToInfinity(); })->setShortcut(QKeySequence("Ctrl+Shift+-"));
  for (int i = 0; i < 4; ++i) {
    QAction* a = view->addAction(QString("Colour by %1").arg(colouring_name(static_cast<Colouring>(i))), this,
                                 [this, i] { colour_box_->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(QString("Ctrl+%1").arg(i + 1)));
  }
  QMenu* analysis = menuBar()->addMenu("&Analysis");
  analysis->addAction("&Bound the confidence near the picked point…", this, [this] {
    bool ok = false;
    const double eps = QInputDialog::getDouble(this, "Bound the confidence near the picked point",
                                               "Radius of the l-infinity ball around the picked point:", 0.05, 0.0, 1e6, 4, &ok);
    if (ok) boundBall(eps);
  });
  QMenu* tour = menuBar()->addMenu("&Tour");
  QAction* start = tour->addAction("&Start the tour", this, [this] { runTourStep(0); });
  start->setShortcut(QKeySequence("F1"));
  tour->addSeparator();
  for (int i = 0; i < static_cast<int>(tour_steps().size()); ++i)
    tour->addAction(QString::fromStdString(tour_steps()[i].title), this, [this, i] { runTourStep(i); });
  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("&About Tessera", this, [this] {
    QMessageBox::about(this, "About Tessera",
                       "<b>Tessera</b> 0.1 — computes, certifies and shows the linear regions of ReLU networks.<br><br>"
                       "Every region on the map is exact: on it the network is one affine map V·x + a. Click a point to "
                       "follow its ray αx: it crosses region after region, enters its last, unbounded region and, as "
                       "Hein, Andriushchenko and Bitterwolf (CVPR 2019) proved, its confidence tends to 1.<br><br>"
                       "Qt 6, VTK 9, Eigen, COIN-OR Clp.");
  });
}

void MainWindow::buildTour() {
  tour_dock_ = new QDockWidget("Tour", this);
  tour_dock_->setObjectName("tour");
  auto* panel = new QWidget;
  auto* layout = new QVBoxLayout(panel);
  tour_text_ = new QLabel;
  tour_text_->setWordWrap(true);
  tour_text_->setTextFormat(Qt::RichText);
  tour_text_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  tour_text_->setMinimumWidth(260);
  QFont f = tour_text_->font();
  f.setPointSizeF(f.pointSizeF() * 1.1);
  tour_text_->setFont(f);
  layout->addWidget(tour_text_, 1);
  auto* buttons = new QHBoxLayout;
  tour_back_ = new QPushButton("◀ Back");
  tour_next_ = new QPushButton("Next ▶");
  connect(tour_back_, &QPushButton::clicked, this, [this] { runTourStep(tour_step_ - 1); });
  connect(tour_next_, &QPushButton::clicked, this, [this] { runTourStep(tour_step_ + 1); });
  buttons->addWidget(tour_back_);
  buttons->addStretch();
  buttons->addWidget(tour_next_);
  layout->addLayout(buttons);
  tour_dock_->setWidget(panel);
  addDockWidget(Qt::LeftDockWidgetArea, tour_dock_);
  tour_dock_->setVisible(false);
  connect(tour_dock_, &QDockWidget::visibilityChanged, this, [this](bool shown) {
    if (!shown && !tour_dock_->isVisible()) tour_wait_ = TourWait::None;  // closed: the tour stops
  });
  // The steps wait for the slice, then the ray.
  connect(this, &MainWindow::sliceReady, this, [this] {
    if (tour_wait_ == TourWait::Slice) continueTour();
  });
  connect(this, &MainWindow::rayReady, this, [this] {
    if (tour_wait_ == TourWait::Ray) continueTour();
  });
}

bool MainWindow::runTourStep(int n) {
  const auto& steps = tour_steps();
  if (n < 0 || n >= static_cast<int>(steps.size())) return false;
  const TourStep& step = steps[n];
  tour_step_ = n;
  if (tour_compare_) {
    tour_compare_->close();
    tour_compare_ = nullptr;
  }
  tour_text_->setText(QString("<h3>%1</h3><p>%2</p><p style='color:#666'>Step %3 of %4.</p>")
                          .arg(QString::fromStdString(step.title), QString::fromStdString(step.text))
                          .arg(n + 1)
                          .arg(steps.size()));
  tour_back_->setEnabled(n > 0);
  tour_next_->setEnabled(n + 1 < static_cast<int>(steps.size()));
  tour_dock_->setVisible(true);
  setColouring(step.colouring);
  tour_wait_ = TourWait::Slice;
  tour_call_ = true;  // openModel and setFrame below keep the tour going
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{tour_call_};
  const QString path = QString(TESSERA_SOURCE_DIR) + "/data/models/" + QString::fromStdString(step.model);
  if (QFileInfo(path).absoluteFilePath() != QFileInfo(model_path_).absoluteFilePath() || !slice_) {
    if (!openModel(path, true)) {
      tour_wait_ = TourWait::None;
      return false;
    }
  }
  SliceFrame frame = default_frame(*net_, std::nullopt);
  if (step.window) frame.window = *step.window;
  setFrame(frame);
  return true;
}

void MainWindow::continueTour() {
  if (tour_step_ < 0) return;
  const TourStep& step = tour_steps()[tour_step_];
  if (tour_wait_ == TourWait::Slice && step.point) {
    tour_wait_ = TourWait::Ray;
    pickPoint(step.point->x(), step.point->y());
    return;
  }
  tour_wait_ = TourWait::None;
  if (step.point) setAlpha(step.alpha);
  if (!step.compare.empty()) {
    QStringList others;
    for (const std::string& m : step.compare) others << QString(TESSERA_SOURCE_DIR) + "/data/models/" + QString::fromStdString(m);
    tour_compare_ = compareWith(others, true);
    if (tour_compare_) {
      CompareWindow* opened = tour_compare_;
      connect(opened, &QObject::destroyed, this, [this, opened] {
        if (tour_compare_ == opened) tour_compare_ = nullptr;
      });
      connect(tour_compare_, &CompareWindow::allReady, this, [this, step] {
        if (!tour_compare_) return;
        if (step.point) {
          tour_compare_->pickPoint(step.point->x(), step.point->y());
          tour_compare_->setAlpha(step.alpha);
        }
        Q_EMIT tourStepReady();
      });
      return;
    }
  }
  Q_EMIT tourStepReady();
}

void MainWindow::showWindow(const SliceWindow& w) {
  if (!net_) return;
  computeSlice(w);
  view_->fitPlane(w.u0, w.u1, w.v0, w.v1);
}

MainWindow::Timings MainWindow::measureInteraction(int frames, int steps) {
  Timings t;
  QElapsedTimer clock;
  double x0, x1, y0, y1;
  view_->visibleRect(x0, x1, y0, y1);
  const double w = x1 - x0, h = y1 - y0;
  for (int i = 0; i < frames; ++i) {
    // Pan by 1 % of the view per frame, as a drag does; repaint() renders now.
    const double dx = 0.01 * w * std::cos(0.1 * i), dy = 0.01 * h * std::sin(0.1 * i);
    x0 += dx, x1 += dx, y0 += dy, y1 += dy;
    clock.start();
    view_->fitPlane(x0, x1, y0, y1);
    view_->repaint();
    QApplication::processEvents(QEventLoop::ExcludeUserInputEvents);
    t.frame_ms.push_back(clock.nsecsElapsed() * 1e-6);
    t.render_ms.push_back(view_->lastRenderSeconds() * 1e3);
  }
  if (ray_)
    for (int i = 0; i < steps; ++i) {
      clock.start();
      slider_->setValue(scale_.position(std::pow(10.0, -2 + 18.0 * i / std::max(1, steps - 1))));
      repaint();
      view_->repaint();
      QApplication::processEvents(QEventLoop::ExcludeUserInputEvents);
      t.alpha_ms.push_back(clock.nsecsElapsed() * 1e-6);
    }
  return t;
}

bool MainWindow::boundBall(double eps, double exact_seconds, bool quiet) {
  if (!net_ || !slice_ || !overlay_.picked) {
    showError("Bound the ball", "Pick a point on the map first: the ball is centred on it.", quiet);
    return false;
  }
  if (!(eps >= 0) || !std::isfinite(eps)) {
    showError("Bound the ball", "The radius must be a finite number >= 0.", quiet);
    return false;
  }
  const Vector x = point_at(slice_frame_, overlay_.picked->x(), overlay_.picked->y());
  if (ball_cancel_) ball_cancel_->store(true);
  ball_watcher_.waitForFinished();
  ball_cancel_ = std::make_shared<std::atomic<bool>>(false);
  ball_job_generation_ = ball_generation_;
  status_->setText(QString("Bounding the confidence within %1 of the picked point …").arg(eps));
  auto net = net_;
  auto cancel = ball_cancel_;
  const std::optional<InputBox> box = box_;
  const SliceFrame frame = slice_frame_;
  const SliceWindow window = computed_;
  ball_watcher_.setFuture(QtConcurrent::run([net, x, eps, exact_seconds, cancel, box, frame, window]() -> std::shared_ptr<BallBound> {
    try {
      return std::make_shared<BallBound>(bound_ball(*net, frame, window, x, eps, box ? &*box : nullptr, exact_seconds, cancel.get()));
    } catch (const std::exception& e) {
      auto r = std::make_shared<BallBound>();
      r->error = e.what();
      return r;
    }
  }));
  return true;
}

void MainWindow::clearBall() {
  ++ball_generation_;  // a job still running is dropped when it ends
  if (ball_cancel_) ball_cancel_->store(true);
  ball_.reset();
  overlay_.ball.clear();
  overlay_.ball_label.clear();
  overlay_.ball_argmax.reset();
}

void MainWindow::clearRay() {
  ++ray_generation_;
  clearBall();  // the bounded ball belongs to the model and plane it was computed on
  if (ray_cancel_) ray_cancel_->store(true);
  ray_.reset();
  ray_uv_.reset();
  chart_->setRay(nullptr);
  bars_->setProbabilities({});
  grid_->setPattern(std::nullopt);
  ray_text_->clear();
  pictures_->setVisible(false);
  play_->setChecked(false);
  play_->setEnabled(false);
  slider_->setEnabled(false);
  surface_->setRay(nullptr, std::nullopt, alpha_);
}

void MainWindow::showFan(bool on) {
  fan_on_ = on;
  if (fan_action_->isChecked() != on) fan_action_->setChecked(on);
  overlay_.fan.clear();
  if (on) computeFan();
  else if (fan_cancel_) fan_cancel_->store(true);
  view_->repaintOverlay();
}

void MainWindow::computeFan() {
  if (!net_ || !fan_on_) return;
  if (fan_cancel_) fan_cancel_->store(true);
  fan_watcher_.waitForFinished();
  fan_cancel_ = std::make_shared<std::atomic<bool>>(false);
  auto net = net_;
  auto cancel = fan_cancel_;
  const Plane2d plane = frame_.plane;
  fan_watcher_.setFuture(QtConcurrent::run([net, plane, cancel]() -> FanResult {
    try {
      return {asymptotic_fan(*net, plane, cancel.get()), ""};
    } catch (const std::exception& e) {
      return {{}, e.what()};
    }
  }));
}

void MainWindow::zoomToInfinity(int steps) {
  ++zoom_chain_;  // a pending step of an earlier chain is dropped
  if (!slice_ || busy()) {
    zoom_steps_ = 0;
    return;
  }
  zoom_steps_ = steps;
  if (!fan_on_) showFan(true);
  const SliceWindow w = computed_;
  const double cx = 0.5 * (w.u0 + w.u1), cy = 0.5 * (w.v0 + w.v1), hw = 5 * (w.u1 - w.u0), hh = 5 * (w.v1 - w.v0);
  const SliceWindow next{cx - hw, cx + hw, cy - hh, cy + hh};
  view_->fitPlane(next.u0, next.u1, next.v0, next.v1);
  computeSlice(next);
}

void MainWindow::showError(const QString& title, const QString& text, bool quiet) {
  last_error_ = text;
  status_->setText(title + ": " + text);
  if (!quiet) QMessageBox::critical(this, title, text);
}

bool MainWindow::openModel(const QString& path, bool quiet) {
  std::shared_ptr<Network> net;
  try {
    net = std::make_shared<Network>(load_onnx(path.toStdString()));
  } catch (const std::exception& e) {
    showError("Cannot open model", QString::fromStdString(e.what()), quiet);
    return false;
  }
  if (cancel_) cancel_->store(true);
  if (ray_cancel_) ray_cancel_->store(true);
  watcher_.waitForFinished();
  ray_watcher_.waitForFinished();
  net_ = net;
  seed_ = 1;
  if (box_ && box_->size() != net_->input_size()) box_.reset();  // the box belonged to another input size
  model_path_ = path;
  origin_.reset();
  clearRay();
  slice_.reset();
  surface_fitted_ = false;
  overlay_ = MapOverlay{};
  info_->clear();
  frame_ = default_frame(*net_, std::nullopt);
  zoom_steps_ = 0;
  if (!tour_call_) tour_wait_ = TourWait::None;  // the user left the tour
  computeFan();  // for the new plane, when the fan is shown
  setClassNames(class_names_);
  setWindowTitle(QString("Tessera — %1").arg(QFileInfo(path).fileName()));
  rememberRecent(path);
  computeSlice(frame_.window);
  view_->fitPlane(frame_.window.u0, frame_.window.u1, frame_.window.v0, frame_.window.v1);
  return true;
}

bool MainWindow::openBoxFile(const QString& path, bool quiet) {
  if (path.isEmpty()) {
    box_.reset();
  } else {
    if (!net_) {
      showError("No model", "open a model first", quiet);
      return false;
    }
    try {
      box_ = read_input_box(path.toStdString(), net_->input_size());
    } catch (const std::exception& e) {
      showError("Cannot use input box", QString::fromStdString(e.what()), quiet);
      return false;
    }
  }
  clearRay();
  zoom_steps_ = 0;
  updateOverlay();
  computeSlice(computed_);
  return true;
}

bool MainWindow::openInput(const QString& path, bool quiet) {
  if (!net_) {
    showError("No model", "open a model first", quiet);
    return false;
  }
  try {
    origin_ = read_input_for(net_->input_shape(), path.toStdString());
  } catch (const std::exception& e) {
    showError("Cannot use input", QString::fromStdString(e.what()), quiet);
    return false;
  }
  setFrame(default_frame(*net_, origin_));
  return true;
}

void MainWindow::computeSlice(const SliceWindow& window) {
  if (!net_) return;
  if (cancel_) cancel_->store(true);
  watcher_.waitForFinished();
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  found_ = std::make_shared<std::atomic<std::size_t>>(0);
  cut_pieces_ = std::make_shared<std::atomic<std::size_t>>(0);
  arrivals_ = std::make_shared<Arrivals>();
  scene_->clearPreview();
  computed_ = window;
  pending_frame_ = frame_;
  progress_->setVisible(true);
  cancel_button_->setVisible(true);
  progress_timer_.start();
  status_->setText(QString("Computing the exact regions on %1 …").arg(QString::fromStdString(frame_.description)));
  auto net = net_;
  const Plane2d plane = frame_.plane;
  auto cancel = cancel_;
  auto found = found_;
  auto pieces = cut_pieces_;
  const std::optional<InputBox> box = box_;
  const std::size_t max_regions = max_regions_;
  auto arrivals = arrivals_;
  watcher_.setFuture(QtConcurrent::run([net, plane, window, cancel, found, pieces, box, max_regions, arrivals]() -> std::shared_ptr<Slice2d> {
    SliceOptions o;
    if (box) {
      o.box_lower = box->lo;
      o.box_upper = box->hi;
    }
    o.cancel = cancel.get();
    o.max_regions = max_regions;
    o.progress = [found](std::size_t n) { found->store(n); };
    o.cut_progress = [pieces](const SliceOptions::CutProgress& p) { pieces->store(p.pieces); };
    o.region_found = [arrivals](const ConvexPolygon& p, int k) {
      std::lock_guard<std::mutex> lock(arrivals->mutex);
      arrivals->regions.emplace_back(p, k);
    };
    try {
      return std::make_shared<Slice2d>(slice_regions_2d(*net, plane, window, o));
    } catch (const std::exception& e) {
      auto s = std::make_shared<Slice2d>();
      s->stop_reason = e.what();
      return s;
    }
  }));
}

void MainWindow::onSliceFinished() {
  progress_timer_.stop();
  arrivals_.reset();
  progress_->setVisible(false);
  cancel_button_->setVisible(false);
  std::shared_ptr<Slice2d> s = watcher_.result();
  if (!s) return;
  if (s->polygons.empty()) {
    zoom_steps_ = 0;
    if (tour_wait_ == TourWait::Slice) tour_wait_ = TourWait::None;
    status_->setText(QString("No regions: %1").arg(QString::fromStdString(s->stop_reason)));
    Q_EMIT sliceFailed(QString::fromStdString(s->stop_reason));
    return;
  }
  slice_ = s;
  slice_frame_ = pending_frame_;
  set_pick(overlay_, slice_.get(), overlay_.picked);
  scene_->setSlice(*slice_, colouring_, net_->output_size());
  // A partial map says so on the map and in the status bar (not overwritten
  // by later messages); what was not computed stays grey.
  const bool partial = !slice_->complete;
  partial_label_->setText(partial ? QString("partial map: %1 regions").arg(slice_->polygons.size()) : QString());
  partial_label_->setToolTip(QString::fromStdString(slice_->stop_reason));
  partial_label_->setVisible(partial);
  if (partial) view_->setBackground(0.78, 0.78, 0.78);
  else view_->setBackground(1, 1, 1);
  // The 3-D surface is built when its tab is shown (a hidden surface of a
  // hundred thousand regions would cost a third of a second here, after a
  // Cancel too).
  surface_stale_ = true;
  if (tabs_->currentIndex() == 1) updateSurface();
  view_->refresh();
  // The same statistics as `tessera slice` prints (export/slice_stats).
  const SliceStatistics stats = slice_statistics(*slice_);
  QString text = QString("%1 regions (%2 per unit area, median area %3) on [%4, %5] × [%6, %7] of %8")
                     .arg(stats.regions)
                     .arg(stats.density, 0, 'g', 3)
                     .arg(stats.median_size, 0, 'g', 3)
                     .arg(computed_.u0, 0, 'g', 3)
                     .arg(computed_.u1, 0, 'g', 3)
                     .arg(computed_.v0, 0, 'g', 3)
                     .arg(computed_.v1, 0, 'g', 3)
                     .arg(QString::fromStdString(frame_.description));
  if (box_) text += QString(", inside the input box of %1").arg(QFileInfo(QString::fromStdString(box_->source)).fileName());
  if (!slice_->complete) text += QString(" — partial: %1").arg(QString::fromStdString(slice_->stop_reason));
  status_->setText(text);
  updateOverlay();
  if (zoom_steps_ > 0 && --zoom_steps_ > 0) {
    const int chain = zoom_chain_;
    QTimer::singleShot(700, this, [this, chain] {
      if (chain != zoom_chain_ || zoom_steps_ <= 0) return;  // stopped or restarted meanwhile
      zoomToInfinity(zoom_steps_);
    });
  }
  Q_EMIT sliceReady();
}

void MainWindow::onViewChanged() {
  if (!net_ || !slice_ || busy()) return;
  double x0, x1, y0, y1;
  view_->visibleRect(x0, x1, y0, y1);
  const bool outside = x0 < computed_.u0 || x1 > computed_.u1 || y0 < computed_.v0 || y1 > computed_.v1;
  if (!outside) return;
  // Zoomed or panned past the computed window: compute the visible part (a little more).
  const double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1), hw = 0.625 * (x1 - x0), hh = 0.625 * (y1 - y0);
  computeSlice({cx - hw, cx + hw, cy - hh, cy + hh});
}

bool MainWindow::busy() const { return watcher_.isRunning(); }

std::size_t MainWindow::sceneCells() const { return static_cast<std::size_t>(scene_->cellCount()); }

std::size_t MainWindow::previewCells() const { return static_cast<std::size_t>(scene_->previewCount()); }

std::size_t MainWindow::surfaceCells() const { return static_cast<std::size_t>(surface_->cellCount()); }

void MainWindow::showSurface(bool on) {
  tabs_->setCurrentIndex(on ? 1 : 0);
  if (on) updateSurface();  // already on the tab: currentChanged does not fire
}

void MainWindow::updateSurface() {
  if (!slice_) return;
  if (surface_stale_) {
    surface_->setSlice(*slice_, computed_, colouring_, net_->output_size(), classNames());
    surface_->setRay(ray_.get(), ray_uv_, alpha_);
    surface_stale_ = false;
  }
  if (!surface_fitted_) {
    surface_view_->fitOrbit();
    surface_fitted_ = true;
  }
  surface_view_->refresh();
}

CompareWindow* MainWindow::compareWith(const QStringList& others, bool quiet) {
  if (!net_ || !slice_) {
    showError("Cannot compare", "open a model and wait for its slice first", quiet);
    return nullptr;
  }
  if (others.size() > 2) {
    showError("Cannot compare", "choose one or two other models (three side by side at most)", quiet);
    return nullptr;
  }
  try {
    auto* w = new CompareWindow(QStringList{model_path_} + others, frame_, computed_, colouring_, this);
    w->setAttribute(Qt::WA_DeleteOnClose);
    w->show();
    return w;
  } catch (const std::exception& e) {
    showError("Cannot compare", QString::fromStdString(e.what()), quiet);
    return nullptr;
  }
}

void MainWindow::setColouring(Colouring c) {
  colouring_ = c;
  if (colour_box_->currentIndex() != static_cast<int>(c)) {
    const QSignalBlocker block(colour_box_);
    colour_box_->setCurrentIndex(static_cast<int>(c));
  }
  updateOverlay();
  if (slice_) {
    scene_->setColouring(*slice_, colouring_, net_->output_size());
    surface_stale_ = true;
    if (tabs_->currentIndex() == 1) updateSurface();
    view_->refresh();
  }
}

void MainWindow::setFrame(const SliceFrame& frame) {
  if (!net_) return;
  frame_ = frame;
  overlay_.picked.reset();
  overlay_.picked_region.clear();
  overlay_.fan.clear();
  computeFan();  // for the new plane, when the fan is shown
  clearRay();
  zoom_steps_ = 0;
  if (!tour_call_) tour_wait_ = TourWait::None;  // the user left the tour
  updateOverlay();
  computeSlice(frame_.window);
  view_->fitPlane(frame_.window.u0, frame_.window.u1, frame_.window.v0, frame_.window.v1);
}

bool MainWindow::useRayPlane() {
  if (!net_ || !ray_) return false;
  const Vector x = ray_->x;
  try {
    setFrame(ray_frame(*net_, x, seed_));
  } catch (const std::exception& e) {
    showError("Cannot make the slice", QString::fromStdString(e.what()), false);
    return false;
  }
  return true;
}

void MainWindow::pickPoint(double u, double v) {
  if (!net_ || !slice_) return;
  clearBall();  // a bounded ball belongs to the point it was centred on
  const int i = polygon_at(*slice_, u, v);
  set_pick(overlay_, slice_.get(), Eigen::Vector2d(u, v));
  if (i >= 0) {
    RegionInfo info = describe(*slice_, i);
    QString text = QString::fromStdString(info.text());
    text.replace(QString("class          %1").arg(info.predicted_class),
                 QString("class          %1 (%2)").arg(info.predicted_class).arg(QString::fromStdString(className(info.predicted_class))));
    info_->setPlainText(text);
  }
  updateOverlay(false);
  // The plane of the map on screen (a new plane's slice may still be computing).
  const Vector x = point_at(slice_frame_, u, v);
  if (x.cwiseAbs().maxCoeff() == 0) {
    status_->setText("The origin has no ray: pick another point.");
    return;
  }
  // Follow the ray off the UI thread (CNN rays cross thousands of regions).
  if (ray_cancel_) ray_cancel_->store(true);
  ray_watcher_.waitForFinished();
  ray_cancel_ = std::make_shared<std::atomic<bool>>(false);
  status_->setText("Following the ray …");
  auto net = net_;
  auto cancel = ray_cancel_;
  // The ray is a line of the map only when the slice plane contains 0 and x.
  const bool in_plane = slice_frame_.plane.origin.cwiseAbs().maxCoeff() == 0;
  const std::optional<Eigen::Vector2d> uv = in_plane ? std::optional<Eigen::Vector2d>(Eigen::Vector2d(u, v)) : std::nullopt;
  ray_uv_pending_ = uv;
  ray_job_generation_ = ray_generation_;
  const std::optional<InputBox> box = box_;
  ray_watcher_.setFuture(QtConcurrent::run([net, x, cancel, box]() -> std::shared_ptr<RayView> {
    try {
      return std::make_shared<RayView>(make_ray(*net, x, 0.999, 200000, cancel.get(), box ? &*box : nullptr));
    } catch (const std::exception& e) {
      auto r = std::make_shared<RayView>();
      r->error = e.what();
      return r;
    }
  }));
}

void MainWindow::onRayFinished() {
  // A ray of a plane, model or box that has since changed: drop it.
  if (ray_job_generation_ != ray_generation_) return;
  std::shared_ptr<RayView> r = ray_watcher_.result();
  if (!r || !r->error.empty()) {
    if (tour_wait_ == TourWait::Ray) tour_wait_ = TourWait::None;
    showError("Cannot follow the ray", r ? QString::fromStdString(r->error) : QString("cancelled"), true);
    return;
  }
  ray_ = std::make_unique<RayView>(std::move(*r));
  ray_uv_ = ray_uv_pending_;
  chart_->setRay(ray_.get());
  if (auto pic = picture_of(net_->input_shape(), ray_->x)) {
    input_picture_->setPixmap(toPixmap(*pic));
    pictures_->setVisible(true);
  } else {
    pictures_->setVisible(false);
  }
  slider_->setEnabled(true);
  play_->setEnabled(true);
  const Certificate& c = ray_->certificate;
  QString t = QString("ray: %1 regions from α = 0.01").arg(ray_->traversal.segments.size());
  if (c.last_region_found) {
    t += QString("; last region from α = %1, limit class %2, limit confidence %3").arg(c.last_region_alpha, 0, 'g', 4).arg(c.limit_class).arg(c.limit_confidence, 0, 'f', 4);
    if (c.alpha_star) t += QString("; α* = %1").arg(*c.alpha_star, 0, 'g', 4);
  }
  if (box_) {
    if (c.box_exit_alpha)
      t += QString("; in the input box for α in [%1, %2], largest confidence there %3")
               .arg(*c.box_entry_alpha, 0, 'g', 4)
               .arg(*c.box_exit_alpha, 0, 'g', 4)
               .arg(c.max_confidence_in_box ? QString::number(*c.max_confidence_in_box, 'f', 4) : QString("unknown"));
    else
      t += "; the ray never lies in the input box";
  }
  status_->setText(t);
  setAlpha(alpha_);
  Q_EMIT rayReady();
}

void MainWindow::setAlpha(double alpha) {
  alpha_ = alpha;
  const QSignalBlocker block(slider_);
  slider_->setValue(scale_.position(alpha));
  alpha_label_->setText(QString("α = %1").arg(alpha, 0, 'g', 4));
  updateRayPanel();
}

void MainWindow::updateRayPanel() {
  chart_->setAlpha(alpha_);
  if (!ray_) return;
  bars_->setProbabilities(ray_->probabilities(alpha_));
  ray_text_->setPlainText(QString::fromStdString(ray_region_text(*ray_, alpha_)));
  if (pictures_->isVisible())
    if (auto pic = picture_of(net_->input_shape(), (alpha_ * ray_->x).eval())) alpha_picture_->setPixmap(toPixmap(*pic));
  try {
    ActivationPattern pattern = activation_pattern(*net_, (alpha_ * ray_->x).eval());
    std::vector<std::string> names;
    for (const LayerPattern& lp : pattern.layers) names.push_back(net_->nodes.at(lp.node).name);
    grid_->setMinimumHeight(static_cast<int>(pattern.layers.size()) * 15 + 6);
    grid_->setLayerNames(std::move(names));
    grid_->setPattern(std::move(pattern));
  } catch (const std::exception&) {
    grid_->setPattern(std::nullopt);
  }
  updateOverlay(false);
  if (!surface_stale_) {  // a stale surface gets the ray when it is rebuilt
    surface_->setRay(ray_.get(), ray_uv_, alpha_);
    if (tabs_->currentIndex() == 1) surface_view_->refresh();
  }
}

Colouring MainWindow::colourBoxColouring() const { return static_cast<Colouring>(colour_box_->currentIndex()); }

void MainWindow::setClassNames(const std::vector<std::string>& names) {
  class_names_ = names;
  chart_->setClassNames(classNames());
  bars_->setClassNames(classNames());
  updateOverlay();
}

std::vector<std::string> MainWindow::classNames() const {
  std::vector<std::string> names;
  if (net_)
    for (int k = 0; k < net_->output_size(); ++k) names.push_back(className(k));
  return names;
}

std::string MainWindow::className(int k) const {
  if (k >= 0 && k < static_cast<int>(class_names_.size())) return class_names_[k];
  return net_ ? net_->class_name(k) : "class " + std::to_string(k);
}

void MainWindow::cancelSlice() {
  if (cancel_) cancel_->store(true);
}

void MainWindow::updateOverlay(bool legend) {
  // The ball's outline on the plane, clipped to the window now computed.
  if (ball_ && slice_) overlay_.ball = box_on_plane(slice_frame_.plane, computed_, ball_->lo, ball_->hi);
  if (legend)
    describe_slice(overlay_, slice_ ? slice_frame_ : frame_, slice_.get(), colouring_, net_ ? net_->output_size() : 0,
                   classNames());
  set_ray(overlay_, slice_.get(), ray_.get(), ray_uv_, alpha_);
  view_->repaintOverlay();
}

void MainWindow::updateHover(double u, double v) {
  overlay_.hover.clear();
  if (slice_) {
    const int i = polygon_at(*slice_, u, v);
    QString text = QString("u = %1, v = %2").arg(u, 0, 'g', 5).arg(v, 0, 'g', 5);
    if (i >= 0) {
      const SlicePolygon& p = slice_->polygons[i];
      const Vector sm = softmax_on_plane(p, u, v);
      Eigen::Index k = 0;
      const double conf = sm.maxCoeff(&k);
      const double nines = confidence_nines(p.logits * Eigen::Vector3d(u, v, 1));
      text += QString("\n%1, confidence %2\nregion %3")
                  .arg(QString::fromStdString(className(static_cast<int>(k))))
                  .arg(conf, 0, 'f', std::isfinite(nines) ? std::clamp(static_cast<int>(std::ceil(nines)) + 2, 4, 15) : 15)
                  .arg(QString::fromStdString(hash_to_hex(p.pattern_hash)));
    } else {
      text += "\nnot computed";
    }
    overlay_.hover = text.toStdString();
  }
  view_->repaintOverlay();
}

void MainWindow::rememberRecent(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value("recent").toStringList();
  const QString abs = QFileInfo(path).absoluteFilePath();
  recent.removeAll(abs);
  recent.prepend(abs);
  while (recent.size() > 8) recent.removeLast();
  settings.setValue("recent", recent);
  settings.setValue("last_model", abs);
  updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
  recent_menu_->clear();
  const QStringList recent = QSettings().value("recent").toStringList();
  for (const QString& p : recent) recent_menu_->addAction(p, this, [this, p] { openModel(p); });
  recent_menu_->setEnabled(!recent.isEmpty());
}

void MainWindow::exportPicture() {
  const QString path = QFileDialog::getSaveFileName(this, "Export the region map", "regions.png", "PNG images (*.png)");
  if (path.isEmpty()) return;
  if (!view_->grabFramebuffer().save(path, "PNG")) showError("Cannot save", path + ": could not be written", false);
}

void MainWindow::exportFigure() {
  if (!slice_ || !net_) return;
  const QString path = QFileDialog::getSaveFileName(this, "Export a figure of the region map", "regions.svg",
                                                    "SVG figures (*.svg);;PNG images (*.png)");
  if (path.isEmpty()) return;
  bool ok = false;
  const int width = QInputDialog::getInt(this, "Figure size", "Width in pixels (the height follows the view):", 1600, 300, 8000, 100, &ok);
  if (!ok) return;
  try {
    saveFigure(path, width);
  } catch (const std::exception& e) {
    showError("Cannot save", QString::fromStdString(e.what()), false);
  }
}

void MainWindow::saveFigure(const QString& path, int width) const {
  if (!slice_ || !net_) throw Error("no map to save: open a model and wait for its slice");
  MapOverlay o = overlay_;
  view_->visibleRect(o.view.u0, o.view.u1, o.view.v0, o.view.v1);
  o.hover.clear();
  o.title = QFileInfo(model_path_).fileName().toStdString() + " — " + frame_.description;
  save_map_figure(path, width, *slice_, colouring_, net_->output_size(), o);
}

void MainWindow::exportChart() {
  if (!ray_) {
    showError("No chart", "click a point first: the chart shows the confidence along its ray", false);
    return;
  }
  const QString path = QFileDialog::getSaveFileName(this, "Export a figure of the confidence chart", "confidence.svg",
                                                    "SVG figures (*.svg);;PNG images (*.png)");
  if (path.isEmpty()) return;
  try {
    save_widget_figure(path, QSize(1200, 600), [this](QPainter& p, const QRectF& r) { chart_->render(p, r); });
  } catch (const std::exception& e) {
    showError("Cannot save", QString::fromStdString(e.what()), false);
  }
}

void MainWindow::exportVtp() {
  if (!slice_) return;
  const QString path = QFileDialog::getSaveFileName(this, "Export the slice for ParaView", "slice.vtp", "VTK PolyData (*.vtp)");
  if (path.isEmpty()) return;
  try {
    write_file_atomically(path.toStdString(), slice_to_vtp(*slice_, colouring_, net_ ? net_->output_size() : 0));
  } catch (const std::exception& e) {
    showError("Cannot save", QString::fromStdString(e.what()), false);
  }
}

}  // namespace tessera::gui
