// The VTK actors of the 3-D view: the largest logit over the slice as a
// surface (logit_surface, vtk/slice_polydata.hpp).
#pragma once

#include <vtkActor.h>
#include <vtkPolyData.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

#include "gui/scene.hpp"
#include "vtk/slice_polydata.hpp"

namespace tessera::gui {

// The largest logit over the slice (logit_surface, vtk/slice_polydata.hpp):
// one flat facet per class cell, with its edges.
class SurfaceScene {
 public:
  explicit SurfaceScene(vtkRenderer* renderer);
  // z_scale is chosen so that the surface is about half as tall as wide.
  void setSlice(const Slice2d& slice, const SliceWindow& window, Colouring colouring, int classes);
  vtkIdType cellCount() const;
  double zScale() const { return z_scale_; }

 private:
  vtkRenderer* renderer_;
  vtkSmartPointer<vtkActor> facets_, edges_;
  vtkSmartPointer<vtkPolyData> data_;
  double z_scale_ = 1;
};

}  // namespace tessera::gui
