#include "gui/surface_scene.hpp"

#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>

namespace tessera::gui {
namespace {

vtkSmartPointer<vtkActor> actor_for(vtkPolyData* data) {
  auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  mapper->SetInputData(data);
  auto actor = vtkSmartPointer<vtkActor>::New();
  actor->SetMapper(mapper);
  return actor;
}

}  // namespace
}  // namespace tessera::gui

namespace tessera::gui {

SurfaceScene::SurfaceScene(vtkRenderer* renderer) : renderer_(renderer) {}

vtkIdType SurfaceScene::cellCount() const { return data_ ? data_->GetNumberOfCells() : 0; }

void SurfaceScene::setSlice(const Slice2d& slice, const SliceWindow& window, Colouring colouring, int classes) {
  for (auto* a : {&facets_, &edges_})
    if (*a) {
      renderer_->RemoveActor(*a);
      *a = nullptr;
    }
  // Height range of the unscaled surface, to choose the scale.
  double lo = 1e300, hi = -1e300;
  for (const SlicePolygon& p : slice.polygons)
    for (const auto& v : p.polygon.vertices) {
      const Eigen::Vector3d uv1(v.x(), v.y(), 1);
      const double z = (p.logits * uv1).maxCoeff();
      lo = std::min(lo, z);
      hi = std::max(hi, z);
    }
  const double width = std::max(window.u1 - window.u0, window.v1 - window.v0);
  z_scale_ = hi > lo ? 0.5 * width / (hi - lo) : 1.0;
  data_ = logit_surface(slice, colouring, classes, z_scale_);
  facets_ = actor_for(data_);
  renderer_->AddActor(facets_);
  edges_ = actor_for(data_);
  edges_->GetMapper()->ScalarVisibilityOff();
  edges_->GetProperty()->SetRepresentationToWireframe();
  edges_->GetProperty()->SetColor(0.2, 0.2, 0.2);
  edges_->GetProperty()->LightingOff();
  renderer_->AddActor(edges_);
}

}  // namespace tessera::gui
