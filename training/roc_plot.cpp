#include "training/roc_plot.hpp"

#include <cstdio>

#include "export/canvas.hpp"
#include "export/palette.hpp"
#include "io/file_util.hpp"
#include "training/metrics.hpp"

namespace tessera::training {
namespace {

void draw(Canvas& c, const ModelEvaluation& m, double height) {
  const double left = 60, top = 40, size = height - 100;
  char title[256];
  std::snprintf(title, sizeof title, "ROC: %s (in-distribution positive, score max softmax)", m.name.c_str());
  c.text(left, 24, title, 13);
  // Grid, ticks, axes.
  const Rgb grid{230, 230, 230}, black{0, 0, 0}, grey{128, 128, 128};
  for (int i = 0; i <= 10; ++i) {
    const double t = i / 10.0;
    c.line(left + t * size, top, left + t * size, top + size, 1, grid);
    c.line(left, top + size - t * size, left + size, top + size - t * size, 1, grid);
    if (i % 2 == 0) {
      char lab[16];
      std::snprintf(lab, sizeof lab, "%.1f", t);
      c.text(left + t * size - 8, top + size + 16, lab, 13);
      c.text(left - 30, top + size - t * size + 4, lab, 13);
    }
  }
  c.frame(left, top, size, size, black);
  c.text(left + size / 2 - 60, top + size + 36, "false-positive rate", 13);
  c.vertical_text(left - 40, top + size / 2 + 50, "true-positive rate", 13);
  c.polyline({{left, top + size}, {left + size, top}}, grey, 1, true);  // chance
  // Curves (the palette's class colours; the second round dashed) and legend.
  int k = 0;
  double legend_y = top + 10;
  for (const auto& o : m.outs) {
    if (o.count == 0 || o.scores.empty()) continue;
    const Rgb colour = class_colour(k % 8);
    const bool dashed = k >= 8;
    ++k;
    Canvas::Points curve{{left, top + size}};
    for (const auto& [fpr, tpr] : roc_curve(m.in_scores, o.scores))
      curve.emplace_back(left + fpr * size, top + size - tpr * size);
    c.polyline(curve, colour, 2, dashed);
    c.polyline({{left + size + 14, legend_y - 4}, {left + size + 36, legend_y - 4}}, colour, 2, dashed);
    char lab[160];
    std::snprintf(lab, sizeof lab, "%s  (AUROC %.3f)", o.label.c_str(), o.auroc);
    c.text(left + size + 40, legend_y, lab, 13);
    legend_y += 18;
  }
}

}  // namespace

void write_roc_plot(const std::string& path, const ModelEvaluation& m) {
  const int width = 860, height = 560;
  Canvas c(picture_format_for(path), width, height);
  draw(c, m, height);
  write_file_atomically(path, c.finish());
}

}  // namespace tessera::training
