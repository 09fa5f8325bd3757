#include "training/roc_plot.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "training/metrics.hpp"

namespace tessera::training {
namespace {

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// Okabe-Ito colours, distinguishable by colour-blind readers.
const double kColours[][3] = {{0.90, 0.62, 0.00}, {0.34, 0.71, 0.91}, {0.00, 0.62, 0.45}, {0.94, 0.89, 0.26},
                              {0.00, 0.45, 0.70}, {0.84, 0.37, 0.00}, {0.80, 0.47, 0.65}, {0.0, 0.0, 0.0}};

void draw(cairo_t* cr, const ModelEvaluation& m, double width, double height) {
  const double left = 60, top = 40, size = height - 100;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 13);
  cairo_set_source_rgb(cr, 0, 0, 0);
  char title[256];
  std::snprintf(title, sizeof title, "ROC: %s (in-distribution positive, score max softmax)", m.name.c_str());
  cairo_move_to(cr, left, 24);
  cairo_show_text(cr, title);
  // Axes and grid.
  cairo_set_line_width(cr, 1);
  for (int i = 0; i <= 10; ++i) {
    const double t = i / 10.0;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left + t * size, top);
    cairo_line_to(cr, left + t * size, top + size);
    cairo_move_to(cr, left, top + size - t * size);
    cairo_line_to(cr, left + size, top + size - t * size);
    cairo_stroke(cr);
    if (i % 2 == 0) {
      char lab[16];
      std::snprintf(lab, sizeof lab, "%.1f", t);
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, left + t * size - 8, top + size + 16);
      cairo_show_text(cr, lab);
      cairo_move_to(cr, left - 30, top + size - t * size + 4);
      cairo_show_text(cr, lab);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, left, top, size, size);
  cairo_stroke(cr);
  cairo_move_to(cr, left + size / 2 - 60, top + size + 36);
  cairo_show_text(cr, "false-positive rate");
  cairo_save(cr);
  cairo_move_to(cr, left - 40, top + size / 2 + 50);
  cairo_rotate(cr, -1.5707963267948966);
  cairo_show_text(cr, "true-positive rate");
  cairo_restore(cr);
  // Chance line.
  const double dash[] = {4, 4};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  cairo_move_to(cr, left, top + size);
  cairo_line_to(cr, left + size, top);
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
  // Curves and legend.
  int c = 0;
  double legend_y = top + 10;
  cairo_set_line_width(cr, 2);
  for (const auto& o : m.outs) {
    if (o.count == 0 || o.scores.empty()) continue;
    const auto& col = kColours[c % 8];
    const double long_dash[] = {8, 4};
    cairo_set_dash(cr, long_dash, c >= 8 ? 2 : 0, 0);  // the second round of colours is dashed
    ++c;
    cairo_set_source_rgb(cr, col[0], col[1], col[2]);
    const auto curve = roc_curve(m.in_scores, o.scores);
    cairo_move_to(cr, left, top + size);
    for (const auto& [fpr, tpr] : curve) cairo_line_to(cr, left + fpr * size, top + size - tpr * size);
    cairo_stroke(cr);
    cairo_move_to(cr, left + size + 14, legend_y - 4);
    cairo_line_to(cr, left + size + 36, legend_y - 4);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    char lab[160];
    std::snprintf(lab, sizeof lab, "%s  (AUROC %.3f)", o.label.c_str(), o.auroc);
    cairo_move_to(cr, left + size + 40, legend_y);
    cairo_show_text(cr, lab);
    legend_y += 18;
  }
  (void)width;
}

}  // namespace

void write_roc_plot(const std::string& path, const ModelEvaluation& m) {
  const double width = 860, height = 560;
  const std::string ext = std::filesystem::path(path).extension().string();
  std::string bytes;
  cairo_surface_t* surface = nullptr;
  if (ext == ".svg") {
    surface = cairo_svg_surface_create_for_stream(append, &bytes, width, height);
  } else if (ext == ".png") {
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width), static_cast<int>(height));
  } else {
    throw Error(path + ": the plot's format comes from its extension, .svg or .png");
  }
  cairo_t* cr = cairo_create(surface);
  draw(cr, m, width, height);
  cairo_destroy(cr);
  if (ext == ".png") cairo_surface_write_to_png_stream(surface, append, &bytes);
  cairo_surface_finish(surface);
  const cairo_status_t status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) throw Error(path + ": drawing failed: " + cairo_status_to_string(status));
  write_file_atomically(path, bytes);
}

}  // namespace tessera::training
