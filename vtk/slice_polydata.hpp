// Slices as VTK polydata: the one conversion behind the .vtp files
// (vtk/vtp_writer.hpp) and the desktop app's region map and logit surface.
// No rendering: everything here runs without a display.
#pragma once

#include <vtkPolyData.h>
#include <vtkSmartPointer.h>

#include <cstdint>

#include "export/palette.hpp"
#include "export/slice_stats.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

// Region colours: slice_region_colour (export/palette.hpp); the number of
// classes of a slice: slice_classes (export/slice_stats.hpp).

// A 2-D slice: points (u, v, 0), one polygon cell per region (cell i =
// slice.polygons[i], vertices counter-clockwise). Cell arrays: region_id
// (Int64), pattern_hash_hi and pattern_hash_lo (UInt32: the 64-bit pattern
// hash in two halves), class (Int32), confidence_min, confidence_max and
// area (Float64), and for the app region (Int32, = region_id) and colour
// (3 unsigned chars, the active scalars) under `colouring`. classes <= 0:
// slice_classes(slice).
vtkSmartPointer<vtkPolyData> slice_polydata(const Slice2d& slice, Colouring colouring = Colouring::Class,
                                            int classes = 0);

// A 3-D slice: every face of every polyhedron a polygon cell (points
// (u, v, w), each face with its own points), carrying its polyhedron's
// region_id, pattern_hash_hi/lo, class, volume (Float64), region and colour.
// 3-D slices have no confidence ranges, so Colouring::Confidence and Shaded colour by
// class.
vtkSmartPointer<vtkPolyData> slice_polydata(const Slice3d& slice, Colouring colouring = Colouring::Class,
                                            int classes = 0);

// The largest logit over a 2-D slice as a surface z = z_scale * max_k f_k(u, v):
// on each class cell of each region it is one affine function, so the surface
// is exactly one flat facet per class cell (a region without class cells is
// one facet of its predicted class). Cell arrays: region (the polygon's
// index), class (the facet's class) and colour (as the region map colours a
// region of that class).
vtkSmartPointer<vtkPolyData> logit_surface(const Slice2d& slice, Colouring colouring, int classes, double z_scale);

}  // namespace tessera
