// The certificate from infinity (default) against the full walk (--full):
// every field both compute must agree, on seeded networks of every kind, on
// the shipped models, and in the corner cases (rays that start in their last
// region, breakpoints shared by several units, tied limits, inputs scaled to
// 1e-300 and 1e300).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/noise.hpp"
#include "io/onnx_io.hpp"
#include "regions/certificate.hpp"
#include "regions/segment_confidence.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

// Alphas and confidences from the two methods are computed from the same
// regions with the same arithmetic; the only freedom is in where a
// bisection starts (first alpha inside a region), so they agree to a few
// ulps. tol: relative.
void expect_close(double fast, double full, double tol, const char* what) {
  if (fast == full) return;
  EXPECT_LE(std::abs(fast - full), tol * std::max(std::abs(fast), std::abs(full))) << what << ": " << fast << " vs " << full;
}

void expect_same(const Finding<double>& fast, const Finding<double>& full, const char* what, double tol = 1e-12) {
  EXPECT_EQ(fast.known, full.known) << what;
  ASSERT_EQ(fast.has_value(), full.has_value()) << what;
  if (fast.has_value()) expect_close(*fast, *full, tol, what);
}

// Returns the fast certificate after checking it against the full one.
Certificate expect_fast_equals_full(const Network& net, const Vector& x, CertifyOptions o) {
  o.full = false;
  const Certificate fast = certify(net, x, o);
  o.full = true;
  const Certificate full = certify(net, x, o);
  EXPECT_TRUE(fast.complete) << fast.stop_reason;
  EXPECT_TRUE(full.complete) << full.stop_reason;
  EXPECT_FALSE(fast.full);
  EXPECT_TRUE(full.full);
  EXPECT_EQ(fast.predicted_class, full.predicted_class);
  EXPECT_EQ(fast.confidence_at_input, full.confidence_at_input);
  EXPECT_EQ(fast.last_region_found, full.last_region_found);
  EXPECT_EQ(fast.last_region_alpha, full.last_region_alpha);
  EXPECT_EQ(fast.last_region_hash, full.last_region_hash);
  EXPECT_EQ(fast.limit_logits, full.limit_logits);
  EXPECT_EQ(fast.last_region_offset, full.last_region_offset);
  EXPECT_EQ(fast.limit_class, full.limit_class);
  EXPECT_EQ(fast.limit_ties, full.limit_ties);
  EXPECT_EQ(fast.limit_confidence, full.limit_confidence);
  EXPECT_EQ(fast.bias_free_residual, full.bias_free_residual);
  expect_same(fast.alpha_star, full.alpha_star, "alpha*");
  expect_same(fast.alpha_star_times_max_abs, full.alpha_star_times_max_abs, "alpha* max|x|");
  expect_same(fast.first_alpha, full.first_alpha, "first alpha");
  EXPECT_EQ(fast.box_entry_alpha, full.box_entry_alpha);
  EXPECT_EQ(fast.box_exit_alpha, full.box_exit_alpha);
  expect_same(fast.max_confidence_in_box, full.max_confidence_in_box, "max confidence in box");
  expect_same(fast.first_alpha_in_box, full.first_alpha_in_box, "first alpha in box");
  EXPECT_TRUE(full.segments.has_value());
  if (fast.segments && full.segments) EXPECT_EQ(*fast.segments, *full.segments);
  // The fast path never computes more regions than there are.
  if (full.segments) EXPECT_LE(fast.regions_visited, *full.segments + 1);
  return fast;
}

class FastEqualsFull : public ::testing::TestWithParam<int> {};

