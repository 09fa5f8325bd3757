// What the desktop app shows, computed without Qt or VTK so that it can be
// tested without a display: the slice a model is viewed on, colours, the
// logarithmic alpha scale, the ray through a picked point with its exact
// confidence curve, and the description of a selected region.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "export/palette.hpp"
#include "io/input_box.hpp"
#include "core/network.hpp"
#include "regions/box_bounds.hpp"
#include "regions/certificate.hpp"
#include "regions/line_traversal.hpp"
#include "regions/slice_2d.hpp"

namespace tessera::gui {

// Colours come from the one palette (export/palette.hpp): Rgb, Colouring,
// viridis, class_colour, region_colour, confidence_colour; a slice
// polygon's colour under a colouring is slice_region_colour
// (export/palette.hpp), which colours the pictures and the polydata.

// The slider's alpha scale: position 0..steps maps to alpha = 10^x with x
// linear in [log10_min, log10_max].
struct AlphaScale {
  double log10_min = -2, log10_max = 16;
  int steps = 1800;
  double alpha(int position) const;
  int position(double alpha) const;  // nearest, clamped
};

// The plane a model is viewed on. 2-D models: their input plane. Others: the
// plane through `origin` spanned by two random orthonormal directions (seed).
struct SliceFrame {
  Plane2d plane;
  SliceWindow window;
  std::string description;
  // What the axes mean (short, for the map's axis titles), and named points
  // of the plane (the input, the inputs spanning it, 0 when the plane
  // contains it) for markers.
  std::string u_label = "u", v_label = "v";
  std::vector<std::pair<std::string, Eigen::Vector2d>> landmarks;
};
SliceFrame default_frame(const Network& net, const std::optional<Vector>& origin, std::uint64_t seed = 1);
// The plane that contains the ray alpha*x: origin 0, e1 = x / |x| and e2 a
// random unit vector orthogonal to it (seed). The ray is the positive u axis.
SliceFrame ray_frame(const Network& net, const Vector& x, std::uint64_t seed = 1);
// The plane through three inputs: origin x0, e1 = x1 - x0, e2 = x2 - x0
// (so (0,0), (1,0) and (0,1) are the three inputs). Throws tessera::Error
// when they are (nearly) collinear.
SliceFrame points_frame(const Vector& x0, const Vector& x1, const Vector& x2);
// Uniform noise in [0,1]^d (images) or [-1,1]^d, seeded: an origin for slices.
Vector noise_input(const Network& net, std::uint64_t seed);
// For image models: the input as an 8-bit picture (C-H-W values clipped to
// [0,1]; 1 or 3 channels), row-major, with its width and height.
struct Picture {
  int width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // height * width * channels
  bool clipped = false;               // some values lay outside [0,1]
};
std::optional<Picture> picture_of(const Shape& shape, const Vector& x);

// Point of input space at slice coordinates (u, v).
Vector point_at(const SliceFrame& f, double u, double v);

// The ray alpha * x through a picked input x, with everything the ray panel
// draws.
struct RayView {
  Vector x;                          // the picked input (alpha = 1)
  LineTraversal traversal;           // exact regions along alpha*x from alpha0
  Certificate certificate;           // Theorem 3.1 (last region, limit, alpha*)
  double threshold = 0.999;
  std::string error;                 // set instead of throwing by callers that run it in the background
  // Exact softmax of every class at alpha (from the segment containing alpha).
  std::vector<double> probabilities(double alpha) const;
  double confidence(double alpha) const;
  int segment_at(double alpha) const;  // index into traversal.segments, -1 if before alpha0
};
// With `box` (one interval per input), the certificate also reports where
// the ray enters and leaves it and the largest confidence inside.
RayView make_ray(const Network& net, const Vector& x, double threshold = 0.999, std::size_t max_segments = 200000,
                 const std::atomic<bool>* cancel = nullptr, const InputBox* box = nullptr);
// The logits along the ray inside the region containing alpha:
// logits(beta) = c + beta * w for the segment's beta range; for the panel.
std::string ray_region_text(const RayView& ray, double alpha);


// A region picked on the slice: what the app lists for it.
struct RegionInfo {
  std::string hash_hex;
  int predicted_class = -1;
  double min_confidence = 0, max_confidence = 0;
  double area = 0;
  std::size_t vertices = 0;
  Matrix logits_on_plane;  // K x 3: logits(u, v) = M * (u, v, 1)
  std::string text() const;  // several lines, for the side panel
};
// The polygon containing (u, v), or -1. On an edge (or where slivers of
// area ~0 overlap the point within rounding) the largest such polygon, so a
// click never selects a sliver by accident.
int polygon_at(const Slice2d& slice, double u, double v);
// The softmax at (u, v) from the polygon's logits on the plane.
Vector softmax_on_plane(const SlicePolygon& polygon, double u, double v);

// The asymptotic fan of a plane: far from the plane's origin the map at
// scale s is, up to a bounded core, the regions of the network without
// biases (bias_free, regions/certificate.hpp) on the plane through 0
// spanned by e1 and e2; those are cones from (0,0). Returns the directions
// (unit (u, v) vectors, by angle) of the rays that bound them. Stops with an
// Error when cancelled or past max_regions.
std::vector<Eigen::Vector2d> asymptotic_fan(const Network& net, const Plane2d& plane,
                                            const std::atomic<bool>* cancel = nullptr, std::size_t max_regions = 20000);

// "Nice" tick positions (1, 2 or 5 times a power of ten) covering [lo, hi],
// at most max_ticks of them (at least 2 when lo < hi).
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);
RegionInfo describe(const Slice2d& slice, int polygon);

// The part of the box [lo, hi] that lies on the plane, within the window:
// a convex polygon in (u, v) (counter-clockwise; empty when they do not
// meet).
std::vector<Eigen::Vector2d> box_on_plane(const Plane2d& plane, const SliceWindow& window, const Vector& lo,
                                          const Vector& hi);

// The l-inf ball of radius eps around x, intersected with the domain (the
// input box, or [0, 1]^d for image models), bounded by the linear
// relaxation and by branch and bound (for at most exact_seconds), and drawn
// on the plane.
struct BallBound {
  double eps = 0;
  Vector x, lo, hi;
  BoxBound crown, exact;
  std::vector<Eigen::Vector2d> outline;  // the ball on the plane (may be empty: it does not meet the plane)
  std::optional<Eigen::Vector2d> argmax_uv;  // the exact method's best input, when it lies on the plane
  std::string label;                     // one line for the map
  std::string error;                     // set instead of throwing by callers that run it in the background
};
BallBound bound_ball(const Network& net, const SliceFrame& frame, const SliceWindow& window, const Vector& x, double eps,
                     const InputBox* box, double exact_seconds, const std::atomic<bool>* cancel);

}  // namespace tessera::gui
