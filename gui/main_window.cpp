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
#include <QFrame>
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
  return QPixmap::fromImage(img.scaled(108, 108, Qt::KeepAspectRatio, Qt::FastTransformation));
}
}  // namespace

MainWindow::MainWindow() {
  setWindowTitle("Tessera");
  buildPanels();
  buildMenus();
  QSettings settings;
  colouring_ = static_cast<Colouring>(settings.value("colouring", static_cast<int>(Colouring::Class)).toInt());
  colour_box_->setCurrentIndex(static_cast<int>(colouring_));
  if (settings.contains("geometry")) restoreGeometry(settings.value("geometry").toByteArray());
  else resize(1280, 800);
  view_timer_.setSingleShot(true);
  view_timer_.setInterval(250);
  connect(&view_timer_, &QTimer::timeout, this, &MainWindow::onViewChanged);
  connect(&watcher_, &QFutureWatcher<std::shared_ptr<Slice2d>>::finished, this, &MainWindow::onSliceFinished);
  connect(&ray_watcher_, &QFutureWatcher<std::shared_ptr<RayView>>::finished, this, &MainWindow::onRayFinished);
  progress_timer_.setInterval(200);
  connect(&progress_timer_, &QTimer::timeout, this, [this] {
    if (!found_) return;
    // Inside one layer's cut of one cell no region is finished yet: show the cut.
    const std::size_t pieces = cut_pieces_ ? cut_pieces_->load() : 0;
    if (found_->load() == 0 && pieces > 0)
      progress_->setFormat(QString("cutting: %1 pieces").arg(pieces));
    else
      progress_->setFormat(QString("%1 regions").arg(found_->load()));
  });
}

