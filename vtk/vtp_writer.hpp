// .vtp files (VTK XML PolyData) of slices, written by VTK's own
// vtkXMLPolyDataWriter from the polydata of vtk/slice_polydata.hpp, so that
// the files and the desktop app carry the same cells and arrays. ASCII, so
// that the files can be read and diffed; ParaView opens them directly.
#pragma once

#include <string>

#include "export/palette.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

#include <vtkPolyData.h>

namespace tessera {

// The file's bytes (callers write them atomically). Cells and arrays as in
// slice_polydata(): region_id, pattern_hash_hi, pattern_hash_lo, class,
// confidence_min, confidence_max, area (2-D) or volume (3-D), region and
// colour under `colouring` (classes <= 0: from the slice).
std::string slice_to_vtp(const Slice2d& slice, Colouring colouring = Colouring::Class, int classes = 0);
std::string slice_to_vtp(const Slice3d& slice, Colouring colouring = Colouring::Class, int classes = 0);

// Any polydata as ASCII VTK XML PolyData. Throws tessera::Error when VTK
// reports a failure.
std::string polydata_to_vtp(vtkPolyData* polydata);

}  // namespace tessera
