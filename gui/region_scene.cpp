#include "gui/region_scene.hpp"

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkLookupTable.h>
#include <vtkPoints.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkUnsignedCharArray.h>

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

vtkIdType RegionScene::previewCount() const { return preview_data_ ? preview_data_->GetNumberOfCells() : 0; }

void RegionScene::clearPreview() {
  if (preview_) renderer_->RemoveActor(preview_);
  preview_ = nullptr;
  preview_data_ = nullptr;
}

void RegionScene::addPreview(const std::vector<std::pair<ConvexPolygon, int>>& regions) {
  if (regions.empty()) return;
  if (!preview_data_) {
    preview_data_ = vtkSmartPointer<vtkPolyData>::New();
    auto pts = vtkSmartPointer<vtkPoints>::New();
    pts->SetDataTypeToDouble();
    preview_data_->SetPoints(pts);
    preview_data_->SetPolys(vtkSmartPointer<vtkCellArray>::New());
    auto colours = vtkSmartPointer<vtkUnsignedCharArray>::New();
    colours->SetNumberOfComponents(3);
    colours->SetName("colour");
    preview_data_->GetCellData()->SetScalars(colours);
    preview_ = actor_for(preview_data_);
    preview_->GetProperty()->EdgeVisibilityOn();
    preview_->GetProperty()->SetEdgeColor(0.45, 0.45, 0.45);
    preview_->GetProperty()->SetAmbient(1.0);
    preview_->GetProperty()->SetDiffuse(0.0);
    preview_->SetPosition(0, 0, 0.0015);  // over the previous map's cells and edges
    renderer_->AddActor(preview_);
  }
  vtkPoints* pts = preview_data_->GetPoints();
  vtkCellArray* polys = preview_data_->GetPolys();
  auto* colours = vtkUnsignedCharArray::SafeDownCast(preview_data_->GetCellData()->GetScalars());
  std::vector<vtkIdType> ids;
  for (const auto& [poly, k] : regions) {
    ids.clear();
    for (const auto& v : poly.vertices) ids.push_back(pts->InsertNextPoint(v.x(), v.y(), 0));
    polys->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
    const Rgb c = shaded_class_colour(k, 0.5);
    colours->InsertNextTypedTuple(c.data());
  }
  pts->Modified();
  polys->Modified();
  colours->Modified();
  preview_data_->Modified();
}

void RegionScene::setSlice(const Slice2d& slice, Colouring colouring, int classes) {
  clearPreview();
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
