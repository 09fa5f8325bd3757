#include "gui/region_scene.hpp"

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkLookupTable.h>
#include <vtkPoints.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkTextProperty.h>

namespace tessera::gui {
namespace {

vtkSmartPointer<vtkActor> actor_for(vtkPolyData* data) {
  auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  mapper->SetInputData(data);
  auto actor = vtkSmartPointer<vtkActor>::New();
  actor->SetMapper(mapper);
  return actor;
}

vtkSmartPointer<vtkPolyData> lines(const std::vector<std::array<Eigen::Vector2d, 2>>& segments, double z) {
  auto pts = vtkSmartPointer<vtkPoints>::New();
  auto cells = vtkSmartPointer<vtkCellArray>::New();
  for (const auto& s : segments) {
    const vtkIdType a = pts->InsertNextPoint(s[0].x(), s[0].y(), z);
    const vtkIdType b = pts->InsertNextPoint(s[1].x(), s[1].y(), z);
    const vtkIdType ids[2] = {a, b};
    cells->InsertNextCell(2, ids);
  }
  auto pd = vtkSmartPointer<vtkPolyData>::New();
  pd->SetPoints(pts);
  pd->SetLines(cells);
  return pd;
}

}  // namespace

RegionScene::RegionScene(vtkRenderer* renderer) : renderer_(renderer) {}

vtkIdType RegionScene::cellCount() const { return data_ ? data_->GetNumberOfCells() : 0; }

void RegionScene::setSlice(const Slice2d& slice, Colouring colouring, int classes) {
  for (auto* a : {&cells_, &edges_, &boundary_, &highlight_})
    if (*a) {
      renderer_->RemoveActor(*a);
      *a = nullptr;
    }
  data_ = slice_polydata(slice, colouring, classes);
  cells_ = actor_for(data_);
  renderer_->AddActor(cells_);
  // Edges: the same polygons drawn as outlines, slightly above.
  edges_ = actor_for(data_);
  edges_->GetMapper()->ScalarVisibilityOff();
  edges_->GetProperty()->SetRepresentationToWireframe();
  edges_->GetProperty()->SetColor(0.25, 0.25, 0.25);
  edges_->GetProperty()->SetLineWidth(1);
  edges_->SetPosition(0, 0, 0.001);
  renderer_->AddActor(edges_);
  boundary_ = actor_for(lines(slice.decision_boundary, 0.002));
  boundary_->GetProperty()->SetColor(0, 0, 0);
  boundary_->GetProperty()->SetLineWidth(3);
  renderer_->AddActor(boundary_);
}

void RegionScene::setColouring(const Slice2d& slice, Colouring colouring, int classes) { setSlice(slice, colouring, classes); }

void RegionScene::setRay(const std::optional<Eigen::Vector2d>& direction, double alpha) {
  for (auto* a : {&ray_, &point_})
    if (*a) {
      renderer_->RemoveActor(*a);
      *a = nullptr;
    }
  if (!direction || direction->norm() == 0) return;
  const Eigen::Vector2d d = *direction;
  const Eigen::Vector2d far = d * (1e6 / d.norm());
  ray_ = actor_for(lines({{Eigen::Vector2d(0, 0), far}}, 0.003));
  ray_->GetProperty()->SetColor(0.85, 0.1, 0.1);
  ray_->GetProperty()->SetLineWidth(2);
  renderer_->AddActor(ray_);
  // The point alpha * x as a small cross (stays visible at any zoom as lines).
  const Eigen::Vector2d p = alpha * d;
  const double s = 0.03 * std::max(1.0, p.norm());
  point_ = actor_for(lines({{p - Eigen::Vector2d(s, s), p + Eigen::Vector2d(s, s)}, {p - Eigen::Vector2d(s, -s), p + Eigen::Vector2d(s, -s)}}, 0.004));
  point_->GetProperty()->SetColor(0.85, 0.1, 0.1);
  point_->GetProperty()->SetLineWidth(4);
  renderer_->AddActor(point_);
}

void RegionScene::setHighlight(const Slice2d& slice, int polygon) {
  if (highlight_) {
    renderer_->RemoveActor(highlight_);
    highlight_ = nullptr;
  }
  if (polygon < 0 || polygon >= static_cast<int>(slice.polygons.size())) return;
  const auto& v = slice.polygons[polygon].polygon.vertices;
  std::vector<std::array<Eigen::Vector2d, 2>> segs;
  for (std::size_t i = 0; i < v.size(); ++i) segs.push_back({v[i], v[(i + 1) % v.size()]});
  highlight_ = actor_for(lines(segs, 0.0035));
  highlight_->GetProperty()->SetColor(0.9, 0.1, 0.6);
  highlight_->GetProperty()->SetLineWidth(4);
  renderer_->AddActor(highlight_);
}

}  // namespace tessera::gui
