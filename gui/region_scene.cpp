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
  for (auto* a : {&cells_, &edges_, &boundary_})
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
  edges_->GetProperty()->SetLineWidth(1);
  // Thousands of small regions: lighter edges, so the colours stay readable
  // (opaque: translucent lines would cost a sorted pass per frame).
  const std::size_t n = slice.polygons.size();
  const double grey = n > 20000 ? 0.72 : n > 5000 ? 0.6 : n > 1000 ? 0.45 : 0.25;
  edges_->GetProperty()->SetColor(grey, grey, grey);
  // The map is flat: no lighting to compute.
  for (vtkActor* a : {cells_.Get(), edges_.Get()}) {
    a->GetProperty()->SetAmbient(1.0);
    a->GetProperty()->SetDiffuse(0.0);
    a->GetProperty()->SetSpecular(0.0);
  }
  edges_->SetPosition(0, 0, 0.001);
  renderer_->AddActor(edges_);
  boundary_ = actor_for(lines(slice.decision_boundary, 0.002));
  boundary_->GetProperty()->SetColor(0, 0, 0);
  boundary_->GetProperty()->SetLineWidth(3);
  renderer_->AddActor(boundary_);
}

void RegionScene::setColouring(const Slice2d& slice, Colouring colouring, int classes) { setSlice(slice, colouring, classes); }

}  // namespace tessera::gui
