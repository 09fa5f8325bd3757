#include "export/palette.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tessera {

const char* colouring_name(Colouring c) {
  switch (c) {
    case Colouring::Region: return "region";
    case Colouring::Class: return "class";
    case Colouring::Confidence: return "confidence";
    case Colouring::Shaded: return "shaded";
  }
  return "?";
}

std::optional<Colouring> colouring_from_name(const std::string& name) {
  for (Colouring c : {Colouring::Region, Colouring::Class, Colouring::Confidence, Colouring::Shaded})
    if (name == colouring_name(c)) return c;
  return std::nullopt;
}

Rgb viridis(double t) {
  // Nine samples of matplotlib's viridis, linearly interpolated.
  static const double k[9][3] = {{0.267, 0.005, 0.329}, {0.278, 0.175, 0.483}, {0.229, 0.322, 0.546},
                                 {0.173, 0.449, 0.558}, {0.128, 0.567, 0.551}, {0.153, 0.681, 0.503},
                                 {0.360, 0.785, 0.388}, {0.668, 0.862, 0.196}, {0.993, 0.906, 0.144}};
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  const double s = t * 8;
  const int i = std::min(7, static_cast<int>(s));
  const double f = s - i;
  Rgb out;
  for (int c = 0; c < 3; ++c)
    out[c] = static_cast<unsigned char>(std::lround(255 * (k[i][c] + f * (k[i + 1][c] - k[i][c]))));
  return out;
}

Rgb class_colour(int k) {
  static const Rgb palette[] = {{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167}, {86, 180, 233},
                                {213, 94, 0},  {240, 228, 66}, {60, 60, 160}, {150, 75, 0},   {170, 30, 75}};
  if (k < 0) return {200, 200, 200};
  return palette[k % 10];
}

Rgb shaded_class_colour(int k, double shade) {
  if (!(shade >= 0)) shade = 0;
  if (shade > 1) shade = 1;
  const Rgb c = class_colour(k);
  const double f = 0.18 + 0.82 * shade;  // the palest shade keeps 18 % of the hue
  Rgb out;
  for (int i = 0; i < 3; ++i) out[i] = static_cast<unsigned char>(std::lround(255 + f * (c[i] - 255.0)));
  return out;
}

Rgb region_colour(std::uint64_t hash) {
  hash ^= hash >> 33;
  hash *= 0xFF51AFD7ED558CCDULL;
  hash ^= hash >> 33;
  hash *= 0xC4CEB9FE1A85EC53ULL;
  hash ^= hash >> 33;
  // Moderate saturation, high value: light colours that keep edges visible.
  const double h = static_cast<double>(hash % 3600) / 10.0, s = 0.35 + 0.25 * ((hash >> 20) % 100) / 100.0, v = 0.95;
  const double c = v * s, x = c * (1 - std::fabs(std::fmod(h / 60.0, 2) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  if (h < 60) r = c, g = x;
  else if (h < 120) r = x, g = c;
  else if (h < 180) g = c, b = x;
  else if (h < 240) g = x, b = c;
  else if (h < 300) r = x, b = c;
  else r = c, b = x;
  auto byte = [](double u) { return static_cast<unsigned char>(std::lround(255 * u)); };
  return {byte(r + m), byte(g + m), byte(b + m)};
}

Rgb confidence_colour(double max_confidence, int classes) {
  const double floor = classes > 1 ? 1.0 / classes : 0.0;
  return viridis((max_confidence - floor) / std::max(1e-12, 1.0 - floor));
}

Rgb slice_region_colour(Colouring colouring, std::uint64_t pattern_hash, int predicted_class, double max_confidence,
                        int classes, double shade) {
  switch (colouring) {
    case Colouring::Region: return region_colour(pattern_hash);
    case Colouring::Class: return class_colour(predicted_class);
    case Colouring::Confidence: return confidence_colour(max_confidence, classes);
    case Colouring::Shaded: return shaded_class_colour(predicted_class, shade);
  }
  return {0, 0, 0};
}

std::string hex(const Rgb& c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

}  // namespace tessera
