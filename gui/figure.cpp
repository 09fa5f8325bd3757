#include "gui/figure.hpp"

#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QSvgGenerator>
#include <cmath>

#include "core/error.hpp"
#include "io/file_util.hpp"

namespace tessera::gui {
namespace {

bool is_svg(const QString& path) { return QFileInfo(path).suffix().compare("svg", Qt::CaseInsensitive) == 0; }

void check_format(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != "svg" && suffix != "png")
    throw Error(path.toStdString() + ": a figure is saved as .svg or .png (the extension chooses the format)");
}

// Paints into an SVG or PNG of `size` and writes the bytes atomically.
void save(const QString& path, const QSize& size, const std::function<void(QPainter&)>& paint) {
  check_format(path);
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (is_svg(path)) {
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(QFileInfo(path).completeBaseName());
    svg.setDescription("Tessera: exact linear regions");
    QPainter p(&svg);
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    paint(p);
  } else {
    QImage image(size, QImage::Format_RGB32);
    image.fill(Qt::white);
    {
      QPainter p(&image);
      p.setRenderHint(QPainter::Antialiasing);
      paint(p);
    }
    if (!image.save(&buffer, "PNG")) throw Error(path.toStdString() + ": the PNG could not be encoded");
  }
  write_file_atomically(path.toStdString(), std::string(bytes.constData(), static_cast<std::size_t>(bytes.size())));
}

}  // namespace

void save_map_figure(const QString& path, int width, const Slice2d& slice, Colouring colouring, int classes,
                     const MapOverlay& overlay) {
  const SliceWindow& v = overlay.view;
  if (!(v.u1 > v.u0) || !(v.v1 > v.v0)) throw Error("the map's view is empty");
  const double top = overlay.title.empty() ? 4 : 34;
  const int height = static_cast<int>(std::lround(width * (v.v1 - v.v0) / (v.u1 - v.u0) + top + 4));
  save(path, QSize(width, height), [&](QPainter& p) {
    const QRectF plot(4, top, width - 8, height - top - 4);
    paint_polygons(p, plot, v, slice, colouring, classes);
    paint_overlay(p, plot, overlay);
    p.setPen(QPen(QColor(120, 120, 120), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(plot);
  });
}

void save_widget_figure(const QString& path, const QSize& size, const std::function<void(QPainter&, const QRectF&)>& paint) {
  save(path, size, [&](QPainter& p) { paint(p, QRectF(QPointF(0, 0), QSizeF(size))); });
}

}  // namespace tessera::gui
