#include "gui/scene.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/activation_pattern.hpp"
#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "regions/convex_polygon.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera::gui {

double AlphaScale::alpha(int position) const {
  const int p = std::clamp(position, 0, steps);
  return std::pow(10.0, log10_min + (log10_max - log10_min) * p / steps);
}

int AlphaScale::position(double alpha) const {
  if (!(alpha > 0)) return 0;
  const double x = (std::log10(alpha) - log10_min) / (log10_max - log10_min) * steps;
  return std::clamp(static_cast<int>(std::lround(x)), 0, steps);
}

SliceFrame default_frame(const Network& net, const std::optional<Vector>& origin, std::uint64_t seed) {
  SliceFrame f;
  const int d = net.input_size();
  if (d == 2 && !origin) {
    f.plane.origin = Vector::Zero(2);
    f.plane.e1 = Vector::Unit(2, 0);
    f.plane.e2 = Vector::Unit(2, 1);
    f.window = {-3, 3, -3, 3};
    f.description = "the input plane (x1, x2)";
    f.u_label = "x1";
    f.v_label = "x2";
    f.landmarks = {{"0", Eigen::Vector2d(0, 0)}};
    return f;
  }
  f.plane.origin = origin ? *origin : Vector::Constant(d, net.input_shape().is_image() ? 0.5 : 0.0);
  const std::vector<Vector> e = random_orthonormal_directions(d, 2, seed);
  f.plane.e1 = e[0];
  f.plane.e2 = e[1];
  // Convolutional networks cut input space far more finely than dense ones:
  // start them on a small window (zooming out computes more).
  bool conv = false;
  for (const Node& n : net.nodes) conv = conv || n.kind == OpKind::Conv2d;
  const double r = d == 2 ? 3.0 : (conv ? 0.05 : 2.0);
  f.window = {-r, r, -r, r};
  f.description = std::string(origin ? "through the chosen input" : "through the centre of the input space") +
                  ", two random orthonormal directions (seed " + std::to_string(seed) + ")";
  f.u_label = "u: random unit direction e1 (seed " + std::to_string(seed) + ")";
  f.v_label = "v: random unit direction e2 \u27c2 e1";
  f.landmarks = {{origin ? "input" : "centre", Eigen::Vector2d(0, 0)}};
  // 0 lies on the plane when the origin is in span(e1, e2) (e.g. the origin is 0).
  const Vector o = f.plane.origin;
  const Eigen::Vector2d uv(-o.dot(f.plane.e1), -o.dot(f.plane.e2));
  if ((o + uv.x() * f.plane.e1 + uv.y() * f.plane.e2).norm() <= 1e-9 * (1 + o.norm()) && o.norm() > 0)
    f.landmarks.push_back({"0", uv});
  return f;
}

SliceFrame ray_frame(const Network& net, const Vector& x, std::uint64_t seed) {
  const int d = net.input_size();
  if (x.size() != d) throw Error("the ray's input has " + std::to_string(x.size()) + " values but the network expects " + std::to_string(d));
  const double n = x.norm();
  if (!(n > 0)) throw Error("the zero input has no ray");
  SliceFrame f;
  f.plane.origin = Vector::Zero(d);
  f.plane.e1 = x / n;
  Vector e2 = Vector::Zero(d);
  for (std::uint64_t s = seed; e2.norm() < 1e-6; ++s) {  // a random direction, minus its part along x
    e2 = random_orthonormal_directions(d, 1, s)[0];
    e2 -= e2.dot(f.plane.e1) * f.plane.e1;
  }
  f.plane.e2 = e2.normalized();
  f.window = {-0.5 * n, 2.5 * n, -1.5 * n, 1.5 * n};
  f.description = "the plane of the ray (u along x, |x| = " + std::to_string(n) + ") and a random orthogonal direction";
  f.u_label = "u: along x (unit length)";
  f.v_label = "v: random unit direction \u27c2 x";
  f.landmarks = {{"0", Eigen::Vector2d(0, 0)}, {"x", Eigen::Vector2d(n, 0)}};
  return f;
}

SliceFrame points_frame(const Vector& x0, const Vector& x1, const Vector& x2) {
  if (x0.size() != x1.size() || x0.size() != x2.size()) throw Error("the three inputs have different sizes");
  SliceFrame f;
  f.plane.origin = x0;
  f.plane.e1 = x1 - x0;
  f.plane.e2 = x2 - x0;
  const double a = f.plane.e1.norm(), b = f.plane.e2.norm();
  const double c = a > 0 && b > 0 ? std::fabs(f.plane.e1.dot(f.plane.e2)) / (a * b) : 1.0;
  if (!(a > 0) || !(b > 0) || c > 1 - 1e-9) throw Error("the three inputs lie on one line: they span no plane");
  f.window = {-0.25, 1.25, -0.25, 1.25};
  f.description = "the plane through three inputs: (0,0), (1,0) and (0,1)";
  f.u_label = "u: x1 \u2212 x0";
  f.v_label = "v: x2 \u2212 x0";
  f.landmarks = {{"x0", Eigen::Vector2d(0, 0)}, {"x1", Eigen::Vector2d(1, 0)}, {"x2", Eigen::Vector2d(0, 1)}};
  return f;
}

