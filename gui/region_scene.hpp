// The VTK actors of the region map: the exact polygons of a slice (the
// polydata of vtk/slice_polydata.hpp, one cell per polygon with its colour),
// their edges and the decision boundary. Everything drawn over them (axes,
// legend, the ray, markers) is gui/map_overlay; the polydata come from the
// tessera_vtk library.
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
  vtkIdType cellCount() const;  // polygons in the scene
  // Regions of a slice still being computed, drawn over the current map as
  // they arrive (their class's colour, half shaded); setSlice or
  // clearPreview removes them.
  void addPreview(const std::vector<std::pair<ConvexPolygon, int>>& regions);
  void clearPreview();
  vtkIdType previewCount() const;

 private:
  vtkRenderer* renderer_;
  vtkSmartPointer<vtkActor> cells_, edges_, boundary_, preview_;
  vtkSmartPointer<vtkPolyData> preview_data_;
  vtkSmartPointer<vtkPolyData> data_;
};

}  // namespace tessera::gui
