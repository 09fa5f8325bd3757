// The VTK side of the region map: the exact polygons of a slice as one
// polydata with a colour per cell, their edges, the decision boundary, the
// ray through a picked point and the point itself, and a colour legend for
// the confidence colouring.
#pragma once

#include <vtkActor.h>
#include <vtkPolyData.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>

#include <optional>

#include "gui/scene.hpp"

namespace tessera::gui {

// One cell per polygon (cell i = slice.polygons[i]); cell arrays "colour"
// (RGB bytes) and "region" (the polygon's index).
vtkSmartPointer<vtkPolyData> slice_polydata(const Slice2d& slice, Colouring colouring, int classes);

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
  vtkSmartPointer<vtkScalarBarActor> legend_;
  vtkSmartPointer<vtkPolyData> data_;
};

}  // namespace tessera::gui

namespace tessera::gui {

// The largest logit over the slice as a surface z = max_k f_k(u, v): on each
// class cell of each region it is one affine function, so the surface is
// exactly one flat facet per cell (continuous, piecewise planar). Heights
// are scaled by `z_scale`; facets coloured like the region map.
vtkSmartPointer<vtkPolyData> logit_surface(const Slice2d& slice, Colouring colouring, int classes, double z_scale);

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
