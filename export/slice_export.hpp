// Pictures and files of 2-D slices, without a display: SVG, PNG (Cairo) and
// VTK PolyData.
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

// VTK XML PolyData (.vtp, ASCII) with one polygon cell per region, points
// (u, v, 0), and cell arrays region_id, pattern_hash_hi and pattern_hash_lo
// (the 64-bit pattern hash as two 32-bit halves; VTK has no portable
// unsigned 64-bit array in ASCII), class, confidence_min, confidence_max and
// area. ParaView opens it directly.
std::string slice_to_vtp(const Slice2d& slice);

// A 3-D slice as VTK PolyData: every face of every polyhedron is a polygon
// cell carrying its polyhedron's region_id, pattern_hash_hi/lo, class and
// volume, so that ParaView can colour, threshold and clip the regions.
std::string slice_to_vtp(const Slice3d& slice);

}  // namespace tessera
