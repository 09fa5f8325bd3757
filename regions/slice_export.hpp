// Pictures and files of 2-D slices (no display needed): SVG.
#pragma once

#include <string>

#include "regions/slice_2d.hpp"

namespace tessera {

enum class SliceColouring { Region, Class, Confidence };

// An SVG picture of the slice: polygons filled by region (a colour per
// pattern hash), by predicted class, or by the largest confidence in the
// polygon (viridis, a perceptually uniform map, with a legend); region edges
// thin, the decision boundary thick black. width in pixels.
std::string slice_to_svg(const Slice2d& slice, const SliceWindow& window, SliceColouring colouring, int width = 800,
                         const std::string& title = "");

}  // namespace tessera
