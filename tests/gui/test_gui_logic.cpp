#include <algorithm>
// The desktop app's logic, without a display: colours, the alpha scale, the
// default slice, the ray panel's numbers and what a selection shows, each
// against independent evidence from the core.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "core/activation_pattern.hpp"
#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"
#include "gui/scene.hpp"
#include "export/slice_stats.hpp"

using namespace tessera;
using namespace tessera::gui;

namespace {
Network model(const char* name) { return load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/" + name + ".onnx"); }
}  // namespace

TEST(GuiColours, ViridisRunsFromDarkPurpleToYellowAndClamps) {
  const Rgb lo = viridis(0), hi = viridis(1);
  EXPECT_EQ(lo, (Rgb{68, 1, 84}));
  EXPECT_EQ(hi, (Rgb{253, 231, 37}));
  EXPECT_EQ(viridis(-3), lo);
  EXPECT_EQ(viridis(7), hi);
  EXPECT_EQ(viridis(std::nan("")), lo);
  // Perceptually ordered: luminance rises monotonically.
  double last = -1;
  for (int i = 0; i <= 100; ++i) {
    const Rgb c = viridis(i / 100.0);
    const double y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    EXPECT_GE(y, last - 1e-9) << i;
    last = y;
  }
}

TEST(GuiColours, ClassesAreDistinctAndRegionsStable) {
  std::set<Rgb> seen;
  for (int k = 0; k < 10; ++k) seen.insert(class_colour(k));
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(region_colour(0x1234), region_colour(0x1234));
  EXPECT_NE(region_colour(0x1234), region_colour(0x1235));
  // A polygon's colour under each colouring: tests/vtk (slice_region_colour).
}

TEST(GuiColours, TenClassColoursAreFarApartAndNoneIsGreyOrBlack) {
  // Distinguishable: every pair differs by at least 60 in some channel sum;
  // a map of one class must not look empty (grey) or broken (black).
  for (int a = 0; a < 10; ++a) {
    const Rgb ca = class_colour(a);
    const int spread = std::max({ca[0], ca[1], ca[2]}) - std::min({ca[0], ca[1], ca[2]});
    EXPECT_GT(spread, 60) << "class " << a << " is nearly grey";
    for (int b = a + 1; b < 10; ++b) {
      const Rgb cb = class_colour(b);
      const int d = std::abs(ca[0] - cb[0]) + std::abs(ca[1] - cb[1]) + std::abs(ca[2] - cb[2]);
      EXPECT_GT(d, 60) << "classes " << a << " and " << b;
    }
  }
}

TEST(GuiColours, ConfidenceInNinesMatchesTheSoftmaxAndStaysFiniteNearOne) {
  Vector z(3);
  z << 0.3, 2.0, -1.0;
  const Vector p = z.array().exp() / z.array().exp().sum();
  EXPECT_NEAR(confidence_nines(z), -std::log10(1 - p.maxCoeff()), 1e-12);
  // p rounds to 1 in double; 1 - p = e^-60 (1 + e^-60 ...) exactly enough.
  z << 0, 60, 0;
  EXPECT_NEAR(confidence_nines(z), (60 - std::log(2.0)) / std::log(10.0), 1e-9);
  // Shades: palest at the scale's low end, full colour at its top; the
  // shaded colour keeps the class's hue (its largest channel stays largest).
  const ShadeScale s{1, 3};
  EXPECT_EQ(s.shade(0.5), 0);
  EXPECT_EQ(s.shade(3.5), 1);
  EXPECT_DOUBLE_EQ(s.shade(2), 0.5);
  EXPECT_EQ(shaded_class_colour(2, 1), class_colour(2));
  // Legends: enough digits to differ from 1, then 1 minus the rest.
  EXPECT_EQ(confidence_label(1), "0.90");
  EXPECT_EQ(confidence_label(3), "0.9990");
  EXPECT_EQ(confidence_label(6), "1-1e-06");
  const Rgb pale = shaded_class_colour(2, 0);
  EXPECT_GT(pale[1], pale[0]);
  EXPECT_GT(pale[0], class_colour(2)[0]);
}

TEST(GuiAlphaScale, LogarithmicAndInvertible) {
  AlphaScale s;
  EXPECT_DOUBLE_EQ(s.alpha(0), 1e-2);
  EXPECT_NEAR(s.alpha(s.steps), 1e16, 1e3);
  EXPECT_NEAR(s.alpha(s.position(1.0)), 1.0, 1e-12);
  for (int p = 0; p <= s.steps; p += 7) {
    EXPECT_EQ(s.position(s.alpha(p)), p);
    if (p > 0) {
      EXPECT_GT(s.alpha(p), s.alpha(p - 1));
    }
  }
  EXPECT_EQ(s.position(1e-300), 0);
  EXPECT_EQ(s.position(1e300), s.steps);
  EXPECT_EQ(s.position(-1), 0);
}

TEST(GuiFrame, TwoInputModelsUseTheirPlaneOthersARandomOrthonormalOne) {
  const Network toy = model("toy2d");
  const SliceFrame f = default_frame(toy, std::nullopt);
  EXPECT_EQ(f.plane.origin, Vector::Zero(2));
  EXPECT_EQ(f.plane.e1, Vector::Unit(2, 0));
  EXPECT_EQ(f.plane.e2, Vector::Unit(2, 1));
  EXPECT_EQ(point_at(f, 0.25, -2), Eigen::Vector2d(0.25, -2));
  const Network mlp = model("mnist_mlp");
  const SliceFrame g = default_frame(mlp, std::nullopt, 5);
  EXPECT_NEAR(g.plane.e1.norm(), 1, 1e-12);
  EXPECT_NEAR(g.plane.e2.norm(), 1, 1e-12);
  EXPECT_NEAR(g.plane.e1.dot(g.plane.e2), 0, 1e-12);
  EXPECT_EQ(g.plane.e1, random_orthonormal_directions(784, 2, 5)[0]) << "the same directions as tessera slice --seed 5";
  const Vector x = Vector::Constant(784, 0.25);
  EXPECT_EQ(default_frame(mlp, x, 5).plane.origin, x);
}

// The ray panel's probabilities are the network's softmax at alpha*x.
TEST(GuiRay, ProbabilitiesAreTheSoftmaxOfTheNetworkAlongTheRay) {
  for (const char* name : {"toy2d", "toy2d_leaky", "mnist_mlp"}) {
    const Network net = model(name);
    SeededRandom rng(3);
    Vector x(net.input_size());
    for (int i = 0; i < x.size(); ++i) x[i] = rng.uniform(-1, 1);
    const RayView r = make_ray(net, x);
    ASSERT_TRUE(r.traversal.complete) << name;
    ASSERT_TRUE(r.certificate.complete) << name;
    for (double a : {0.01, 0.0137, 0.5, 1.0, 3.3, 47.0, 1e3, 1e6}) {
      const Vector want = softmax(logits(net, (a * x).eval()));
      const std::vector<double> got = r.probabilities(a);
      ASSERT_EQ(got.size(), static_cast<size_t>(want.size()));
      for (int k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-9 * (1 + a)) << name << " alpha " << a;
      EXPECT_NEAR(r.confidence(a), want.maxCoeff(), 1e-9 * (1 + a));
    }
    EXPECT_TRUE(r.probabilities(1e-3).empty()) << "before the ray starts";
    EXPECT_EQ(r.segment_at(1e300), static_cast<int>(r.traversal.segments.size()) - 1);
    // One walk for the chart and the certificate; the certificate is the
    // one `tessera certify` computes from infinity.
    EXPECT_TRUE(r.certificate.full);
    EXPECT_EQ(r.traversal.segments.back().t_begin, r.certificate.last_region_alpha) << name;
    EXPECT_EQ(r.traversal.segments.back().pattern_hash, r.certificate.last_region_hash) << name;
    CertifyOptions c;
    c.threshold = r.threshold;
    c.alpha0 = r.traversal.segments.front().t_begin;
    const Certificate fast = certify(net, x, c);
    EXPECT_EQ(fast.last_region_hash, r.certificate.last_region_hash) << name;
    EXPECT_EQ(fast.last_region_alpha, r.certificate.last_region_alpha) << name;
    EXPECT_EQ(fast.limit_class, r.certificate.limit_class) << name;
    ASSERT_EQ(fast.alpha_star.has_value(), r.certificate.alpha_star.has_value()) << name;
    if (fast.alpha_star) EXPECT_NEAR(*fast.alpha_star, *r.certificate.alpha_star, 1e-12 * *fast.alpha_star) << name;
  }
}

// A click selects the polygon whose pattern is the point's pattern, and the
// affine map shown reproduces the logits there.
TEST(GuiSelection, PickedPolygonHasThePointsPatternAndLogits) {
  const Network net = model("toy2d");
  const SliceFrame f = default_frame(net, std::nullopt);
  const Slice2d s = slice_regions_2d(net, f.plane, f.window);
  SeededRandom rng(9);
  for (int i = 0; i < 200; ++i) {
    const double u = rng.uniform(-2.9, 2.9), v = rng.uniform(-2.9, 2.9);
    const int k = polygon_at(s, u, v);
    ASSERT_GE(k, 0);
    const Vector x = point_at(f, u, v);
    EXPECT_EQ(s.polygons[k].pattern_hash, activation_pattern(net, x).hash()) << u << ", " << v;
    const RegionInfo info = describe(s, k);
    const Vector on_plane = info.logits_on_plane * Eigen::Vector3d(u, v, 1);
    EXPECT_LT((on_plane - logits(net, x)).cwiseAbs().maxCoeff(), 1e-9);
    EXPECT_EQ(info.hash_hex, hash_to_hex(s.polygons[k].pattern_hash));
    EXPECT_NE(info.text().find(info.hash_hex), std::string::npos);
  }
  EXPECT_EQ(polygon_at(s, 50, 50), -1);
  EXPECT_THROW(describe(s, -1), Error);
}

TEST(GuiFrame, RayPlaneContainsTheRayAndThreePointPlaneItsPoints) {
  const Network cnn = model("mnist_cnn");  // image input: noise in [0,1]
  const Vector n = noise_input(cnn, 4);
  EXPECT_GE(n.minCoeff(), 0.0);
  EXPECT_LE(n.maxCoeff(), 1.0);
  EXPECT_EQ(n, noise_input(cnn, 4));
  const Network mlp = model("mnist_mlp");  // flat input: noise in [-1,1]
  const Vector x = noise_input(mlp, 4);
  EXPECT_LT(x.minCoeff(), -0.5);
  EXPECT_LE(x.cwiseAbs().maxCoeff(), 1.0);
  const SliceFrame f = ray_frame(mlp, x, 2);
  EXPECT_EQ(f.plane.origin, Vector::Zero(784));
  EXPECT_NEAR(f.plane.e1.norm(), 1, 1e-12);
  EXPECT_NEAR(f.plane.e2.norm(), 1, 1e-12);
  EXPECT_NEAR(f.plane.e1.dot(f.plane.e2), 0, 1e-12);
  // alpha * x is the point (alpha |x|, 0) of the slice.
  for (double a : {0.5, 1.0, 7.0}) EXPECT_LT((point_at(f, a * x.norm(), 0) - a * x).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_THROW(ray_frame(mlp, Vector::Zero(784)), Error);
  EXPECT_THROW(ray_frame(mlp, Vector::Zero(3)), Error);

  const Vector a = Vector::Constant(784, 0.1), b = noise_input(mlp, 5), c = noise_input(mlp, 6);
  const SliceFrame g = points_frame(a, b, c);
  EXPECT_EQ(point_at(g, 0, 0), a);
  EXPECT_LT((point_at(g, 1, 0) - b).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT((point_at(g, 0, 1) - c).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_THROW(points_frame(a, b, (2 * b - a).eval()), Error);  // collinear
  EXPECT_THROW(points_frame(a, a, c), Error);
}

TEST(GuiPictures, ImagesAreShownClippedAndFlatInputsAreNot) {
  Vector x(2 * 2);
  x << 0, 0.5, 1, 1.7;
  const auto p = picture_of(Shape({1, 2, 2}), x);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pixels, (std::vector<unsigned char>{0, 128, 255, 255}));
  EXPECT_TRUE(p->clipped);
  EXPECT_FALSE(picture_of(Shape({4}), x));
  Vector rgb = Vector::Zero(3 * 1 * 2);
  rgb[0] = 1;  // red of pixel 0
  rgb[5] = 1;  // blue of pixel 1
  const auto q = picture_of(Shape({3, 1, 2}), rgb);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->pixels, (std::vector<unsigned char>{255, 0, 0, 0, 0, 255}));
  EXPECT_FALSE(q->clipped);
}

TEST(GuiRay, RegionTextListsTheLogitsOfTheSegment) {
  const Network net = model("toy2d");
  const RayView r = make_ray(net, Eigen::Vector2d(1, 0.5));
  const std::string t = ray_region_text(r, 2.0);
  const int i = r.segment_at(2.0);
  ASSERT_GE(i, 0);
  EXPECT_NE(t.find(hash_to_hex(r.traversal.segments[i].pattern_hash)), std::string::npos);
  const Vector l = logits(net, Eigen::Vector2d(2, 1));
  char want[64];
  std::snprintf(want, sizeof want, "= %+.5g at alpha", l[0]);
  EXPECT_NE(t.find(want), std::string::npos) << t;
  EXPECT_NE(ray_region_text(r, 1e9).find("the last"), std::string::npos);
  EXPECT_EQ(ray_region_text(r, 1e-5), "");
}

// The fan is where the map goes far away: between two of its rays, points
// far out along one direction share one activation pattern (one cone of the
// real network), and just across a ray the pattern differs.
TEST(GuiFan, FarPointsBetweenTheFansRaysShareAPatternAndTheRaysSeparateThem) {
  for (const char* name : {"toy2d", "mnist_mlp"}) {
    const Network net = model(name);
    const SliceFrame f = default_frame(net, std::nullopt, 3);
    const std::vector<Eigen::Vector2d> fan = asymptotic_fan(net, f.plane);
    ASSERT_GE(fan.size(), 2u) << name;
    for (std::size_t i = 0; i < fan.size(); ++i) {
      const double a = std::atan2(fan[i].y(), fan[i].x());
      double b = std::atan2(fan[(i + 1) % fan.size()].y(), fan[(i + 1) % fan.size()].x());
      if (b <= a) b += 2 * M_PI;
      const double mid = 0.5 * (a + b);
      const Eigen::Vector2d d(std::cos(mid), std::sin(mid));
      // Far along the middle direction the pattern settles (scale s and 10 s).
      const auto at = [&](const Eigen::Vector2d& uv, double s) {
        const Vector x = point_at(f, s * uv.x(), s * uv.y());
        return activation_pattern(net, x);
      };
      const double far = 1e7;
      EXPECT_TRUE(at(d, far) == at(d, 10 * far)) << name << ": cone " << i;
      // Across ray i the far patterns differ.
      const double eps = std::min(1e-3, 0.25 * (b - a));
      const Eigen::Vector2d left(std::cos(a - eps), std::sin(a - eps)), right(std::cos(a + eps), std::sin(a + eps));
      EXPECT_FALSE(at(left, far) == at(right, far)) << name << ": ray " << i << " separates nothing";
    }
  }
}

TEST(GuiAxes, NiceTicksAreRoundAndAtLeastTwoInsideTheRange) {
  const std::vector<double> t = nice_ticks(-3.97, 3.97, 8);
  EXPECT_EQ(t, (std::vector<double>{-2, 0, 2}));
  for (const auto& [lo, hi, n] : std::vector<std::tuple<double, double, int>>{
           {0.13, 0.93, 2}, {0.13, 0.93, 3}, {-1e-3, 2e-3, 2}, {99.5, 100.4, 2}, {-125, 125, 8}, {1e6, 1e6 + 3, 4}}) {
    const std::vector<double> ticks = nice_ticks(lo, hi, n);
    ASSERT_GE(ticks.size(), 2u) << lo << " .. " << hi;
    EXPECT_LE(ticks.size(), static_cast<std::size_t>(std::max(n, 2)) + 1);
    for (double x : ticks) {
      EXPECT_GE(x, lo - 1e-9 * std::fabs(hi - lo));
      EXPECT_LE(x, hi + 1e-9 * std::fabs(hi - lo));
    }
    // Equal steps of 1, 2 or 5 times a power of ten.
    const double step = ticks[1] - ticks[0];
    const double m = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    EXPECT_TRUE(std::fabs(m - 1) < 1e-6 || std::fabs(m - 2) < 1e-6 || std::fabs(m - 5) < 1e-6) << step;
  }
  EXPECT_TRUE(nice_ticks(1, 1, 5).empty());
}