TEST_P(FastEqualsFull, SeededNetworksOfEveryKind) {
  const int seed = GetParam();
  for (const auto& [name, net] : test::random_networks_of_every_kind(900 + seed)) {
    SCOPED_TRACE(name);
    SeededRandom rng(seed);
    for (int k = 0; k < 4; ++k) {
      SCOPED_TRACE(k);
      CertifyOptions o;
      o.threshold = k % 2 ? 0.9 : 0.999;
      // Half the rays with the box [0, 1]^d and an input inside it.
      o.has_box = k >= 2;
      const Vector x = o.has_box ? test::random_input(net, rng, 0.0, 1.0) : test::random_input(net, rng);
      expect_fast_equals_full(net, x, o);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FastEqualsFull, ::testing::Values(1, 2, 3, 4, 5));

TEST(FastEqualsFull, LowThresholdsAndLateBoxes) {
  // A low threshold is reached early (first alpha far below alpha*); a box
  // [-2, 3] is left late: both make the walk up long.
  for (const auto& [name, net] : test::random_networks_of_every_kind(77)) {
    SCOPED_TRACE(name);
    SeededRandom rng(5);
    for (double t : {0.3, 0.6}) {
      CertifyOptions o;
      o.threshold = t;
      o.has_box = true;
      o.box_lo = -2;
      o.box_hi = 3;
      expect_fast_equals_full(net, test::random_input(net, rng), o);
    }
  }
}

// Per-coordinate boxes (VNN-LIB style): the entry and exit are exact (on
// the box's boundary, inside between them), the largest confidence inside
// bounds a dense sampling from above and is reached, and fast equals full.
TEST(FastEqualsFull, PerCoordinateBoxes) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(404)) {
    SCOPED_TRACE(name);
    SeededRandom rng(12);
    const Eigen::Index d = net.input_size();
    CertifyOptions o;
    o.threshold = 0.6;
    o.has_box = true;
    o.box_lower = test::random_input(net, rng, -1.0, 0.0);
    o.box_upper = test::random_input(net, rng, 0.5, 3.0);
    const Vector x = test::random_input(net, rng, 0.0, 0.5);  // inside: alpha = 1 lies in the box
    const Certificate c = expect_fast_equals_full(net, x, o);
    ASSERT_TRUE(c.box_entry_alpha && c.box_exit_alpha);
    const double enter = *c.box_entry_alpha, leave = *c.box_exit_alpha;
    EXPECT_LE(enter, 1.0);
    EXPECT_GE(leave, 1.0);
    auto inside = [&](double a) {
      const Vector z = a * x;
      return ((z.array() >= o.box_lower.array() - 1e-12) && (z.array() <= o.box_upper.array() + 1e-12)).all();
    };
    EXPECT_TRUE(inside(enter));
    EXPECT_TRUE(inside(leave));
    EXPECT_FALSE(inside(leave * (1 + 1e-9)));
    // Some coordinate sits on its upper bound at the exit.
    EXPECT_LT(((leave * x - o.box_upper).cwiseAbs().array() / o.box_upper.cwiseAbs().array().max(1e-300)).minCoeff(),
              1e-12);
    ASSERT_TRUE(c.max_confidence_in_box.has_value());
    double best = 0;
    for (int k = 0; k <= 4000; ++k) best = std::max(best, softmax(logits(net, (enter + (leave - enter) * k / 4000) * x)).maxCoeff());
    EXPECT_GE(*c.max_confidence_in_box, best - 1e-12);
    EXPECT_LE(*c.max_confidence_in_box, best + 1e-3);
    (void)d;
  }
  // A box that the ray never meets: x has a coordinate whose interval
  // excludes every multiple of it.
  const Network net = test::random_networks_of_every_kind(1).front().net;
  CertifyOptions o;
  o.has_box = true;
  o.box_lower = Vector::Constant(net.input_size(), 0.0);
  o.box_upper = Vector::Constant(net.input_size(), 1.0);
  o.box_lower[0] = -2;
  o.box_upper[0] = -1;
  const Certificate c = certify(net, Vector::Constant(net.input_size(), 0.5), o);
  EXPECT_FALSE(c.box_exit_alpha.has_value());
  EXPECT_TRUE(c.max_confidence_in_box.is_never());
  // Malformed options are refused with a reason.
  o.box_upper = Vector::Constant(net.input_size() + 1, 1.0);
  EXPECT_NE(o.validate(), "");
}

TEST(FastEqualsFull, RaysThatStartInTheirLastRegion) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(31)) {
    SCOPED_TRACE(name);
    SeededRandom rng(2);
    const Vector x = test::random_input(net, rng);
    CertifyOptions o;
    o.alpha0 = 1e9;  // far beyond every breakpoint of these small networks
    const Certificate c = expect_fast_equals_full(net, x, o);
    EXPECT_EQ(c.last_region_alpha, 1e9);
    EXPECT_EQ(c.regions_visited, 1u);
    ASSERT_TRUE(c.segments.has_value());
    EXPECT_EQ(*c.segments, 1u);
  }
  // A bias-free network is positively homogeneous: one region from alpha0.
  const Network net = random_mlp(3, {6, 6}, 3, 4);
  const Network g = bias_free(net);
  const Certificate c = expect_fast_equals_full(g, Eigen::Vector3d(0.3, -0.7, 0.2), CertifyOptions{});
  EXPECT_EQ(c.last_region_alpha, CertifyOptions{}.alpha0);
}

