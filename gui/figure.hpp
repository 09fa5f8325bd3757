// Figures the app exports: the region map (its polygons, axes, legend and
// markers, drawn by map_overlay) or a chart, as SVG (Qt SVG) or PNG at a
// chosen size, written atomically. The format follows the file's extension.
#pragma once

#include <QPainter>
#include <QRectF>
#include <QSize>
#include <QString>
#include <functional>

#include "gui/map_overlay.hpp"

namespace tessera::gui {

// The map's figure: `width` pixels wide, as tall as the view's aspect asks,
// with room for the title. Throws tessera::Error naming the file.
void save_map_figure(const QString& path, int width, const Slice2d& slice, Colouring colouring, int classes,
                     const MapOverlay& overlay);
// Any painting (a chart) at `size`.
void save_widget_figure(const QString& path, const QSize& size, const std::function<void(QPainter&, const QRectF&)>& paint);

}  // namespace tessera::gui
