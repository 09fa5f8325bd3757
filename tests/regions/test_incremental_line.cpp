// The incremental line traversal (the default) against the fresh walk (every
// node recomputed at every breakpoint): the same segments, patterns and
// point regions, breakpoints and logits within 1e-9 relative, and
// incrementally updated values within 1e-9 of fresh ones over thousands of
// crossings without any refresh, on seeded networks of every kind (MLPs,
// CNNs with max- and average pooling, residual, leaky-ReLU, Piecewise).
#include <gtest/gtest.h>

#include <cmath>

#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "core/noise.hpp"
#include "regions/incremental_line.hpp"
#include "regions/line_traversal.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double rel(double a, double b) {
  if (a == b) return 0;
  return std::abs(a - b) / std::max({1e-300, std::abs(a), std::abs(b)});
}

// Checks that two walks of one line found the same regions.
void expect_same_walk(const LineTraversal& inc, const LineTraversal& fresh, double tol = 1e-9) {
  ASSERT_EQ(inc.complete, fresh.complete);
  if (inc.segments.size() != fresh.segments.size()) {
    // Show where the walks part.
    size_t i = 0;
    while (i < inc.segments.size() && i < fresh.segments.size() &&
           inc.segments[i].pattern_hash == fresh.segments[i].pattern_hash)
      ++i;
    for (size_t j = i > 2 ? i - 2 : 0; j < i + 3; ++j) {
      std::string a = j < inc.segments.size() ? std::to_string(inc.segments[j].t_begin) + (inc.segments[j].is_point ? " point" : "") : "-";
      std::string b = j < fresh.segments.size() ? std::to_string(fresh.segments[j].t_begin) + (fresh.segments[j].is_point ? " point" : "") : "-";
      ADD_FAILURE() << "segment " << j << ": incremental " << a << " | fresh " << b;
    }
  }
  ASSERT_EQ(inc.segments.size(), fresh.segments.size());
  for (size_t i = 0; i < inc.segments.size(); ++i) {
    const LineSegment& a = inc.segments[i];
    const LineSegment& b = fresh.segments[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    ASSERT_EQ(a.pattern_hash, b.pattern_hash);
    EXPECT_EQ(a.is_point, b.is_point);
    EXPECT_LE(rel(a.t_begin, b.t_begin), tol) << a.t_begin << " vs " << b.t_begin;
    EXPECT_LE(rel(a.t_end, b.t_end), tol) << a.t_end << " vs " << b.t_end;
    EXPECT_EQ(a.predicted_class, b.predicted_class);
    const double scale = std::max(1.0, b.logit_c.cwiseAbs().maxCoeff() + b.logit_w.cwiseAbs().maxCoeff());
    EXPECT_LE((a.logit_c - b.logit_c).cwiseAbs().maxCoeff(), tol * scale);
    EXPECT_LE((a.logit_w - b.logit_w).cwiseAbs().maxCoeff(), tol * scale);
  }
}

LineTraversal walk(const Network& net, const Vector& x0, const Vector& d, double t0, double t1, bool incremental,
                   std::size_t refresh = 64) {
  TraversalOptions o;
  o.incremental = incremental;
  o.refresh_interval = refresh;
  return traverse_line(net, x0, d, t0, t1, o);
}

class IncrementalEqualsFresh : public ::testing::TestWithParam<int> {};

TEST_P(IncrementalEqualsFresh, SeededNetworksOfEveryKind) {
  const int seed = GetParam();
  std::size_t crossings = 0;
  for (const auto& [name, net] : test::random_networks_of_every_kind(300 + seed)) {
    SCOPED_TRACE(name);
    SeededRandom rng(seed);
    for (int k = 0; k < 3; ++k) {
      const Vector x0 = test::random_input(net, rng), d = test::random_input(net, rng);
      // A long line (many regions), with a refresh every 4 and every 64
      // breakpoints, and a ray to infinity (the last region is claimed).
      const LineTraversal fresh = walk(net, x0, d, -20, 20, false);
      expect_same_walk(walk(net, x0, d, -20, 20, true, 4), fresh);
      const LineTraversal inc = walk(net, x0, d, -20, 20, true);
      expect_same_walk(inc, fresh);
      EXPECT_EQ(inc.rewalks, 0u);
      crossings += fresh.breakpoints();
      expect_same_walk(walk(net, Vector::Zero(x0.size()), d, 1e-3, kInf, true),
                       walk(net, Vector::Zero(x0.size()), d, 1e-3, kInf, false));
    }
  }
  EXPECT_GT(crossings, 500u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, IncrementalEqualsFresh, ::testing::Values(1, 2, 3));

// Values updated incrementally over thousands of crossings, never refreshed,
// against values recomputed from the line at the end.
void expect_small_drift(const Network& net, const Vector& x0, const Vector& d, std::size_t min_steps) {
  const WalkPlan plan(net);
  detail::IncrementalLine line(plan, x0, d);
  line.reset(0.0);
  std::size_t steps = 0;
  ActivationPattern point;
  double worst = 0;
  while (std::isfinite(line.next()) && line.next() < 1.0) {
    line.step(line.next(), &point);
    ++steps;
    if (steps % 500 == 0) {
      // A fresh state at the same t, compared without disturbing the walk.
      detail::IncrementalLine check = line;
      EXPECT_TRUE(check.refresh()) << "the fresh pattern differs after " << steps << " incremental steps";
      worst = std::max(worst, check.drift());
    }
  }
  detail::IncrementalLine check = line;
  EXPECT_TRUE(check.refresh());
  worst = std::max(worst, check.drift());
  EXPECT_GE(steps, min_steps);
  EXPECT_LT(worst, 1e-9) << "after " << steps << " crossings";
  ::testing::Test::RecordProperty("crossings", static_cast<int>(steps));
}

TEST(IncrementalDrift, MlpOverThousandsOfCrossings) {
  const Network net = random_mlp(784, {1024, 1024}, 10, 7);
  const Matrix u = uniform_noise(784, 2, 11);
  // From one noise image far past another: thousands of regions.
  const Vector x0 = -20 * (u.col(1) - u.col(0)) + u.col(0);
  expect_small_drift(net, x0, 40 * (u.col(1) - u.col(0)), 1500);
}

TEST(IncrementalDrift, LeakyDeepMlp) {
  const Network net = random_mlp(64, {256, 256, 256, 256}, 10, 8, 0.1);
  SeededRandom rng(3);
  const Vector a = test::random_input(net, rng), b = test::random_input(net, rng);
  expect_small_drift(net, -30 * (b - a) + a, 60 * (b - a), 1000);
}

TEST(IncrementalDrift, MaxPoolCnn) {
  const Network net = random_lenet(5, 4, 8, 64);
  const Matrix u = uniform_noise(784, 2, 12);
  expect_small_drift(net, -10 * (u.col(1) - u.col(0)) + u.col(0), 20 * (u.col(1) - u.col(0)), 1000);
}

// A residual CNN with average pooling and a leaky ReLU, big enough for
// thousands of crossings:
//   1x16x16 -> conv3x3 (8, pad 1) -> ReLU -> avgpool 2 -> conv3x3 (8, pad 1)
//   -> LeakyReLU 0.1 -> + (residual) -> ReLU -> dense 10
Network residual_avgpool_cnn() {
  SeededRandom rng(21);
  NetworkBuilder b;
  int x = b.input(Shape{1, 16, 16});
  x = b.relu(b.conv2d(x, rng.he_uniform(8, 9, 9), rng.uniform_vector(8, -0.2, 0.2), test::window(3, 1, 1)));
  x = b.avg_pool2d(x, test::window(2, 2, 0), false);
  int r = b.leaky_relu(b.conv2d(x, rng.he_uniform(8, 72, 72), rng.uniform_vector(8, -0.2, 0.2), test::window(3, 1, 1)), 0.1);
  x = b.relu(b.add(r, x));
  x = b.reshape(x, Shape{8 * 8 * 8});
  return b.build(b.dense(x, rng.he_uniform(10, 512, 512), rng.uniform_vector(10, -0.1, 0.1)));
}

TEST(IncrementalDrift, ResidualAveragePoolCnn) {
  const Network net = residual_avgpool_cnn();
  const Matrix u = uniform_noise(256, 2, 13);
  expect_small_drift(net, -20 * (u.col(1) - u.col(0)) + u.col(0), 40 * (u.col(1) - u.col(0)), 1000);
  // And the walks agree.
  expect_same_walk(walk(net, u.col(0), u.col(1) - u.col(0), -20, 20, true),
                   walk(net, u.col(0), u.col(1) - u.col(0), -20, 20, false));
}

TEST(IncrementalDrift, NetworksOfEveryKind) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(77)) {
    SCOPED_TRACE(name);
    SeededRandom rng(9);
    const Vector a = test::random_input(net, rng), b = test::random_input(net, rng);
    expect_small_drift(net, -50 * (b - a) + a, 100 * (b - a), 0);
  }
}

}  // namespace
}  // namespace tessera