// Two hidden units with the same hyperplane (identical rows and biases) and
// a third one through the same point: every breakpoint of the ray is shared.
TEST(FastEqualsFull, BreakpointsSharedByUnits) {
  NetworkBuilder b;
  int x = b.input(Shape{2});
  Matrix w1(4, 2);
  w1 << 1, 0, 1, 0, 0, 1, -1, 1;
  Vector b1(4);
  b1 << -1, -1, -2, 1;
  x = b.relu(b.dense(x, w1, b1));
  Matrix w2(3, 4);
  w2 << 1, -2, 0.5, 1, -1, 1, 1, 0, 0.3, 0.2, -0.4, 0.5;
  const Network net = b.build(b.dense(x, w2, Vector::Zero(3)));
  // Along alpha (1, 2): units 0 and 1 switch at alpha = 1, unit 2 too
  // (2 alpha - 2 = 0), unit 3 (alpha + 1) never: a point where three units
  // meet their hyperplanes.
  for (double t : {0.5, 0.9, 0.999}) {
    CertifyOptions o;
    o.threshold = t;
    const Certificate c = expect_fast_equals_full(net, Eigen::Vector2d(1, 2), o);
    EXPECT_NEAR(c.last_region_alpha, 1.0, 1e-15);
  }
}

TEST(FastEqualsFull, TiedLimitSaysTie) {
  // Two identical output rows: the slopes of the limit logits tie.
  NetworkBuilder b;
  int x = b.input(Shape{2});
  x = b.relu(b.dense(x, Matrix::Identity(2, 2), Eigen::Vector2d(-0.5, 0.2)));
  Matrix w(3, 2);
  w << 1, 1, 1, 1, 0, -1;
  Vector bias(3);
  bias << 0.3, 0, 0;
  const Network net = b.build(b.dense(x, w, bias));
  CertifyOptions o;
  o.has_box = true;
  const Certificate c = expect_fast_equals_full(net, Eigen::Vector2d(0.4, 0.9), o);
  EXPECT_EQ(c.limit_ties, 2);
  EXPECT_LT(c.limit_confidence, 1.0);
  EXPECT_EQ(c.limit_class, 0);  // the larger offset
  EXPECT_TRUE(c.alpha_star.is_never());
  EXPECT_EQ(c.regions_from_infinity, 1u);  // the tie is seen in the last region alone
}

// Far out along x every hidden unit is off: V x = 0, all ten slopes equal,
// the network is constant there (what ACET does to noise rays).
TEST(FastEqualsFull, AllSlopesEqualIsATieOfEveryClass) {
  NetworkBuilder b;
  int x = b.input(Shape{3});
  x = b.relu(b.dense(x, -Matrix::Identity(3, 3), Vector::Ones(3)));
  SeededRandom rng(8);
  const Network net = b.build(b.dense(x, rng.he_uniform(10, 3, 3), rng.uniform_vector(10, -0.5, 0.5)));
  CertifyOptions o;
  o.has_box = true;
  const Certificate c = expect_fast_equals_full(net, Eigen::Vector3d(0.2, 0.5, 0.9), o);
  EXPECT_EQ(c.limit_ties, 10);
  EXPECT_TRUE(c.limit_logits.isZero(0.0));
  EXPECT_LT(c.limit_confidence, 1.0);
  EXPECT_DOUBLE_EQ(c.last_region_alpha, 1 / 0.2);  // the last unit turns off at alpha = 5
  EXPECT_TRUE(c.alpha_star.is_never());
}

