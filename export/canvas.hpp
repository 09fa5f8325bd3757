// The one drawing backend for pictures Tessera writes (slices, ROC curves):
// Cairo, onto an SVG or a PNG surface, returned as the file's bytes.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "export/palette.hpp"

namespace tessera {

enum class PictureFormat { Svg, Png };
// From a file name's extension (".svg" or ".png"); throws tessera::Error
// naming the file otherwise.
PictureFormat picture_format_for(const std::string& path);

class Canvas {
 public:
  // A white canvas of width x height pixels (points for SVG).
  Canvas(PictureFormat format, int width, int height);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  using Points = std::vector<std::pair<double, double>>;
  // A filled polygon (fill may be null: outline only); stroke_width 0: no
  // outline; the outline is dark grey with the given opacity.
  void polygon(const Points& pts, const Rgb* fill, double stroke_width = 0, double stroke_opacity = 1);
  // An open polyline in `colour` (dashed when `dashed`).
  void polyline(const Points& pts, const Rgb& colour, double width, bool dashed = false);
  void line(double x1, double y1, double x2, double y2, double width, const Rgb& colour = {0, 0, 0});
  void rect(double x, double y, double w, double h, const Rgb& fill);
  // Text with its baseline starting at (x, y); `anchor_right` ends it at x.
  void text(double x, double y, const std::string& s, double size, bool anchor_right = false);
  // Text read bottom to top (an axis title), its baseline starting at (x, y).
  void vertical_text(double x, double y, const std::string& s, double size);
  // A rectangle's outline.
  void frame(double x, double y, double w, double h, const Rgb& colour, double width = 1);
  // The file's bytes; the canvas cannot be drawn on afterwards.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tessera
