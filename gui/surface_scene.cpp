#include "gui/surface_scene.hpp"

#include <vtkCamera.h>
#include <vtkCommand.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkIntArray.h>
#include <vtkLightKit.h>
#include <vtkLookupTable.h>
#include <vtkPlaneSource.h>
#include <vtkPoints.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkProperty2D.h>
#include <vtkRenderWindow.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace tessera::gui {
namespace {

// The right-hand strip of the view that holds the legend.
constexpr double kLegendStrip = 0.2;
constexpr vtkIdType kMaxEdgeCells = 5000;
constexpr double kInk[3] = {0.12, 0.12, 0.12};  // text and axes: dark on the white background
constexpr double kRayRed[3] = {0.85, 0.05, 0.05};

void ink(vtkTextProperty* t, int size) {
  t->SetColor(kInk[0], kInk[1], kInk[2]);
  t->SetFontSize(size);
  t->ShadowOff();
  t->BoldOff();
  t->ItalicOff();
}

// The alpha range in which the line alpha * uv (alpha >= 0) lies inside the
// window; empty (lo >= hi) when it misses it.
std::pair<double, double> inside_window(const Eigen::Vector2d& uv, const SliceWindow& w) {
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  const double b0[2] = {w.u0, w.v0}, b1[2] = {w.u1, w.v1};
  for (int i = 0; i < 2; ++i) {
    if (uv[i] == 0) {
      if (b0[i] > 0 || b1[i] < 0) return {1, 0};
      continue;
    }
    const double t0 = b0[i] / uv[i], t1 = b1[i] / uv[i];
    lo = std::max(lo, std::min(t0, t1));
    hi = std::min(hi, std::max(t0, t1));
  }
  return {lo, hi};
}

// The upper envelope of the lines c_k + t w_k on [a, b], exactly: its value
// at a, at every breakpoint (where the largest logit changes class) and at
// b, appended to `out` as (t, value). Each switch goes to a line of larger
// slope, so there are at most K - 1 breakpoints.
void upper_envelope(const Vector& c, const Vector& w, double a, double b, std::vector<std::pair<double, double>>& out) {
  const Eigen::Index K = c.size();
  if (K == 0) return;
  // The largest line just right of a: largest value, ties by larger slope.
  Eigen::Index k = 0;
  for (Eigen::Index j = 1; j < K; ++j) {
    const double vj = c[j] + a * w[j], vk = c[k] + a * w[k];
    if (vj > vk || (vj == vk && w[j] > w[k])) k = j;
  }
  double t = a;
  out.emplace_back(t, c[k] + t * w[k]);
  for (;;) {
    double next_t = b;
    Eigen::Index next = -1;
    for (Eigen::Index j = 0; j < K; ++j) {
      if (w[j] <= w[k]) continue;  // never overtakes k to the right
      const double tj = (c[k] - c[j]) / (w[j] - w[k]);
      if (tj > t && (tj < next_t || (tj == next_t && next >= 0 && w[j] > w[next]))) {
        next_t = tj;
        next = j;
      }
    }
    if (next < 0) break;
    t = next_t;
    k = next;
    out.emplace_back(t, c[k] + t * w[k]);
  }
  if (t < b) out.emplace_back(b, c[k] + b * w[k]);
}

}  // namespace

