#include "export/canvas.hpp"

#include <cairo-svg.h>
#include <cairo.h>

#include "core/error.hpp"

namespace tessera {

PictureFormat picture_format_for(const std::string& path) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    if (path.size() < e.size()) return false;
    for (size_t i = 0; i < e.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(path[path.size() - e.size() + i])) != e[i]) return false;
    return true;
  };
  if (ends(".svg")) return PictureFormat::Svg;
  if (ends(".png")) return PictureFormat::Png;
  throw Error(path + ": a picture must be written as .svg or .png");
}

namespace {
cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}
double unit(unsigned char c) { return c / 255.0; }
}  // namespace

struct Canvas::State {
  PictureFormat format;
  std::string bytes;
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  bool finished = false;
};

Canvas::Canvas(PictureFormat format, int width, int height) : s_(new State) {
  s_->format = format;
  s_->surface = format == PictureFormat::Svg
                    ? cairo_svg_surface_create_for_stream(append, &s_->bytes, width, height)
                    : cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  if (cairo_surface_status(s_->surface) != CAIRO_STATUS_SUCCESS)
    throw Error("cannot create a " + std::to_string(width) + " x " + std::to_string(height) + " picture: " +
                cairo_status_to_string(cairo_surface_status(s_->surface)));
  s_->cr = cairo_create(s_->surface);
  cairo_set_source_rgb(s_->cr, 1, 1, 1);
  cairo_paint(s_->cr);
  cairo_select_font_face(s_->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

Canvas::~Canvas() {
  if (s_->cr) cairo_destroy(s_->cr);
  if (s_->surface) cairo_surface_destroy(s_->surface);
}

void Canvas::polygon(const Points& pts, const Rgb* fill, double stroke_width, double stroke_opacity) {
  if (pts.empty()) return;
  cairo_t* cr = s_->cr;
  cairo_move_to(cr, pts[0].first, pts[0].second);
  for (size_t i = 1; i < pts.size(); ++i) cairo_line_to(cr, pts[i].first, pts[i].second);
  cairo_close_path(cr);
  if (fill) {
    cairo_set_source_rgb(cr, unit((*fill)[0]), unit((*fill)[1]), unit((*fill)[2]));
    if (stroke_width > 0)
      cairo_fill_preserve(cr);
    else
      cairo_fill(cr);
  }
  if (stroke_width > 0) {
    cairo_set_source_rgba(cr, 0.2, 0.2, 0.2, stroke_opacity);
    cairo_set_line_width(cr, stroke_width);
    cairo_stroke(cr);
  }
  cairo_new_path(cr);
}

void Canvas::polyline(const Points& pts, const Rgb& colour, double width, bool dashed) {
  if (pts.size() < 2) return;
  cairo_t* cr = s_->cr;
  cairo_set_source_rgb(cr, unit(colour[0]), unit(colour[1]), unit(colour[2]));
  cairo_set_line_width(cr, width);
  const double dash[] = {6, 4};
  cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
  cairo_move_to(cr, pts[0].first, pts[0].second);
  for (size_t i = 1; i < pts.size(); ++i) cairo_line_to(cr, pts[i].first, pts[i].second);
  cairo_stroke(cr);
  cairo_set_dash(cr, dash, 0, 0);
}

void Canvas::line(double x1, double y1, double x2, double y2, double width, const Rgb& colour) {
  cairo_t* cr = s_->cr;
  cairo_set_source_rgb(cr, unit(colour[0]), unit(colour[1]), unit(colour[2]));
  cairo_set_line_width(cr, width);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_move_to(cr, x1, y1);
  cairo_line_to(cr, x2, y2);
  cairo_stroke(cr);
}

void Canvas::rect(double x, double y, double w, double h, const Rgb& fill) {
  cairo_t* cr = s_->cr;
  cairo_set_source_rgb(cr, unit(fill[0]), unit(fill[1]), unit(fill[2]));
  cairo_rectangle(cr, x, y, w, h);
  cairo_fill(cr);
}

void Canvas::text(double x, double y, const std::string& s, double size, bool anchor_right) {
  cairo_t* cr = s_->cr;
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, size);
  if (anchor_right) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    x -= e.x_advance;
  }
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s.c_str());
}

void Canvas::vertical_text(double x, double y, const std::string& s, double size) {
  cairo_t* cr = s_->cr;
  cairo_save(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
  cairo_rotate(cr, -1.5707963267948966);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

void Canvas::frame(double x, double y, double w, double h, const Rgb& colour, double width) {
  cairo_t* cr = s_->cr;
  cairo_set_source_rgb(cr, unit(colour[0]), unit(colour[1]), unit(colour[2]));
  cairo_set_line_width(cr, width);
  cairo_rectangle(cr, x, y, w, h);
  cairo_stroke(cr);
}

std::string Canvas::finish() {
  if (s_->finished) throw Error("internal: Canvas::finish called twice");
  s_->finished = true;
  cairo_destroy(s_->cr);
  s_->cr = nullptr;
  if (s_->format == PictureFormat::Png) {
    cairo_surface_flush(s_->surface);
    cairo_surface_write_to_png_stream(s_->surface, append, &s_->bytes);
  } else {
    cairo_surface_finish(s_->surface);  // writes the SVG through append()
  }
  cairo_surface_destroy(s_->surface);
  s_->surface = nullptr;
  return std::move(s_->bytes);
}

}  // namespace tessera