MainWindow::~MainWindow() {
  if (cancel_) cancel_->store(true);
  if (ray_cancel_) ray_cancel_->store(true);
  watcher_.waitForFinished();
  ray_watcher_.waitForFinished();
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
    if (i == 1 && slice_ && !surface_fitted_) {
      surface_view_->fitOrbit();
      surface_fitted_ = true;
    }
  });
  tabs_->setTabToolTip(1, "z = the largest logit: one flat facet per class cell of each region; drag to rotate, wheel to zoom");
  connect(view_, &VtkView::clicked, this, [this](double u, double v) { pickPoint(u, v); });
  connect(view_, &VtkView::viewChanged, this, [this] { view_timer_.start(); });
  connect(view_, &VtkView::hovered, this, [this](double u, double v) {
    if (!slice_) return;
    const int i = polygon_at(*slice_, u, v);
    QString text = QString("(u, v) = (%1, %2)").arg(u, 0, 'g', 4).arg(v, 0, 'g', 4);
    if (i >= 0) {
      const SlicePolygon& p = slice_->polygons[i];
      text += QString("   region %1   class %2   confidence %3 … %4")
                  .arg(QString::fromStdString(hash_to_hex(p.pattern_hash)))
                  .arg(p.predicted_class)
                  .arg(p.min_confidence, 0, 'f', 4)
                  .arg(p.max_confidence, 0, 'f', 4);
    }
    status_->setText(text);
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
  colour_box_->addItems({"region", "predicted class", "largest confidence"});
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
  slider_row->addWidget(slider_, 1);
  slider_row->addWidget(alpha_label_);
  ray_layout->addLayout(slider_row);
  chart_ = new ConfidenceChart;
  chart_->setMinimumHeight(190);
  chart_->setScale(scale_);
  connect(chart_, &ConfidenceChart::alphaPicked, this, [this](double a) { slider_->setValue(scale_.position(a)); });
  ray_layout->addWidget(chart_, 2);
  ray_layout->addWidget(new QLabel("softmax at αx"));
  bars_ = new SoftmaxBars;
  bars_->setMinimumHeight(80);
  ray_layout->addWidget(bars_, 1);
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
  pictures_ = new QWidget;
  auto* pic_row = new QHBoxLayout(pictures_);
  pic_row->setContentsMargins(0, 0, 0, 0);
  input_picture_ = new QLabel;
  alpha_picture_ = new QLabel;
  for (QLabel* l : {input_picture_, alpha_picture_}) {
    l->setFixedSize(112, 112);
    l->setFrameShape(QFrame::Box);
    l->setAlignment(Qt::AlignCenter);
  }
  pic_row->addWidget(new QLabel("x"));
  pic_row->addWidget(input_picture_);
  pic_row->addWidget(new QLabel("αx (shown clipped to [0,1])"));
  pic_row->addWidget(alpha_picture_);
  pic_row->addStretch();
  pictures_->setVisible(false);
  ray_layout->addWidget(pictures_);
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
    if (cancel_) cancel_->store(true);
  });
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
                              "trained/mnist_plain", "trained/mnist_acet", "mnist_mlp", "mnist_cnn"}) {
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
  QAction* picture = file->addAction("&Export picture…", this, &MainWindow::exportPicture);
  picture->setShortcut(QKeySequence("Ctrl+E"));
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
  for (int i = 0; i < 3; ++i) {
    QAction* a = view->addAction(QString("Colour by %1").arg(colouring_name(static_cast<Colouring>(i))), this,
                                 [this, i] { colour_box_->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(QString("Ctrl+%1").arg(i + 1)));
  }
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
  pictures_->setVisible(false);
  ray_text_->clear();
  model_path_ = path;
  origin_.reset();
  ray_.reset();
  ray_uv_.reset();
  slice_.reset();
  surface_fitted_ = false;
  scene_->setRay(std::nullopt, 1);
  scene_->setHighlight(Slice2d{}, -1);
  chart_->setRay(nullptr);
  bars_->setProbabilities({});
  grid_->setPattern(std::nullopt);
  slider_->setEnabled(false);
  info_->clear();
  frame_ = default_frame(*net_, std::nullopt);
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
  ray_.reset();
  ray_uv_.reset();
  scene_->setRay(std::nullopt, 1);
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
  frame_ = default_frame(*net_, origin_);
  ray_.reset();
  ray_uv_.reset();
  scene_->setRay(std::nullopt, 1);
  computeSlice(frame_.window);
  view_->fitPlane(frame_.window.u0, frame_.window.u1, frame_.window.v0, frame_.window.v1);
  return true;
}

void MainWindow::computeSlice(const SliceWindow& window) {
  if (!net_) return;
  if (cancel_) cancel_->store(true);
  watcher_.waitForFinished();
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  found_ = std::make_shared<std::atomic<std::size_t>>(0);
  cut_pieces_ = std::make_shared<std::atomic<std::size_t>>(0);
  computed_ = window;
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
  watcher_.setFuture(QtConcurrent::run([net, plane, window, cancel, found, pieces, box]() -> std::shared_ptr<Slice2d> {
    SliceOptions o;
    if (box) {
      o.box_lower = box->lo;
      o.box_upper = box->hi;
    }
    o.cancel = cancel.get();
    o.max_regions = 50000;
    o.progress = [found](std::size_t n) { found->store(n); };
    o.cut_progress = [pieces](const SliceOptions::CutProgress& p) { pieces->store(p.pieces); };
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
  progress_->setVisible(false);
  cancel_button_->setVisible(false);
  std::shared_ptr<Slice2d> s = watcher_.result();
  if (!s) return;
  if (s->polygons.empty()) {
    status_->setText(QString("No regions: %1").arg(QString::fromStdString(s->stop_reason)));
    Q_EMIT sliceFailed(QString::fromStdString(s->stop_reason));
    return;
  }
  slice_ = s;
  scene_->setSlice(*slice_, colouring_, net_->output_size());
  surface_->setSlice(*slice_, computed_, colouring_, net_->output_size());
  surface_->setRay(ray_.get(), ray_uv_, alpha_);
  if (!surface_fitted_ && tabs_->currentIndex() == 1) {
    surface_view_->fitOrbit();
    surface_fitted_ = true;
  }
  surface_view_->refresh();
  if (ray_uv_) scene_->setRay(ray_uv_, alpha_);
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

std::size_t MainWindow::surfaceCells() const { return static_cast<std::size_t>(surface_->cellCount()); }

void MainWindow::showSurface(bool on) { tabs_->setCurrentIndex(on ? 1 : 0); }

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
  if (slice_) {
    scene_->setColouring(*slice_, colouring_, net_->output_size());
    surface_->setSlice(*slice_, computed_, colouring_, net_->output_size());
    view_->refresh();
    surface_view_->refresh();
  }
}

void MainWindow::setFrame(const SliceFrame& frame) {
  if (!net_) return;
  frame_ = frame;
  ray_.reset();
  ray_uv_.reset();
  chart_->setRay(nullptr);
  scene_->setRay(std::nullopt, 1);
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
  const int i = polygon_at(*slice_, u, v);
  scene_->setHighlight(*slice_, i);
  if (i >= 0) info_->setPlainText(QString::fromStdString(describe(*slice_, i).text()));
  view_->refresh();
  const Vector x = point_at(frame_, u, v);
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
  const bool in_plane = frame_.plane.origin.cwiseAbs().maxCoeff() == 0;
  const std::optional<Eigen::Vector2d> uv = in_plane ? std::optional<Eigen::Vector2d>(Eigen::Vector2d(u, v)) : std::nullopt;
  ray_uv_pending_ = uv;
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
  std::shared_ptr<RayView> r = ray_watcher_.result();
  if (!r || !r->error.empty()) {
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
    grid_->setPattern(activation_pattern(*net_, (alpha_ * ray_->x).eval()));
  } catch (const std::exception&) {
    grid_->setPattern(std::nullopt);
  }
  scene_->setRay(ray_uv_, alpha_);
  view_->refresh();
  surface_->setRay(ray_.get(), ray_uv_, alpha_);
  surface_view_->refresh();
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