SurfaceScene::SurfaceScene(vtkRenderer* renderer) : renderer_(renderer) {
  // Lights that move with the camera, from several sides, so that facets of
  // different tilt get visibly different shades.
  auto lights = vtkSmartPointer<vtkLightKit>::New();
  lights->AddLightsToRenderer(renderer_);

  // Facets: flat, lit by one normal per cell (each facet is exactly planar).
  normals_ = vtkSmartPointer<vtkPolyDataNormals>::New();
  normals_->ComputeCellNormalsOn();
  normals_->ComputePointNormalsOff();
  normals_->SplittingOff();
  normals_->ConsistencyOff();  // facets are counter-clockwise in (u, v): normals point up already
  normals_->AutoOrientNormalsOff();
  auto facet_mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  facet_mapper->SetInputConnection(normals_->GetOutputPort());
  facet_mapper->SetScalarModeToUseCellData();
  // Push the facets back a little so that the edges and the ray drawn on
  // them win the depth test (else the edges come out dashed). VTK's switch
  // for this is global and off by default; the region map is unaffected
  // (its lines lie above its polygons in z).
  vtkMapper::SetResolveCoincidentTopologyToPolygonOffset();
  facet_mapper->SetRelativeCoincidentTopologyPolygonOffsetParameters(8, 100);
  facets_ = vtkSmartPointer<vtkActor>::New();
  facets_->SetMapper(facet_mapper);
  facets_->GetProperty()->SetInterpolationToFlat();
  facets_->GetProperty()->SetAmbient(0.25);
  facets_->GetProperty()->SetDiffuse(0.8);
  facets_->GetProperty()->SetSpecular(0.05);
  facets_->VisibilityOff();
  renderer_->AddActor(facets_);

  // Edges of every facet: region boundaries and the creases where the
  // largest logit changes class (each facet has its own points, so all its
  // edges are boundary edges).
  edge_filter_ = vtkSmartPointer<vtkFeatureEdges>::New();
  edge_filter_->SetInputConnection(normals_->GetOutputPort());
  edge_filter_->BoundaryEdgesOn();
  edge_filter_->FeatureEdgesOff();
  edge_filter_->NonManifoldEdgesOff();
  edge_filter_->ManifoldEdgesOff();
  edge_filter_->ColoringOff();
  auto edge_mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  edge_mapper->SetInputConnection(edge_filter_->GetOutputPort());
  edge_mapper->ScalarVisibilityOff();
  edges_ = vtkSmartPointer<vtkActor>::New();
  edges_->SetMapper(edge_mapper);
  edges_->GetProperty()->SetColor(0.15, 0.15, 0.15);
  edges_->GetProperty()->SetLineWidth(1.5);
  edges_->GetProperty()->LightingOff();
  edges_->VisibilityOff();
  renderer_->AddActor(edges_);

  // Axes with ticks: u, v and the unscaled largest logit, on the outer
  // edges of the surface's box; labels in screen space (2-D mode), so that
  // they stay horizontal and readable from any side.
  axes_ = vtkSmartPointer<vtkCubeAxesActor>::New();
  axes_->SetCamera(renderer_->GetActiveCamera());
  axes_->SetXTitle("u");
  axes_->SetYTitle("v");
  // The 2-D mode centres the (rotated) z title on the axis, over its tick
  // labels: leading empty lines push the text out past them.
  axes_->SetZTitle("\n\n\n\n\n\n\nlargest logit");
  axes_->SetXLabelFormat("%-#.3g");
  axes_->SetYLabelFormat("%-#.3g");
  axes_->SetZLabelFormat("%-#.3g");
  axes_->SetFlyModeToOuterEdges();
  axes_->SetUse2DMode(1);
  axes_->SetTickLocationToOutside();
  axes_->SetGridLineLocation(vtkCubeAxesActor::VTK_GRID_LINES_FURTHEST);
  axes_->DrawZGridlinesOn();
  for (int i = 0; i < 3; ++i) {
    ink(axes_->GetTitleTextProperty(i), 16);
    ink(axes_->GetLabelTextProperty(i), 14);
  }
  for (vtkProperty* p : {axes_->GetXAxesLinesProperty(), axes_->GetYAxesLinesProperty(), axes_->GetZAxesLinesProperty()})
    p->SetColor(kInk[0], kInk[1], kInk[2]);
  axes_->GetZAxesGridlinesProperty()->SetColor(0.8, 0.8, 0.8);
  axes_->VisibilityOff();
  renderer_->AddActor(axes_);

  // The legend's strip: a renderer of its own beside the surface, so that
  // the legend never covers the surface and the camera fits the rest.
  renderer_->SetViewport(0, 0, 1 - kLegendStrip, 1);
  legend_renderer_ = vtkSmartPointer<vtkRenderer>::New();
  legend_renderer_->SetViewport(1 - kLegendStrip, 0, 1, 1);
  legend_renderer_->SetBackground(renderer_->GetBackground());
  legend_renderer_->InteractiveOff();
  // The legend box scales its text to its rows: keep rows 24 pixels tall
  // whatever the window's height.
  legend_observer_ = legend_renderer_->AddObserver(vtkCommand::StartEvent, this, &SurfaceScene::layoutLegend);
  if (vtkRenderWindow* w = renderer_->GetRenderWindow()) w->AddRenderer(legend_renderer_);

  legend_title_ = vtkSmartPointer<vtkTextActor>::New();
  ink(legend_title_->GetTextProperty(), 15);
  legend_title_->GetTextProperty()->BoldOn();
  legend_title_->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  legend_title_->SetPosition(0.08, 0.93);
  legend_title_->VisibilityOff();
  legend_renderer_->AddActor2D(legend_title_);

  legend_ = vtkSmartPointer<vtkLegendBoxActor>::New();
  legend_->BorderOff();
  legend_->BoxOff();
  legend_->ScalarVisibilityOff();
  ink(legend_->GetEntryTextProperty(), 14);
  legend_->VisibilityOff();
  legend_renderer_->AddActor2D(legend_);

  // Confidence colouring: viridis over [1/K, 1], as confidence_colour.
  scalar_bar_ = vtkSmartPointer<vtkScalarBarActor>::New();
  scalar_bar_->SetTitle("largest\nconfidence");
  scalar_bar_->SetNumberOfLabels(5);
  scalar_bar_->SetLabelFormat("%.2f");
  scalar_bar_->SetPosition(0.1, 0.08);
  scalar_bar_->SetWidth(0.8);
  scalar_bar_->SetHeight(0.84);
  scalar_bar_->SetBarRatio(0.3);
  scalar_bar_->UnconstrainedFontSizeOn();
  ink(scalar_bar_->GetTitleTextProperty(), 15);
  ink(scalar_bar_->GetLabelTextProperty(), 14);
  scalar_bar_->VisibilityOff();
  legend_renderer_->AddActor2D(scalar_bar_);

  // The ray: a thick red path over the surface and a sphere at alpha.
  ray_ = vtkSmartPointer<vtkActor>::New();
  ray_->SetMapper(vtkSmartPointer<vtkPolyDataMapper>::New());
  ray_->GetProperty()->SetColor(kRayRed[0], kRayRed[1], kRayRed[2]);
  ray_->GetProperty()->SetLineWidth(5);
  ray_->GetProperty()->LightingOff();
  ray_->VisibilityOff();
  renderer_->AddActor(ray_);
  marker_source_ = vtkSmartPointer<vtkSphereSource>::New();
  marker_source_->SetThetaResolution(24);
  marker_source_->SetPhiResolution(16);
  auto marker_mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  marker_mapper->SetInputConnection(marker_source_->GetOutputPort());
  marker_ = vtkSmartPointer<vtkActor>::New();
  marker_->SetMapper(marker_mapper);
  marker_->GetProperty()->SetColor(kRayRed[0], kRayRed[1], kRayRed[2]);
  marker_->VisibilityOff();
  renderer_->AddActor(marker_);
}

