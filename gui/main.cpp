// tessera-gui: the desktop app. `tessera-gui [MODEL.onnx]` opens a model (or
// the last one used); with --screenshot it renders a view without user
// interaction, saves the picture and exits (for the docs and the tests).
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFile>
#include <QSettings>
#include <QTimer>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vtkCubeAxesActor.h>
#include <vtkLegendBoxActor.h>
#include <vtkPropCollection.h>
#include <vtkRenderWindow.h>
#include <vtkRendererCollection.h>
#include <vtkScalarBarActor.h>

#include "core/error.hpp"
#include "gui/compare_window.hpp"
#include "gui/main_window.hpp"
#include "gui/tour.hpp"
#include "gui/vtk_view.hpp"
#include "io/file_util.hpp"
#include "io/onnx_io.hpp"

using tessera::gui::MainWindow;

namespace {
// --report: the scene's summary as JSON, written atomically; false (and a
// message) when it cannot be written.
bool write_report(const QString& path, const nlohmann::json& report) {
  try {
    tessera::write_file_atomically(path.toStdString(), report.dump() + "\n");
    return true;
  } catch (const tessera::Error& e) {
    std::fprintf(stderr, "tessera-gui: error: %s\n", e.what());
    return false;
  }
}
// What the map shows besides its polygons, for tests and scripts: the
// colouring and what the colour box says, the legend's entries, the axes'
// titles and ticks, the markers and the partial-map banner.
void add_overlay_report(nlohmann::json& report, const MainWindow& window) {
  const tessera::gui::MapOverlay& o = window.overlay();
  report["colouring"] = tessera::colouring_name(window.colouring());
  report["colour_box"] = tessera::colouring_name(window.colourBoxColouring());
  nlohmann::json legend = nlohmann::json::array();
  if (o.legend)
    for (const auto& [k, share] : o.legend->shown) legend.push_back({{"class", k}, {"name", o.legend->names.at(k)}, {"share", share}});
  report["legend"] = legend;
  const tessera::SliceWindow w = window.computedWindow();
  report["axes"] = {{"u", o.u_label}, {"v", o.v_label},
                    {"u_ticks", tessera::gui::nice_ticks(w.u0, w.u1, 8)}, {"v_ticks", tessera::gui::nice_ticks(w.v0, w.v1, 8)}};
  nlohmann::json marks = nlohmann::json::array();
  for (const auto& [name, uv] : o.landmarks) marks.push_back({{"name", name}, {"u", uv.x()}, {"v", uv.y()}});
  report["landmarks"] = marks;
  report["partial"] = o.partial;
  if (const tessera::gui::BallBound* b = window.ballBound()) {
    nlohmann::json outline = nlohmann::json::array();
    for (const auto& v : o.ball) outline.push_back({v.x(), v.y()});
    report["ball"] = {{"eps", b->eps},
                      {"crown_upper", b->crown.upper_bound},
                      {"exact_upper", b->exact.upper_bound},
                      {"exact_lower", b->exact.lower_bound},
                      {"exact_complete", b->exact.complete},
                      {"label", o.ball_label},
                      {"outline", outline},
                      {"argmax_on_map", o.ball_argmax ? nlohmann::json{o.ball_argmax->x(), o.ball_argmax->y()} : nlohmann::json()}};
  }
}

// --report: what the 3-D view's annotations say (the visible axis titles, the
// legend's entries or the colour bar's title), read from its VTK actors.
nlohmann::json surface_annotations(vtkRenderWindow* window) {
  nlohmann::json axes = nlohmann::json::array(), legend = nlohmann::json::array();
  vtkRendererCollection* renderers = window->GetRenderers();
  renderers->InitTraversal();
  while (vtkRenderer* r = renderers->GetNextItem()) {
    vtkPropCollection* props = r->GetViewProps();
    props->InitTraversal();
    while (vtkProp* p = props->GetNextProp()) {
      if (!p->GetVisibility()) continue;
      if (auto* a = vtkCubeAxesActor::SafeDownCast(p))
        for (const char* t : {a->GetXTitle(), a->GetYTitle(), a->GetZTitle()}) {
          const std::string title = t ? t : "";
          axes.push_back(title.substr(std::min(title.size(), title.find_first_not_of('\n'))));  // without leading empty lines
        }
      if (auto* l = vtkLegendBoxActor::SafeDownCast(p))
        for (int i = 0; i < l->GetNumberOfEntries(); ++i) legend.push_back(l->GetEntryString(i));
      if (auto* b = vtkScalarBarActor::SafeDownCast(p)) legend.push_back(b->GetTitle());
    }
  }
  return {{"axes", axes}, {"legend", legend}};
}
}  // namespace

