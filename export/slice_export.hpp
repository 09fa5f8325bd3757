// Pictures of 2-D slices, without a display: SVG and PNG (Cairo). The .vtp
// files of slices are written by the VTK library (vtk/vtp_writer.hpp).
#pragma once

#include <string>

#include "export/palette.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

using SliceColouring = Colouring;

// An SVG picture of the slice: polygons filled by region (a colour per
// pattern hash), by predicted class, or by the largest confidence in the
// polygon (viridis over [1/K, 1], as in the app, with a legend); region edges
// thin, the decision boundary thick black. width in pixels.
std::string slice_to_svg(const Slice2d& slice, const SliceWindow& window, SliceColouring colouring, int width = 800,
                         const std::string& title = "");

}  // namespace tessera

namespace tessera {

// The same picture as a PNG (drawn with Cairo), returned as the file's bytes.
std::string slice_to_png(const Slice2d& slice, const SliceWindow& window, SliceColouring colouring, int width = 800,
                         const std::string& title = "");

}  // namespace tessera
