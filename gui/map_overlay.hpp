// What the region map shows over its exact polygons, drawn with QPainter:
// axes with ticks and what u and v mean, the legend (class names, the
// confidence shading or colour bar), markers for named points of the plane
// and the picked point, the ray alpha*x with its region crossings, the last
// region and alpha*, the outlines of the picked region and of the region of
// the current alpha, the asymptotic fan, a banner on a partial map and the
// hover read-out. The app paints it over VTK's picture of the polygons; the
// exported figure paints the polygons with QPainter too (paint_polygons),
// then the same overlay, so the figure and the screen agree.
#pragma once

#include <QColor>
#include <QPainter>
#include <QRectF>
#include <QString>
#include <optional>
#include <string>
#include <vector>

#include "export/slice_stats.hpp"
#include "gui/scene.hpp"

namespace tessera::gui {

struct MapLegend {
  Colouring colouring = Colouring::Shaded;
  int classes = 0;
  std::vector<std::pair<int, double>> shown;  // (class, share of the map's area), largest first
  std::vector<std::string> names;            // one per class; "class k" when empty
  ShadeScale shade;                          // Shaded: the confidence range of the shades
  int shade_class = 0;                       // Shaded: the class whose ramp the legend shows
};

struct MapRay {
  Eigen::Vector2d direction;      // (u, v) of the picked point: the ray is alpha*direction
  double alpha = 1;
  std::vector<double> crossings;  // alphas where the ray enters a new region
  std::optional<double> last_region_alpha, alpha_star;
};

struct MapOverlay {
  SliceWindow view;  // the visible (u, v) rectangle
  std::string u_label = "u", v_label = "v";
  std::vector<std::pair<std::string, Eigen::Vector2d>> landmarks;
  std::optional<Eigen::Vector2d> picked;
  std::optional<MapLegend> legend;
  std::optional<MapRay> ray;
  std::vector<Eigen::Vector2d> picked_region, ray_region;  // outlines (counter-clockwise vertices)
  // The fan of the network without biases: its boundaries are rays from
  // (0,0) in these directions (drawn dashed to the edge of the view).
  std::vector<Eigen::Vector2d> fan;
  // A bounded ball (Analysis menu): its outline on the plane (dashed), the
  // bound's one-line label next to it, and the best input found when it
  // lies on the plane.
  std::vector<Eigen::Vector2d> ball;
  std::string ball_label;
  std::optional<Eigen::Vector2d> ball_argmax;
  std::string partial;  // non-empty: the map is partial; why (a banner on the map)
  std::string hover;    // the read-out at the pointer (top left)
  std::string title;    // figures: a title above the map
};

// The pixel position of (u, v) in `plot` showing `view`.
QPointF to_pixel(const QRectF& plot, const SliceWindow& view, const Eigen::Vector2d& uv);

// Everything but the polygons.
void paint_overlay(QPainter& p, const QRectF& plot, const MapOverlay& o);
// The polygons (filled with their colours under `colouring`), their edges
// and the decision boundary, as VTK draws them in the app.
void paint_polygons(QPainter& p, const QRectF& plot, const SliceWindow& view, const Slice2d& slice,
                    Colouring colouring, int classes);

// The legend of a slice under a colouring: the classes by area, their
// names, and the shading's range.
MapLegend make_legend(const Slice2d& slice, Colouring colouring, int classes, const std::vector<std::string>& names);

// The ray of a RayView drawn along (u, v) at alpha.
MapRay map_ray(const RayView& ray, const Eigen::Vector2d& uv, double alpha);
// Sets the overlay's frame fields (axis titles, landmarks), legend and
// partial banner from a slice.
void describe_slice(MapOverlay& o, const SliceFrame& frame, const Slice2d* slice, Colouring colouring, int classes,
                    const std::vector<std::string>& names);
// Sets the picked point, its region's outline and the ray's region at alpha.
void set_pick(MapOverlay& o, const Slice2d* slice, const std::optional<Eigen::Vector2d>& picked);
void set_ray(MapOverlay& o, const Slice2d* slice, const RayView* ray, const std::optional<Eigen::Vector2d>& uv, double alpha);

}  // namespace tessera::gui