Vector noise_input(const Network& net, std::uint64_t seed) {
  SeededRandom rng(seed);
  const bool image = net.input_shape().is_image();
  Vector x(net.input_size());
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = image ? rng.uniform(0, 1) : rng.uniform(-1, 1);
  return x;
}

std::optional<Picture> picture_of(const Shape& shape, const Vector& x) {
  if (!shape.is_image() || (shape.channels() != 1 && shape.channels() != 3) || x.size() != shape.size()) return std::nullopt;
  Picture p;
  p.width = shape.width();
  p.height = shape.height();
  p.channels = shape.channels();
  p.pixels.resize(static_cast<std::size_t>(p.width) * p.height * p.channels);
  const int plane = p.width * p.height;
  for (int c = 0; c < p.channels; ++c)
    for (int i = 0; i < plane; ++i) {
      double v = x[c * plane + i];
      if (v < 0 || v > 1) p.clipped = true;
      v = std::clamp(v, 0.0, 1.0);
      p.pixels[static_cast<std::size_t>(i) * p.channels + c] = static_cast<unsigned char>(std::lround(255 * v));
    }
  return p;
}

std::string ray_region_text(const RayView& ray, double alpha) {
  const int i = ray.segment_at(alpha);
  if (i < 0) return "";
  const LineSegment& s = ray.traversal.segments[i];
  std::ostringstream out;
  char buf[160];
  if (std::isinf(s.t_end))
    std::snprintf(buf, sizeof buf, "region %d of %zu along the ray (the last: alpha >= %.4g), pattern %s\n", i + 1,
                  ray.traversal.segments.size(), s.t_begin, hash_to_hex(s.pattern_hash).c_str());
  else
    std::snprintf(buf, sizeof buf, "region %d of %zu along the ray (alpha in [%.4g, %.4g]), pattern %s\n", i + 1,
                  ray.traversal.segments.size(), s.t_begin, s.t_end, hash_to_hex(s.pattern_hash).c_str());
  out << buf << "here f(beta x) = V(beta x) + a = c + beta w:\n";
  for (Eigen::Index k = 0; k < s.logit_c.size(); ++k) {
    std::snprintf(buf, sizeof buf, "  k=%-2ld  %+.5g %+.5g beta   = %+.5g at alpha\n", static_cast<long>(k), s.logit_c[k], s.logit_w[k],
                  s.logit_c[k] + alpha * s.logit_w[k]);
    out << buf;
  }
  return out.str();
}

Vector point_at(const SliceFrame& f, double u, double v) { return f.plane.origin + u * f.plane.e1 + v * f.plane.e2; }

RayView make_ray(const Network& net, const Vector& x, double threshold, std::size_t max_segments, const std::atomic<bool>* cancel,
                 const InputBox* box) {
  RayView r;
  r.x = x;
  r.threshold = threshold;
  CertifyOptions c;
  c.threshold = threshold;
  if (box && box->size() == net.input_size()) {
    c.has_box = true;
    c.box_lower = box->lo;
    c.box_upper = box->hi;
  }
  c.alpha0 = 1e-2;
  c.traversal.max_segments = max_segments;
  c.traversal.cancel = cancel;
  // One walk for both: the chart needs every region, and the certificate
  // is read off the same regions.
  r.certificate = certify(net, x, c, &r.traversal);
  return r;
}

int RayView::segment_at(double alpha) const {
  const auto& s = traversal.segments;
  if (s.empty() || alpha < s.front().t_begin) return -1;
  // Last segment whose start is <= alpha.
  auto it = std::upper_bound(s.begin(), s.end(), alpha, [](double a, const LineSegment& seg) { return a < seg.t_begin; });
  return static_cast<int>(std::distance(s.begin(), it)) - 1;
}

std::vector<double> RayView::probabilities(double alpha) const {
  const int i = segment_at(alpha);
  if (i < 0) return {};
  const LineSegment& s = traversal.segments[i];
  // From logit differences: monotone and finite up to alpha = 1e300.
  const Vector p = softmax_at(s.logit_c, s.logit_w, alpha);
  return std::vector<double>(p.data(), p.data() + p.size());
}

