// The one palette of Tessera: the command line's pictures (SVG/PNG), the
// .vtp files, the desktop app and the training plots colour the same things
// the same way.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace tessera {

// 8-bit RGB.
using Rgb = std::array<unsigned char, 3>;

// How the polygons of a slice are coloured.
enum class Colouring { Region, Class, Confidence };
const char* colouring_name(Colouring c);  // "region", "class", "confidence"

// Perceptually uniform colour map (matplotlib's viridis) for t in [0, 1]
// (clamped; NaN is 0).
Rgb viridis(double t);
// Ten distinct colours for classes, the first eight Okabe–Ito (readable by
// colour-blind readers); k < 0 (no class) is light grey.
Rgb class_colour(int k);
// A stable, light colour per region, from its activation-pattern hash (bits
// mixed first: neighbouring regions differ in one unit).
Rgb region_colour(std::uint64_t pattern_hash);
// The colour of a region's largest confidence: viridis over [1/K, 1].
Rgb confidence_colour(double max_confidence, int classes);
// The colour of a region under a colouring: region_colour(pattern hash),
// class_colour(class) or confidence_colour(largest confidence, classes).
Rgb slice_region_colour(Colouring colouring, std::uint64_t pattern_hash, int predicted_class, double max_confidence,
                        int classes);
// "#rrggbb".
std::string hex(const Rgb& c);

}  // namespace tessera