// Hand-solved saturating limit: logits (2 clip(x, 0, 1), 1) on the ray
// alpha x, x = 1. For alpha >= 1 the clip is saturated and the logits stay
// (2, 1): the network is bounded, both limit slopes are 0 (a tie), and the
// confidence tends to e^2 / (e^2 + e) = 1 / (1 + e^-1), not to 1.
// Below alpha = 1 the logits are (2 alpha, 1): the confidence reaches t at
// 2 alpha - 1 = ln(t / (1 - t)).
TEST(SaturatingLimit, ClipHandSolved) {
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.clip(b.dense(x, Matrix::Ones(1, 1), Vector::Zero(1)), 0.0, 1.0);
  Matrix w(2, 1);
  w << 2, 0;
  const Network net = b.build(b.dense(x, w, Eigen::Vector2d(0, 1)));
  const double limit = 1 / (1 + std::exp(-1.0));
  for (double t : {0.7, 0.9}) {
    CertifyOptions o;
    o.threshold = t;
    const Certificate c = expect_fast_equals_full(net, Vector::Ones(1), o);
    ASSERT_TRUE(c.complete);
    EXPECT_EQ(c.limit_ties, 2);
    EXPECT_EQ(c.limit_class, 0);
    EXPECT_TRUE(c.limit_logits.isZero(0.0));
    EXPECT_NEAR(c.limit_confidence, limit, 1e-15);
    EXPECT_NEAR(c.last_region_alpha, 1.0, 1e-15);
    if (t < limit) {
      ASSERT_TRUE(c.alpha_star.has_value());
      EXPECT_NEAR(*c.alpha_star, (1 + std::log(t / (1 - t))) / 2, 1e-12);
    } else {
      EXPECT_TRUE(c.alpha_star.is_never());
    }
  }
  // x = -1: the clip sits at 0, logits (0, 1): class 1 with the same limit.
  CertifyOptions o;
  o.threshold = 0.7;
  const Certificate c = expect_fast_equals_full(net, -Vector::Ones(1), o);
  EXPECT_EQ(c.limit_class, 1);
  EXPECT_NEAR(c.limit_confidence, limit, 1e-15);
  EXPECT_NEAR(*c.alpha_star, 1e-6, 0.0);  // confident from alpha0 on: 1 / (1 + e^-1) > 0.7
}

// |x| keeps Theorem 3.1 (it is unbounded in both directions): logits
// (|x|, |x| / 2) on alpha x, x = -1, give confidence 1 / (1 + e^(-alpha/2)),
// which reaches t at alpha = 2 ln(t / (1 - t)) and tends to 1.
TEST(SaturatingLimit, AbsKeepsTheTheorem) {
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.abs(b.dense(x, Matrix::Ones(1, 1), Vector::Zero(1)));
  Matrix w(2, 1);
  w << 1, 0.5;
  const Network net = b.build(b.dense(x, w, Vector::Zero(2)));
  CertifyOptions o;
  o.threshold = 0.9;
  const Certificate c = expect_fast_equals_full(net, -Vector::Ones(1), o);
  EXPECT_EQ(c.limit_class, 0);
  EXPECT_EQ(c.limit_ties, 1);
  EXPECT_EQ(c.limit_confidence, 1.0);
  EXPECT_NEAR(c.limit_logits[0], 1.0, 1e-15);
  EXPECT_NEAR(*c.alpha_star, 2 * std::log(9.0), 1e-12);
}

TEST(FastEqualsFull, ShippedModels) {
  const std::string dir = TESSERA_SOURCE_DIR "/data/models/";
  struct Case {
    const char* file;
    int rays;
  };
  for (const Case& m : {Case{"toy2d.onnx", 20}, Case{"toy2d_leaky.onnx", 20}, Case{"mnist_mlp.onnx", 6},
                        Case{"trained/moons_plain.onnx", 10}, Case{"trained/moons_acet.onnx", 10},
                        Case{"trained/mnist_plain.onnx", 3}, Case{"trained/mnist_ceda.onnx", 3},
                        Case{"mnist_cnn.onnx", 1}}) {
    SCOPED_TRACE(m.file);
    const Network net = load_onnx(dir + m.file);
    const bool image = net.input_shape().is_image() || net.input_size() == 784;
    const Matrix X = uniform_noise(net.input_size(), m.rays, 11, image ? 0.0 : -2.0, image ? 1.0 : 2.0);
    for (Eigen::Index j = 0; j < X.cols(); ++j) {
      CertifyOptions o;
      o.has_box = image;
      expect_fast_equals_full(net, X.col(j), o);
    }
  }
}