double RayView::confidence(double alpha) const {
  const int i = segment_at(alpha);
  if (i < 0) return 0;
  const LineSegment& s = traversal.segments[i];
  return confidence_at(s.logit_c, s.logit_w, alpha);
}

int polygon_at(const Slice2d& slice, double u, double v) {
  int best = -1;
  for (std::size_t i = 0; i < slice.polygons.size(); ++i) {
    const auto& pts = slice.polygons[i].polygon.vertices;
    if (pts.size() < 3) continue;
    bool inside = true;
    for (std::size_t k = 0; k < pts.size() && inside; ++k) {
      const Eigen::Vector2d& a = pts[k];
      const Eigen::Vector2d& b = pts[(k + 1) % pts.size()];
      const double cross = (b.x() - a.x()) * (v - a.y()) - (b.y() - a.y()) * (u - a.x());
      inside = cross >= -1e-12 * (1 + std::fabs(u) + std::fabs(v));
    }
    if (inside && (best < 0 || slice.polygons[i].area > slice.polygons[best].area)) best = static_cast<int>(i);
  }
  return best;
}

Vector softmax_on_plane(const SlicePolygon& p, double u, double v) {
  const Vector z = p.logits * Eigen::Vector3d(u, v, 1);
  const Vector e = (z.array() - z.maxCoeff()).exp();
  return e / e.sum();
}

std::vector<Eigen::Vector2d> asymptotic_fan(const Network& net, const Plane2d& plane, const std::atomic<bool>* cancel,
                                            std::size_t max_regions) {
  const Network g = bias_free(net);
  Plane2d through_zero = plane;
  through_zero.origin = Vector::Zero(plane.origin.size());
  SliceOptions o;
  o.cancel = cancel;
  o.max_regions = max_regions;
  o.decision_boundary = false;  // only the cells' edges are needed
  const Slice2d s = slice_regions_2d(g, through_zero, SliceWindow{-1, 1, -1, 1}, o);
  if (!s.complete) throw Error("the fan was not computed: " + s.stop_reason);
  // The cones' edges lie on lines through (0,0) and end on the window's
  // border (an edge may pass through (0,0) when two cones are opposite);
  // the border's own edges lie on lines that miss (0,0).
  std::vector<double> angles;
  for (const SlicePolygon& p : s.polygons) {
    const auto& v = p.polygon.vertices;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const Eigen::Vector2d& a = v[i];
      const Eigen::Vector2d& b = v[(i + 1) % v.size()];
      const double cross = std::fabs(a.x() * b.y() - a.y() * b.x());
      if (cross > 1e-9 * std::max(1e-12, a.norm() * b.norm()) && a.norm() > 1e-9 && b.norm() > 1e-9) continue;
      for (const Eigen::Vector2d* end : {&a, &b})
        if (end->norm() > 0.5) angles.push_back(std::atan2(end->y(), end->x()));
    }
  }
  std::sort(angles.begin(), angles.end());
  std::vector<Eigen::Vector2d> out;
  for (std::size_t i = 0; i < angles.size(); ++i) {
    if (!out.empty() && angles[i] - std::atan2(out.back().y(), out.back().x()) < 1e-9) continue;
    out.emplace_back(std::cos(angles[i]), std::sin(angles[i]));
  }
  if (out.size() > 1 && std::atan2(out.front().y(), out.front().x()) + 2 * M_PI -
                                std::atan2(out.back().y(), out.back().x()) < 1e-9)
    out.pop_back();  // the same ray at -pi and +pi
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 2) return ticks;
  const double raw = (hi - lo) / (max_ticks - 1);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * p;
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  // Down the 1-2-5 ladder until two ticks fall inside (a narrow range can
  // hold fewer than two multiples of the first step).
  for (int tries = 0; tries < 8; ++tries) {
    ticks.clear();
    const double first = std::ceil(lo / step - 1e-9) * step;
    for (double t = first; t <= hi + 1e-9 * step && ticks.size() < static_cast<std::size_t>(max_ticks) + 1; t += step)
      ticks.push_back(std::fabs(t) < 1e-12 * step ? 0.0 : t);
    if (ticks.size() >= 2) break;
    const double m = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    step = m > 4 ? step * 0.4 : m > 1.5 ? step * 0.5 : step * 0.5;  // 5 -> 2, 2 -> 1, 1 -> 0.5
  }
  return ticks;
}

RegionInfo describe(const Slice2d& slice, int index) {
  if (index < 0 || index >= static_cast<int>(slice.polygons.size())) throw Error("no region selected");
  const SlicePolygon& p = slice.polygons[index];
  RegionInfo r;
  r.hash_hex = hash_to_hex(p.pattern_hash);
  r.predicted_class = p.predicted_class;
  r.min_confidence = p.min_confidence;
  r.max_confidence = p.max_confidence;
  r.area = p.area;
  r.vertices = p.polygon.vertices.size();
  r.logits_on_plane = p.logits;
  return r;
}

