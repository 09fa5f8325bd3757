// The VTK actors of the 3-D view: the largest logit over the slice as a
// surface (logit_surface, vtk/slice_polydata.hpp), lit so that the facets'
// tilt shows, with its region edges, labelled axes, a legend of its colours
// and the picked ray's path over it.
#pragma once

#include <vtkActor.h>
#include <vtkCubeAxesActor.h>
#include <vtkFeatureEdges.h>
#include <vtkLegendBoxActor.h>
#include <vtkPolyData.h>
#include <vtkPolyDataNormals.h>
#include <vtkRenderer.h>
#include <vtkScalarBarActor.h>
#include <vtkSmartPointer.h>
#include <vtkSphereSource.h>
#include <vtkTextActor.h>

#include <Eigen/Core>
#include <optional>
#include <string>
#include <vector>

#include "gui/scene.hpp"
#include "vtk/slice_polydata.hpp"

namespace tessera::gui {

// The largest logit over the slice: one flat facet per class cell, drawn
// at z = zScale() * logit. The renderer's viewport is narrowed to leave a
// strip on the right for the legend, which has a renderer of its own.
class SurfaceScene {
 public:
  explicit SurfaceScene(vtkRenderer* renderer);
  // Takes the legend's renderer (which calls back into this scene) out of
  // the window; the renderer passed in must still exist.
  ~SurfaceScene();
  SurfaceScene(const SurfaceScene&) = delete;
  SurfaceScene& operator=(const SurfaceScene&) = delete;
  // z_scale is chosen so that the surface is about half as tall as wide.
  // class_names name the classes in the legend; missing names are "class k".
  // The ray (setRay) is kept and redrawn at the new scale; a slice of
  // another window needs setRay again (the ray's end on it changes).
  void setSlice(const Slice2d& slice, const SliceWindow& window, Colouring colouring, int classes,
                const std::vector<std::string>& class_names = {});
  // The ray alpha * x of the picked point on the surface: its path from
  // the traversal's first alpha to where the line alpha * uv leaves the
  // slice's window, and a marker at alpha. nullptr or no uv (the ray is not
  // a line of the slice plane) hides it.
  void setRay(const RayView* ray, const std::optional<Eigen::Vector2d>& uv, double alpha);
  vtkIdType cellCount() const;
  double zScale() const { return z_scale_; }

 private:
  void showRay();
  void layoutLegend();

  vtkRenderer* renderer_;
  vtkSmartPointer<vtkRenderer> legend_renderer_;
  unsigned long legend_observer_ = 0;
  vtkSmartPointer<vtkPolyDataNormals> normals_;
  vtkSmartPointer<vtkFeatureEdges> edge_filter_;
  vtkSmartPointer<vtkActor> facets_, edges_, ray_, marker_;
  vtkSmartPointer<vtkSphereSource> marker_source_;
  vtkSmartPointer<vtkCubeAxesActor> axes_;
  vtkSmartPointer<vtkLegendBoxActor> legend_;
  vtkSmartPointer<vtkTextActor> legend_title_;
  vtkSmartPointer<vtkScalarBarActor> scalar_bar_;
  vtkSmartPointer<vtkPolyData> data_;
  SliceWindow window_;
  double z_scale_ = 1, width_ = 1;
  // The ray's path and marker as (u, v, largest logit), unscaled, so that a
  // new z scale redraws them.
  std::vector<Eigen::Vector3d> ray_path_;
  std::optional<Eigen::Vector3d> ray_point_;
};

}  // namespace tessera::gui