int main(int argc, char** argv) {
  tessera::gui::VtkView::setDefaultSurfaceFormat();
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Tessera");
  QApplication::setApplicationName("tessera-gui");
  QApplication::setApplicationVersion("0.1.0");

  QCommandLineParser parser;
  parser.setApplicationDescription(
      "Explore the exact linear regions of a ReLU network and watch the confidence along rays αx.\n\n"
      "Examples:\n"
      "  tessera-gui data/models/toy2d.onnx\n"
      "  tessera-gui data/models/trained/moons_acet.onnx --point 1,0.5 --alpha 100 --screenshot ray.png --view window\n"
      "  tessera-gui data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --screenshot map.png\n"
      "  tessera-gui data/models/toy2d.onnx --box-file data/inputs/toy2d_box.vnnlib --point 0.5,0.25\n"
      "  tessera-gui data/models/trained/moons_plain.onnx --point 0.5,0.25 --bound 0.3 --screenshot ball.png");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model", "ONNX model to open (default: the last one used)");
  parser.addOption({"input", "input file the slice goes through (image models)", "file"});
  parser.addOption({"colour", "region | class | confidence | shaded (the class, paler where less sure; the default)", "colouring", "shaded"});
  parser.addOption({"class-names", "names of the classes, comma-separated (default: the model's metadata, else 'class k')", "names"});
  parser.addOption({"point", "pick this point (u,v) of the slice and follow its ray", "u,v"});
  parser.addOption({"alpha", "position on the ray", "alpha", "1"});
  parser.addOption({"screenshot", "render, save the picture to FILE (PNG) and exit", "file"});
  parser.addOption({"view", "what --screenshot captures: map (the region map) | 3d (the logit surface) | window (the whole window) | compare (the comparison)", "view", "map"});
  parser.addOption({"compare", "also open these models (comma-separated, one or two) side by side on the same slice", "models"});
  parser.addOption({"report", "with --screenshot: write a JSON summary of the scene to FILE", "file"});
  parser.addOption({"box-file", "input box: a VNN-LIB file's input bounds or two rows (lower, upper); the map shows "
                                "only the slice inside it and rays report where they leave it", "file"});
  parser.addOption({"tour-step", "carry out step N (1-6) of the guided tour (Tour menu), or all of them in turn; with "
                                 "--screenshot, save the window's picture (the comparison's for the last step)", "N|all"});
  parser.addOption({"bound", "with --point: bound the confidence on the l-infinity ball of radius EPS around the point "
                             "(Analysis menu) and draw it", "EPS"});
  parser.addOption({"fan", "draw the asymptotic fan (the regions of the network without biases: rays from the plane's origin)"});
  parser.addOption({"figure", "with --screenshot: also export the map's figure (as File > Export figure: title, axes, "
                             "legend, markers) to FILE.svg or FILE.png, 1200 pixels wide", "file"});
  parser.addOption({"window", "the map's window on the plane (default: the model's)", "u0:u1:v0:v1"});
  parser.addOption({"measure", "with --screenshot: time 60 pans of the map and 40 moves of alpha (with --point) and write "
                              "the times (ms) to the report", ""});
  parser.addOption({"max-regions", "stop a slice after N regions (a partial map; default 50000)", "N", "50000"});
  parser.addOption({"cancel-after", "with --screenshot: cancel the first slice after MS milliseconds (as the Cancel button "
                                    "does) and report how long it took to stop", "MS"});
  parser.process(app);

  MainWindow window;
  const bool screenshot = parser.isSet("screenshot");
  // The colouring: --colour, else (screenshots, for reproducible pictures)
  // shaded, else the one used last.
  if (parser.isSet("colour") || screenshot) {
    const auto c = tessera::colouring_from_name(parser.value("colour").toStdString());
    if (!c) {
      std::fprintf(stderr, "tessera-gui: --colour must be region, class, confidence or shaded (not '%s')\n",
                   parser.value("colour").toLocal8Bit().constData());
      return 2;
    }
    window.setColouring(*c);
  }
  {
    bool ok = false;
    const qlonglong n = parser.value("max-regions").toLongLong(&ok);
    if (!ok || n < 1) {
      std::fprintf(stderr, "tessera-gui: --max-regions must be a positive whole number (not '%s')\n",
                   parser.value("max-regions").toLocal8Bit().constData());
      return 2;
    }
    window.setMaxRegions(static_cast<std::size_t>(n));
  }
  if (parser.isSet("class-names")) {
    try {
      window.setClassNames(tessera::parse_class_names(parser.value("class-names").toStdString()));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tessera-gui: --class-names: %s\n", e.what());
      return 2;
    }
  }
  const QString view = parser.value("view");
  if (view != "map" && view != "window" && view != "3d" && view != "compare") {
    std::fprintf(stderr, "tessera-gui: --view must be map, 3d, window or compare\n");
    return 2;
  }
  QString model = parser.positionalArguments().value(0);
  // The last model used opens only when nothing else is asked for (the tour
  // loads its own); a last model that has gone is not an error.
  if (parser.isSet("bound") && !parser.isSet("point")) {
    std::fprintf(stderr, "tessera-gui: --bound needs --point u,v (the centre of the ball)\n");
    return 2;
  }
  const bool remembered = model.isEmpty() && !parser.isSet("tour-step");
  if (remembered) model = QSettings().value("last_model").toString();
  window.resize(1280, 800);
  window.show();
  if (!model.isEmpty() && !window.openModel(model, screenshot || remembered)) {
    if (remembered) model.clear();
    else if (screenshot) {
      std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
      return 1;
    }
  }
  if (parser.isSet("fan")) window.showFan(true);
  if (parser.isSet("input") && !window.openInput(parser.value("input"), screenshot) && screenshot) {
    std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
    return 1;
  }
  if (parser.isSet("window")) {
    const QStringList parts = parser.value("window").split(':');
    bool ok = parts.size() == 4;
    double v[4] = {0, 0, 0, 0};
    for (int i = 0; ok && i < 4; ++i) v[i] = parts[i].toDouble(&ok);
    if (!ok || !(v[1] > v[0]) || !(v[3] > v[2])) {
      std::fprintf(stderr, "tessera-gui: --window must be u0:u1:v0:v1 with u0 < u1 and v0 < v1 (not '%s')\n",
                   parser.value("window").toLocal8Bit().constData());
      return 2;
    }
    window.showWindow({v[0], v[1], v[2], v[3]});
  }
  if (parser.isSet("box-file") && !window.openBoxFile(parser.value("box-file"), screenshot) && screenshot) {
    std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
    return 1;
  }
  if (parser.isSet("tour-step")) {
    bool ok = false;
    const bool all = parser.value("tour-step") == "all";  // the whole tour, step after step, as Next does
    const int steps = static_cast<int>(tessera::gui::tour_steps().size());
    const int n = all ? 1 : parser.value("tour-step").toInt(&ok);
    ok = ok || all;
    if (!ok || n < 1 || n > steps) {
      std::fprintf(stderr, "tessera-gui: --tour-step must be 1 to %d (not '%s')\n", steps,
                   parser.value("tour-step").toLocal8Bit().constData());
      return 2;
    }
    if (screenshot) {
      QObject::connect(&window, &MainWindow::tourStepReady, &window, [&, all] {
        if (all && window.tourStep() + 1 < steps) {
          QTimer::singleShot(0, &window, [&] { window.runTourStep(window.tourStep() + 1); });
          return;
        }
        QTimer::singleShot(400, &window, [&] {
          QWidget* shown = window.tourCompare() ? static_cast<QWidget*>(window.tourCompare()) : &window;
          const QImage image = shown->grab().toImage();
          int code = 0;
          if (!image.save(parser.value("screenshot"), "PNG")) {
            std::fprintf(stderr, "tessera-gui: error: cannot write %s\n", parser.value("screenshot").toLocal8Bit().constData());
            code = 1;
          }
          if (parser.isSet("report")) {
            nlohmann::json report = {{"tour_step", window.tourStep() + 1}, {"regions", window.slice() ? window.slice()->polygons.size() : 0},
                                     {"ray_segments", window.ray() ? window.ray()->traversal.segments.size() : 0},
                                     {"compare", window.tourCompare() != nullptr}};
            add_overlay_report(report, window);
            code = write_report(parser.value("report"), report) ? code : 1;
          }
          app.exit(code);
        });
      });
      QTimer::singleShot(120000, &app, [&] {
        std::fprintf(stderr, "tessera-gui: error: tour step %d took longer than two minutes\n", n);
        app.exit(4);
      });
    }
    if (!window.runTourStep(n - 1)) {
      std::fprintf(stderr, "tessera-gui: error: tour step %d: %s\n", n, window.lastError().toLocal8Bit().constData());
      return 1;
    }
    return app.exec();
  }
  if (!screenshot) return app.exec();
  if (model.isEmpty()) {
    std::fprintf(stderr, "tessera-gui: --screenshot needs a model\n");
    return 2;
  }

  if (!parser.isSet("compare") && view == "compare") {
    std::fprintf(stderr, "tessera-gui: --view compare needs --compare\n");
    return 2;
  }
  // Screenshot mode: wait for the slice, pick the point, render, save, exit.
  int status = 0;
  double cancel_ms = -1;  // --cancel-after: from the cancel to the slice's end
  double preview_at_cancel = -1;  // regions on the map when Cancel was pressed
  QElapsedTimer cancel_clock;
  if (parser.isSet("cancel-after")) {
    bool ok = false;
    const int ms = parser.value("cancel-after").toInt(&ok);
    if (!ok || ms < 0) {
      std::fprintf(stderr, "tessera-gui: --cancel-after must be milliseconds (not '%s')\n",
                   parser.value("cancel-after").toLocal8Bit().constData());
      return 2;
    }
    QTimer::singleShot(ms, &window, [&] {
      if (!window.busy()) return;  // already finished
      preview_at_cancel = static_cast<double>(window.previewCells());
      cancel_clock.start();
      window.cancelSlice();
    });
    auto stopped = [&] {
      if (cancel_clock.isValid() && cancel_ms < 0) cancel_ms = cancel_clock.nsecsElapsed() * 1e-6;
    };
    QObject::connect(&window, &MainWindow::sliceReady, &window, stopped);
    QObject::connect(&window, &MainWindow::sliceFailed, &window, stopped);
  }
  tessera::gui::CompareWindow* compare = nullptr;
  bool done = false;
  auto finish = [&](const QImage& image) {
    const QString file = parser.value("screenshot");
    if (!image.save(file, "PNG")) {
      std::fprintf(stderr, "tessera-gui: error: cannot write %s\n", file.toLocal8Bit().constData());
      status = 1;
    }
  };
  auto capture = [&] {
    if (view == "3d") window.showSurface(true);
    QTimer::singleShot(300, &window, [&] {
      QImage image = view == "map"  ? window.regionView()->grab().toImage()
                     : view == "3d" ? window.surfaceView()->grabFramebuffer()
                                    : window.grab().toImage();
      finish(image);
      if (parser.isSet("figure")) {
        try {
          window.saveFigure(parser.value("figure"), 1200);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "tessera-gui: error: %s\n", e.what());
          status = 1;
        }
      }
      if (parser.isSet("report")) {
        const auto* s = window.slice();
        const auto* r = window.ray();
        const tessera::SliceWindow w = window.computedWindow();
        const nlohmann::json report = {{"regions", s ? s->polygons.size() : 0},
                                       {"scene_cells", window.sceneCells()},
                                       {"complete", s && s->complete},
                                       {"ray_segments", r ? r->traversal.segments.size() : 0},
                                       {"alpha", window.alpha()},
                                       {"width", image.width()},
                                       {"height", image.height()},
                                       {"window", {w.u0, w.u1, w.v0, w.v1}},
                                       {"surface_cells", window.surfaceCells()},
                                       {"surface", surface_annotations(window.surfaceView()->renderWindow())}};
        nlohmann::json full = report;
        add_overlay_report(full, window);
        if (parser.isSet("measure")) {
          const MainWindow::Timings t = window.measureInteraction(60, 40);
          full["frame_ms"] = t.frame_ms;
          full["render_ms"] = t.render_ms;
          full["alpha_ms"] = t.alpha_ms;
        }
        if (cancel_ms >= 0) full["cancel_ms"] = cancel_ms;
        if (preview_at_cancel >= 0) full["preview_at_cancel"] = preview_at_cancel;
        status = write_report(parser.value("report"), full) ? status : 1;
      }
      app.exit(status);
    });
  };
  // A slice with no region at all (a CNN layer that cuts one cell into more
  // pieces than the app's region cap): the picture shows why; exit 4.
  QObject::connect(&window, &MainWindow::sliceFailed, &window, [&](const QString& why) {
    if (done) return;
    done = true;
    std::fprintf(stderr, "tessera-gui: no regions: %s\n", why.toLocal8Bit().constData());
    QTimer::singleShot(300, &window, [&, why] {
      finish(window.grab().toImage());
      if (parser.isSet("report")) {
        nlohmann::json report = {{"regions", 0}, {"stop_reason", why.toStdString()}};
        if (cancel_ms >= 0) report["cancel_ms"] = cancel_ms;
        if (preview_at_cancel >= 0) report["preview_at_cancel"] = preview_at_cancel;
        status = write_report(parser.value("report"), report) ? status : 1;
      }
      // A slice cancelled on request ends as asked; otherwise no regions is exit 4.
      app.exit(status ? status : cancel_ms >= 0 ? 0 : 4);
    });
  });
  QObject::connect(&window, &MainWindow::sliceReady, &window, [&] {
    if (done) return;
    if (parser.isSet("compare")) {
      done = true;
      compare = window.compareWith(parser.value("compare").split(','), true);
      if (!compare) {
        std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
        app.exit(1);
        return;
      }
      QObject::connect(compare, &tessera::gui::CompareWindow::allReady, compare, [&] {
        if (parser.isSet("point")) {
          const QStringList uv = parser.value("point").split(',');
          compare->pickPoint(uv.value(0).toDouble(), uv.value(1).toDouble());
          compare->setAlpha(parser.value("alpha").toDouble());
        }
        QTimer::singleShot(300, compare, [&] {
          finish(view == "compare" ? compare->grab().toImage() : window.grab().toImage());
          if (parser.isSet("report")) {
            nlohmann::json cells = nlohmann::json::array(), rays = nlohmann::json::array();
            for (std::size_t i = 0; i < compare->modelCount(); ++i) {
              cells.push_back(compare->cells(i));
              rays.push_back(compare->raySegments(i));
            }
            const nlohmann::json report = {{"models", compare->modelCount()}, {"cells", cells}, {"ray_segments", rays}};
            status = write_report(parser.value("report"), report) ? status : 1;
          }
          app.exit(status);
        });
      });
      return;
    }
    done = true;
    if (parser.isSet("point")) {
      const QStringList uv = parser.value("point").split(',');
      bool ok_u = false, ok_v = false;
      const double u = uv.value(0).toDouble(&ok_u), v = uv.value(1).toDouble(&ok_v);
      if (uv.size() != 2 || !ok_u || !ok_v) {
        std::fprintf(stderr, "tessera-gui: --point must be u,v\n");
        status = 2;
        app.exit(status);
        return;
      }
      QObject::connect(&window, &MainWindow::rayReady, &window, [&] {
        window.setAlpha(parser.value("alpha").toDouble());
        if (!parser.isSet("bound")) {
          capture();
          return;
        }
        bool ok = false;
        const double eps = parser.value("bound").toDouble(&ok);
        QObject::connect(&window, &MainWindow::ballReady, &window, [&] { capture(); });
        QObject::connect(&window, &MainWindow::ballFailed, &window, [&](const QString& why) {
          std::fprintf(stderr, "tessera-gui: error: --bound: %s\n", why.toLocal8Bit().constData());
          app.exit(1);
        });
        if (!ok || !window.boundBall(eps, 20.0, true)) {
          std::fprintf(stderr, "tessera-gui: error: --bound: %s\n",
                       ok ? window.lastError().toLocal8Bit().constData() : "the radius must be a number");
          app.exit(1);
        }
      });
      window.pickPoint(u, v);
      return;
    }
    capture();
  });
  QTimer::singleShot(120000, &app, [&] {
    std::fprintf(stderr, "tessera-gui: error: the slice took longer than two minutes\n");
    app.exit(4);
  });
  return app.exec();
}