std::string RegionInfo::text() const {
  std::ostringstream out;
  char buf[160];
  out << "pattern hash  " << hash_hex << "\n";
  std::snprintf(buf, sizeof buf, "class         %d\nconfidence    %.4f ... %.4f\narea          %.4g\nvertices      %zu\n",
                predicted_class, min_confidence, max_confidence, area, vertices);
  out << buf << "logits on the plane: f_k(u, v) = a_k u + b_k v + c_k\n";
  for (Eigen::Index k = 0; k < logits_on_plane.rows(); ++k) {
    std::snprintf(buf, sizeof buf, "  k=%-2ld  %+.4g u  %+.4g v  %+.4g\n", static_cast<long>(k), logits_on_plane(k, 0),
                  logits_on_plane(k, 1), logits_on_plane(k, 2));
    out << buf;
  }
  return out.str();
}

std::vector<Eigen::Vector2d> box_on_plane(const Plane2d& plane, const SliceWindow& window, const Vector& lo,
                                          const Vector& hi) {
  ConvexPolygon poly = ConvexPolygon::rectangle(window.u0, window.u1, window.v0, window.v1);
  for (Eigen::Index i = 0; i < lo.size() && !poly.empty(); ++i) {
    const double a = plane.e1[i], b = plane.e2[i], c = plane.origin[i];
    if (a == 0 && b == 0) {
      if (c < lo[i] || c > hi[i]) return {};
      continue;
    }
    poly = clip_polygon(poly, Eigen::Vector3d(a, b, c - lo[i]), -1, 1e-12);   // x_i >= lo_i
    if (poly.empty()) break;
    poly = clip_polygon(poly, Eigen::Vector3d(-a, -b, hi[i] - c), -1, 1e-12);  // x_i <= hi_i
  }
  return poly.empty() ? std::vector<Eigen::Vector2d>() : poly.vertices;
}

BallBound bound_ball(const Network& net, const SliceFrame& frame, const SliceWindow& window, const Vector& x, double eps,
                     const InputBox* box, double exact_seconds, const std::atomic<bool>* cancel) {
  BallBound r;
  r.eps = eps;
  r.x = x;
  if (!(eps >= 0) || !std::isfinite(eps)) throw Error("the radius must be a finite number >= 0");
  r.lo = (x.array() - eps).matrix();
  r.hi = (x.array() + eps).matrix();
  if (box) {
    r.lo = r.lo.cwiseMax(box->lo);
    r.hi = r.hi.cwiseMin(box->hi);
  } else if (net.input_shape().is_image()) {
    r.lo = r.lo.cwiseMax(0.0);
    r.hi = r.hi.cwiseMin(1.0);
  }
  for (Eigen::Index i = 0; i < r.lo.size(); ++i)
    if (r.lo[i] > r.hi[i])
      throw Error("the point lies more than " + std::to_string(eps) + " outside the input domain (value " + std::to_string(i) + ")");
  BoxBoundOptions o;
  o.cancel = cancel;
  o.method = BoundMethod::Crown;
  r.crown = bound_confidence(net, r.lo, r.hi, o);
  o.method = BoundMethod::Exact;
  o.time_limit = exact_seconds;
  r.exact = bound_confidence(net, r.lo, r.hi, o);
  r.outline = box_on_plane(frame.plane, window, r.lo, r.hi);
  // The best input, when it lies on the plane (always for two-input models
  // sliced in their own plane).
  Eigen::Matrix<double, Eigen::Dynamic, 2> E(x.size(), 2);
  E.col(0) = frame.plane.e1;
  E.col(1) = frame.plane.e2;
  const Eigen::Vector2d uv = E.colPivHouseholderQr().solve(r.exact.argmax_input - frame.plane.origin);
  if ((E * uv + frame.plane.origin - r.exact.argmax_input).cwiseAbs().maxCoeff() <= 1e-9 * (1 + r.exact.argmax_input.cwiseAbs().maxCoeff()))
    r.argmax_uv = uv;
  char buf[320];
  if (r.exact.complete)
    std::snprintf(buf, sizeof buf, "eps %g: largest confidence %.6g (exact, class %d); crown bound %.6g", eps,
                  r.exact.upper_bound, r.exact.argmax_class, r.crown.upper_bound);
  else
    std::snprintf(buf, sizeof buf, "eps %g: confidence <= %.6g (exact, partial), an input reaches %.6g; crown bound %.6g", eps,
                  r.exact.upper_bound, r.exact.lower_bound, r.crown.upper_bound);
  r.label = buf;
  return r;
}

}  // namespace tessera::gui
