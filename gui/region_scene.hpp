// The VTK actors of the region map: the exact polygons of a slice (the
// polydata of vtk/slice_polydata.hpp, one cell per polygon with its colour),
// their edges, the decision boundary, the ray through a picked point and the
// point itself (the comparison window; the main map draws these, with its
// axes and legend, in gui/map_overlay). The polydata themselves come from the tessera_vtk library.
#pragma once

#include <vtkActor.h>
#include <vtkPolyData.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

#include <optional>

#include "gui/scene.hpp"
#include "vtk/slice_polydata.hpp"

namespace tessera::gui {

class RegionScene {
 public:
  explicit RegionScene(vtkRenderer* renderer);
  void setSlice(const Slice2d& slice, Colouring colouring, int classes);
  void setColouring(const Slice2d& slice, Colouring colouring, int classes);
  // The ray from (0,0) through (u, v) to the edge of a large disc, and the
  // point alpha*(u, v); hidden when nullopt.
  void setRay(const std::optional<Eigen::Vector2d>& direction, double alpha);
  void setHighlight(const Slice2d& slice, int polygon);  // -1: none
  vtkIdType cellCount() const;  // polygons in the scene

 private:
  vtkRenderer* renderer_;
  vtkSmartPointer<vtkActor> cells_, edges_, boundary_, ray_, point_, highlight_;
  vtkSmartPointer<vtkPolyData> data_;
};

}  // namespace tessera::gui
