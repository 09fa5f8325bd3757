// The one palette of Tessera: the command line's pictures (SVG/PNG), the
// .vtp files, the desktop app and the training plots colour the same things
// the same way.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace tessera {

// 8-bit RGB.
using Rgb = std::array<unsigned char, 3>;

// How the polygons of a slice are coloured. Shaded: the predicted class's
// colour, paler where the network is less sure (see shade_scale in
// export/slice_stats.hpp): the class and the region structure both stay
// visible even where one class covers the whole picture.
enum class Colouring { Region, Class, Confidence, Shaded };
const char* colouring_name(Colouring c);  // "region", "class", "confidence", "shaded"
// The inverse of colouring_name; nullopt for another name.
std::optional<Colouring> colouring_from_name(const std::string& name);

// Perceptually uniform colour map (matplotlib's viridis) for t in [0, 1]
// (clamped; NaN is 0).
Rgb viridis(double t);
// Ten distinct colours for classes, the first seven Okabe–Ito (readable by
// colour-blind readers), then indigo, brown and crimson; no grey or black (a
// map of one class must not look empty or broken); k < 0 (no class) is
// light grey.
Rgb class_colour(int k);
// Class k's colour mixed with white: shade 1 is the full colour, 0 the
// palest shade that still shows the hue.
Rgb shaded_class_colour(int k, double shade);
// A stable, light colour per region, from its activation-pattern hash (bits
// mixed first: neighbouring regions differ in one unit).
Rgb region_colour(std::uint64_t pattern_hash);
// The colour of a region's largest confidence: viridis over [1/K, 1].
Rgb confidence_colour(double max_confidence, int classes);
// The colour of a region under a colouring: region_colour(pattern hash),
// class_colour(class), confidence_colour(largest confidence, classes) or
// shaded_class_colour(class, shade).
Rgb slice_region_colour(Colouring colouring, std::uint64_t pattern_hash, int predicted_class, double max_confidence,
                        int classes, double shade = 1);
// "#rrggbb".
std::string hex(const Rgb& c);

}  // namespace tessera