SurfaceScene::~SurfaceScene() {
  legend_renderer_->RemoveObserver(legend_observer_);
  if (vtkRenderWindow* w = renderer_->GetRenderWindow()) w->RemoveRenderer(legend_renderer_);
}

vtkIdType SurfaceScene::cellCount() const { return data_ ? data_->GetNumberOfCells() : 0; }

void SurfaceScene::setSlice(const Slice2d& slice, const SliceWindow& window, Colouring colouring, int classes,
                            const std::vector<std::string>& class_names) {
  window_ = window;
  width_ = std::max(window.u1 - window.u0, window.v1 - window.v0);
  // The surface unscaled first: its exact height range (the largest logit is
  // affine on each facet, so its extremes are at facet vertices) sets the scale.
  data_ = logit_surface(slice, colouring, classes, 1.0);
  double b[6];
  data_->GetBounds(b);
  const double lo = b[4], hi = b[5];
  const bool empty = data_->GetNumberOfCells() == 0;
  z_scale_ = !empty && hi > lo ? 0.5 * width_ / (hi - lo) : 1.0;
  if (z_scale_ != 1.0) data_ = logit_surface(slice, colouring, classes, z_scale_);
  normals_->SetInputData(data_);
  facets_->SetVisibility(!empty);
  // Tens of thousands of facets (CNN slices) have edges closer than a pixel:
  // drawn, they would paint the surface black; the lighting still tells the
  // facets apart.
  edges_->SetVisibility(!empty && data_->GetNumberOfCells() <= kMaxEdgeCells);

  // Axes over the drawn surface; the z labels are the logits themselves.
  axes_->SetVisibility(!empty);
  if (!empty) {
    data_->GetBounds(b);
    axes_->SetBounds(b);
    axes_->SetXAxisRange(b[0], b[1]);
    axes_->SetYAxisRange(b[2], b[3]);
    axes_->SetZAxisRange(lo, hi);
  }

  // The legend of the colours: a colour bar for confidence, nothing for
  // region colours (they only tell regions apart), and the classes present
  // on the surface for class colouring and any other colouring.
  legend_->SetVisibility(false);
  scalar_bar_->SetVisibility(false);
  legend_title_->SetVisibility(false);
  if (empty) {
  } else if (colouring == Colouring::Confidence) {
    auto lut = vtkSmartPointer<vtkLookupTable>::New();
    lut->SetNumberOfTableValues(256);
    for (int i = 0; i < 256; ++i) {
      const Rgb c = viridis(i / 255.0);
      lut->SetTableValue(i, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0, 1.0);
    }
    lut->SetTableRange(classes > 1 ? 1.0 / classes : 0.0, 1.0);
    scalar_bar_->SetLookupTable(lut);
    scalar_bar_->VisibilityOn();
  } else if (colouring != Colouring::Region) {
    std::set<int> present;
    if (auto* cls = vtkIntArray::SafeDownCast(data_->GetCellData()->GetArray("class")))
      for (vtkIdType i = 0; i < cls->GetNumberOfValues(); ++i) present.insert(cls->GetValue(i));
    auto square = vtkSmartPointer<vtkPlaneSource>::New();
    square->Update();
    legend_->SetNumberOfEntries(static_cast<int>(present.size()));
    int row = 0;
    for (int k : present) {
      const std::string name = k >= 0 && k < static_cast<int>(class_names.size()) && !class_names[k].empty()
                                   ? class_names[k]
                                   : "class " + std::to_string(k);
      const Rgb c = class_colour(k);
      double rgb[3] = {c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
      legend_->SetEntry(row++, square->GetOutput(), name.c_str(), rgb);
    }
    legend_->VisibilityOn();
    layoutLegend();
    legend_title_->SetInput("largest logit's\nclass");
    legend_title_->SetPosition(0.08, 0.905);
    legend_title_->VisibilityOn();
  }
  showRay();
}

void SurfaceScene::layoutLegend() {
  const int height = std::max(1, legend_renderer_->GetSize()[1]);
  const double row = 24.0 / height, h = std::min(0.8, row * legend_->GetNumberOfEntries());
  legend_->SetPosition(0.05, 0.86 - h);
  legend_->SetPosition2(0.9, h);
}

void SurfaceScene::setRay(const RayView* ray, const std::optional<Eigen::Vector2d>& uv, double alpha) {
  ray_path_.clear();
  ray_point_.reset();
  if (ray && uv && uv->norm() > 0 && !ray->traversal.segments.empty()) {
    const Eigen::Vector2d d = *uv;
    const auto [lo, hi] = inside_window(d, window_);
    std::vector<std::pair<double, double>> env;
    for (const LineSegment& s : ray->traversal.segments) {
      const double a = std::max(lo, s.t_begin), b = std::min(hi, s.t_end);
      if (s.is_point || !(a < b)) continue;
      upper_envelope(s.logit_c, s.logit_w, a, b, env);
    }
    for (const auto& [t, z] : env) ray_path_.emplace_back(t * d.x(), t * d.y(), z);
    const int i = ray->segment_at(alpha);
    if (i >= 0 && alpha >= lo && alpha <= hi) {
      const LineSegment& s = ray->traversal.segments[i];
      ray_point_ = Eigen::Vector3d(alpha * d.x(), alpha * d.y(), (s.logit_c + alpha * s.logit_w).maxCoeff());
    }
  }
  showRay();
}

void SurfaceScene::showRay() {
  // A little above the surface (and drawn on top of its facets by their
  // polygon offset), so that the path is not hidden inside it.
  const double lift = 0.004 * width_;
  ray_->SetVisibility(ray_path_.size() >= 2);
  if (ray_path_.size() >= 2) {
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->SetDataTypeToDouble();
    std::vector<vtkIdType> ids;
    for (const Eigen::Vector3d& p : ray_path_) ids.push_back(points->InsertNextPoint(p.x(), p.y(), z_scale_ * p.z() + lift));
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    lines->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
    auto path = vtkSmartPointer<vtkPolyData>::New();
    path->SetPoints(points);
    path->SetLines(lines);
    vtkPolyDataMapper::SafeDownCast(ray_->GetMapper())->SetInputData(path);
  }
  marker_->SetVisibility(ray_point_.has_value());
  if (ray_point_) {
    marker_source_->SetCenter(ray_point_->x(), ray_point_->y(), z_scale_ * ray_point_->z() + lift);
    marker_source_->SetRadius(0.015 * width_);
  }
}

}  // namespace tessera::gui
