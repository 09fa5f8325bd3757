// tessera-gui: the desktop app. `tessera-gui [MODEL.onnx]` opens a model (or
// the last one used); with --screenshot it renders a view without user
// interaction, saves the picture and exits (for the docs and the tests).
#include <QApplication>
#include <QCommandLineParser>
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
#include "gui/vtk_view.hpp"
#include "io/file_util.hpp"

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
      "  tessera-gui data/models/toy2d.onnx --box-file data/inputs/toy2d_box.vnnlib --point 0.5,0.25");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("model", "ONNX model to open (default: the last one used)");
  parser.addOption({"input", "input file the slice goes through (image models)", "file"});
  parser.addOption({"colour", "region | class | confidence", "colouring", "class"});
  parser.addOption({"point", "pick this point (u,v) of the slice and follow its ray", "u,v"});
  parser.addOption({"alpha", "position on the ray", "alpha", "1"});
  parser.addOption({"screenshot", "render, save the picture to FILE (PNG) and exit", "file"});
  parser.addOption({"view", "what --screenshot captures: map (the region map) | 3d (the logit surface) | window (the whole window) | compare (the comparison)", "view", "map"});
  parser.addOption({"compare", "also open these models (comma-separated, one or two) side by side on the same slice", "models"});
  parser.addOption({"report", "with --screenshot: write a JSON summary of the scene to FILE", "file"});
  parser.addOption({"box-file", "input box: a VNN-LIB file's input bounds or two rows (lower, upper); the map shows "
                                "only the slice inside it and rays report where they leave it", "file"});
  parser.process(app);

  MainWindow window;
  const QString colour = parser.value("colour");
  if (colour == "region") window.setColouring(tessera::Colouring::Region);
  else if (colour == "confidence") window.setColouring(tessera::Colouring::Confidence);
  else if (colour == "class") window.setColouring(tessera::Colouring::Class);
  else {
    std::fprintf(stderr, "tessera-gui: --colour must be region, class or confidence\n");
    return 2;
  }
  const bool screenshot = parser.isSet("screenshot");
  const QString view = parser.value("view");
  if (view != "map" && view != "window" && view != "3d" && view != "compare") {
    std::fprintf(stderr, "tessera-gui: --view must be map, 3d, window or compare\n");
    return 2;
  }
  QString model = parser.positionalArguments().value(0);
  if (model.isEmpty()) model = QSettings().value("last_model").toString();
  window.resize(1280, 800);
  window.show();
  if (!model.isEmpty() && !window.openModel(model, screenshot)) {
    if (screenshot) {
      std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
      return 1;
    }
  }
  if (parser.isSet("input") && !window.openInput(parser.value("input"), screenshot) && screenshot) {
    std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
    return 1;
  }
  if (parser.isSet("box-file") && !window.openBoxFile(parser.value("box-file"), screenshot) && screenshot) {
    std::fprintf(stderr, "tessera-gui: error: %s\n", window.lastError().toLocal8Bit().constData());
    return 1;
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
      QImage image = view == "map"  ? window.regionView()->grabFramebuffer()
                     : view == "3d" ? window.surfaceView()->grabFramebuffer()
                                    : window.grab().toImage();
      finish(image);
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
        status = write_report(parser.value("report"), report) ? status : 1;
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
    QTimer::singleShot(300, &window, [&] {
      finish(window.grab().toImage());
      app.exit(status ? status : 4);
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
        capture();
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