// The limit and alpha* max|x| depend only on the direction of x.
TEST(FastEqualsFull, ScaleInvariance) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(55)) {
    SCOPED_TRACE(name);
    SeededRandom rng(3);
    const Vector x = test::random_input(net, rng);
    CertifyOptions o;
    o.threshold = 0.9;
    o.alpha0 = 1e-300;  // scaled inputs need the ray to start close to 0
    const Certificate ref = certify(net, x, o);
    for (double scale : {1e-300, 1e300, 1e-310}) {
      SCOPED_TRACE(scale);
      const Vector y = x * scale;
      CertifyOptions os = o;
      os.alpha0 = std::max(o.alpha0 / scale, 1e-300);
      const Certificate c = expect_fast_equals_full(net, y, os);
      EXPECT_EQ(c.limit_class, ref.limit_class);
      EXPECT_EQ(c.limit_ties, ref.limit_ties);
      EXPECT_EQ(c.limit_confidence, ref.limit_confidence);
      EXPECT_EQ(c.last_region_hash, ref.last_region_hash);
      ASSERT_EQ(c.alpha_star_times_max_abs.has_value(), ref.alpha_star_times_max_abs.has_value());
      if (c.alpha_star_times_max_abs)
        EXPECT_NEAR(*c.alpha_star_times_max_abs / *ref.alpha_star_times_max_abs, 1.0, 1e-9);
    }
  }
}

// The bug of the first version: (1e-310, -1e-310) lost its direction.
TEST(FastEqualsFull, SubnormalInputHasTheLimitOfItsDirection) {
  const Network net = load_onnx(TESSERA_SOURCE_DIR "/data/models/toy2d.onnx");
  const Certificate one = certify(net, Eigen::Vector2d(1, -1), CertifyOptions{});
  const Certificate tiny = expect_fast_equals_full(net, Eigen::Vector2d(1e-310, -1e-310), CertifyOptions{});
  EXPECT_EQ(tiny.limit_class, one.limit_class);
  EXPECT_EQ(tiny.last_region_hash, one.last_region_hash);
  ASSERT_TRUE(tiny.alpha_star_times_max_abs.has_value());
  EXPECT_NEAR(*tiny.alpha_star_times_max_abs, *one.alpha_star_times_max_abs, 1e-12 * *one.alpha_star_times_max_abs);
  EXPECT_TRUE(std::isinf(*tiny.alpha_star));  // 1e310-ish does not fit a double
}

// A limit that stops the walk leaves fields unknown, never "never".
TEST(FastEqualsFull, PartialResultsAreUnknownNotNever) {
  const Network net = load_onnx(TESSERA_SOURCE_DIR "/data/models/mnist_mlp.onnx");
  const Vector x = uniform_noise(784, 1, 3).col(0);
  for (bool full : {false, true}) {
    SCOPED_TRACE(full);
    CertifyOptions o;
    o.full = full;
    o.has_box = true;
    o.traversal.max_segments = full ? 3 : 1;
    const Certificate c = certify(net, x, o);
    EXPECT_FALSE(c.complete);
    EXPECT_FALSE(c.stop_reason.empty());
    EXPECT_FALSE(c.segments.has_value());
    EXPECT_FALSE(c.first_alpha.is_never());
    EXPECT_FALSE(c.alpha_star.is_never());
    EXPECT_FALSE(c.first_alpha_in_box.is_never());
    EXPECT_FALSE(c.max_confidence_in_box.is_never());
    if (full) {
      EXPECT_FALSE(c.last_region_found);
      EXPECT_FALSE(c.alpha_star.known);
    } else {
      EXPECT_TRUE(c.last_region_found);  // the first region the fast path computes
    }
    // When known, the largest confidence in the box is at least that at alpha = 1.
    if (c.max_confidence_in_box) EXPECT_GE(*c.max_confidence_in_box, c.confidence_at_input);
  }
}

TEST(FastEqualsFull, LimitOnlyComputesOneRegion) {
  const Network net = load_onnx(TESSERA_SOURCE_DIR "/data/models/mnist_mlp.onnx");
  const Vector x = uniform_noise(784, 1, 4).col(0);
  CertifyOptions o;
  o.limit_only = true;
  const Certificate c = certify(net, x, o);
  o.limit_only = false;
  o.full = true;
  const Certificate full = certify(net, x, o);
  EXPECT_TRUE(c.complete);
  EXPECT_EQ(c.regions_visited, 1u);
  EXPECT_EQ(c.limit_confidence, full.limit_confidence);
  EXPECT_EQ(c.last_region_alpha, full.last_region_alpha);
  EXPECT_EQ(c.limit_logits, full.limit_logits);
}

}  // namespace
}  // namespace tessera
