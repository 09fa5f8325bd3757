// Exact line and ray traversal: hand-solved lines, and random networks of
// every kind checked against midpoints and dense sampling.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/line_traversal.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Two orthogonal ReLU neurons in the plane (see test_affine_map.cpp):
// h = (relu(x1 - 1), relu(x2 - 1)), logits = (h1, h2, 0).
Network shifted_orthogonal_neurons() {
  NetworkBuilder b;
  int x = b.input(Shape{2});
  x = b.relu(b.dense(x, Matrix::Identity(2, 2), Vector::Constant(2, -1.0)));
  Matrix w = Matrix::Zero(3, 2);
  w(0, 0) = 1;
  w(1, 1) = 1;
  return b.build(b.dense(x, w, Vector::Zero(3)));
}

std::vector<double> breakpoints(const LineTraversal& tr) {
  std::vector<double> b;
  for (size_t i = 1; i < tr.segments.size(); ++i) b.push_back(tr.segments[i].t_begin);
  return b;
}

TEST(LineTraversal, TwoNeuronsChangingAtOnePointGiveOneBreakpoint) {
  // x(t) = (t, t): both units switch on at t = 1.
  const LineTraversal tr =
      traverse_line(shifted_orthogonal_neurons(), Eigen::Vector2d(0, 0), Eigen::Vector2d(1, 1), 0.0, 3.0);
  ASSERT_TRUE(tr.complete);
  EXPECT_EQ(breakpoints(tr), std::vector<double>{1.0});
  EXPECT_EQ(tr.segments[1].logit_w, Eigen::Vector3d(1, 1, 0));
  EXPECT_EQ(tr.segments[1].logit_c, Eigen::Vector3d(-1, -1, 0));
}

TEST(LineTraversal, OppositeChangesAtOnePointLeaveASinglePointRegion) {
  // x(t) = (t, 2 - t): unit 1 turns on and unit 2 off at t = 1; at the point
  // itself both are off, a pattern neither side has.
  const LineTraversal tr =
      traverse_line(shifted_orthogonal_neurons(), Eigen::Vector2d(0, 2), Eigen::Vector2d(1, -1), 0.0, 2.0);
  ASSERT_EQ(tr.segments.size(), 3u);
  EXPECT_TRUE(tr.segments[1].is_point);
  EXPECT_EQ(tr.segments[1].t_begin, 1.0);
  EXPECT_EQ(tr.segments[1].t_end, 1.0);
  EXPECT_NE(tr.segments[1].pattern_hash, tr.segments[0].pattern_hash);
  EXPECT_NE(tr.segments[1].pattern_hash, tr.segments[2].pattern_hash);
}

TEST(LineTraversal, DirectionAlongABoundaryNeverCrossesIt) {
  // x(t) = (1, t - 2): unit 1 is exactly 0 on the whole line (inactive);
  // only unit 2 switches, at t = 3.
  TraversalOptions o;
  o.keep_patterns = true;
  const LineTraversal tr =
      traverse_line(shifted_orthogonal_neurons(), Eigen::Vector2d(1, -2), Eigen::Vector2d(0, 1), 0.0, 5.0, o);
  EXPECT_EQ(breakpoints(tr), std::vector<double>{3.0});
  for (const LineSegment& s : tr.segments) EXPECT_FALSE(s.pattern.layers[0].active(0));
}

TEST(LineTraversal, RayEndsInTheLastRegionWithAProof) {
  // alpha * (2, 1): unit 1 on at alpha = 1/2, unit 2 at alpha = 1; after
  // that no unit can change: the last region, logits = alpha (2, 1, 0) - (1, 1, 0).
  const LineTraversal tr = traverse_ray(shifted_orthogonal_neurons(), Eigen::Vector2d(2, 1), 0.1);
  ASSERT_TRUE(tr.complete);
  EXPECT_EQ(breakpoints(tr), (std::vector<double>{0.5, 1.0}));
  EXPECT_TRUE(std::isinf(tr.segments.back().t_end));
  EXPECT_EQ(tr.segments.back().logit_w, Eigen::Vector3d(2, 1, 0));
  EXPECT_EQ(tr.segments.back().predicted_class, 0);
  EXPECT_DOUBLE_EQ(tr.segments.back().max_confidence, 1.0);  // the supremum, approached as alpha grows
}

TEST(LineTraversal, BreakpointsFarOutStayExact) {
  // One unit relu(1e-100 x - 1e100) switches at x = 1e200.
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.relu(b.dense(x, Matrix::Constant(1, 1, 1e-100), Vector::Constant(1, -1e100)));
  Matrix w(2, 1);
  w << 1, -1;
  const Network net = b.build(b.dense(x, w, Vector::Zero(2)));
  const LineTraversal tr = traverse_ray(net, Vector::Ones(1), 1.0);
  ASSERT_EQ(breakpoints(tr).size(), 1u);
  EXPECT_NEAR(breakpoints(tr)[0] / 1e200, 1.0, 1e-15);
  EXPECT_TRUE(std::isfinite(tr.segments.back().min_confidence));
}

TEST(LineTraversal, BadInputs) {
  const Network net = shifted_orthogonal_neurons();
  EXPECT_THROW(traverse_line(net, Eigen::Vector2d(0, 0), Eigen::Vector2d(0, 0), 0, 1), Error);
  EXPECT_THROW(traverse_line(net, Eigen::Vector2d(0, 0), Eigen::Vector2d(1, 0), 1, 1), Error);
  EXPECT_THROW(traverse_line(net, Eigen::Vector3d(0, 0, 0), Eigen::Vector3d(1, 0, 0), 0, 1), Error);
  EXPECT_THROW(traverse_line(net, Eigen::Vector2d(0, NAN), Eigen::Vector2d(1, 0), 0, 1), Error);
  EXPECT_THROW(traverse_ray(net, Eigen::Vector2d(1, 1), 0.0), Error);
  EXPECT_THROW(traverse_ray(net, Eigen::Vector2d(1, 1), -1.0), Error);
  try {
    traverse_line(net, Eigen::Vector2d(0, 0), Eigen::Vector2d(0, 0), 0, 1);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "line direction: is zero, so the line is a single point");
  }
}

TEST(LineTraversal, SegmentLimitGivesAPartialResult) {
  TraversalOptions o;
  o.max_segments = 1;
  const LineTraversal tr = traverse_ray(shifted_orthogonal_neurons(), Eigen::Vector2d(2, 1), 0.1, o);
  EXPECT_FALSE(tr.complete);
  EXPECT_EQ(tr.segments.size(), 1u);
  EXPECT_NE(tr.stop_reason.find("segments"), std::string::npos);
}

// -------------------------------------------------------- random networks

class RandomLines : public ::testing::TestWithParam<int> {};

TEST_P(RandomLines, SegmentsMatchTheNetworkEverywhere) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(600 + GetParam())) {
    SCOPED_TRACE(name);
    SeededRandom rng(GetParam());
    const Vector x0 = test::random_input(net, rng), d = test::random_input(net, rng);
    const double t0 = -2, t1 = 2;
    TraversalOptions o;
    o.keep_patterns = true;
    const LineTraversal tr = traverse_line(net, x0, d, t0, t1, o);
    ASSERT_TRUE(tr.complete);
    ASSERT_FALSE(tr.segments.empty());
    EXPECT_EQ(tr.segments.front().t_begin, t0);
    EXPECT_EQ(tr.segments.back().t_end, t1);
    for (size_t i = 0; i < tr.segments.size(); ++i) {
      const LineSegment& s = tr.segments[i];
      if (i > 0) {
        EXPECT_EQ(s.t_begin, tr.segments[i - 1].t_end);
      }
      if (s.is_point) continue;
      ASSERT_LT(s.t_begin, s.t_end);
      // The pattern of the open segment is the network's pattern inside it.
      for (double f : {0.25, 0.5, 0.75}) {
        const double t = s.t_begin + f * (s.t_end - s.t_begin);
        const ForwardPass fp = forward_pass(net, x0 + t * d);
        EXPECT_EQ(fp.pattern.hash(), s.pattern_hash) << "segment " << i << " at t = " << t;
        EXPECT_LT(test::relative_error(fp.logits(), s.logit_c + t * s.logit_w), 1e-9);
      }
    }
    // Dense sampling can only find fewer changes: every change between two
    // samples has a breakpoint between them.
    const int samples = 100000;
    std::vector<double> bps;
    for (size_t i = 1; i < tr.segments.size(); ++i) bps.push_back(tr.segments[i].t_begin);
    std::uint64_t previous = activation_pattern(net, x0 + t0 * d).hash();
    double previous_t = t0;
    int changes = 0;
    for (int k = 1; k <= samples; ++k) {
      const double t = t0 + (t1 - t0) * k / samples;
      const std::uint64_t h = activation_pattern(net, x0 + t * d).hash();
      if (h != previous) {
        ++changes;
        const bool covered =
            std::any_of(bps.begin(), bps.end(), [&](double b) { return b >= previous_t && b <= t; });
        EXPECT_TRUE(covered) << "pattern change in [" << previous_t << ", " << t << "] with no breakpoint";
      }
      previous = h;
      previous_t = t;
    }
    EXPECT_LE(changes, static_cast<int>(bps.size()));
    EXPECT_GT(bps.size(), 0u);
  }
}

TEST_P(RandomLines, ChangingUnitsAreZeroAtTheirBreakpoints) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(700 + GetParam())) {
    SCOPED_TRACE(name);
    SeededRandom rng(GetParam());
    const Vector x0 = test::random_input(net, rng), d = test::random_input(net, rng);
    TraversalOptions o;
    o.keep_patterns = true;
    o.point_segments = false;
    const LineTraversal tr = traverse_line(net, x0, d, -2, 2, o);
    for (size_t i = 1; i < tr.segments.size(); ++i) {
      const double t = tr.segments[i].t_begin;
      const ForwardPass fp = forward_pass(net, x0 + t * d);
      const ActivationPattern& before = tr.segments[i - 1].pattern;
      const ActivationPattern& after = tr.segments[i].pattern;
      bool found = false;
      for (size_t l = 0; l < before.layers.size(); ++l) {
        const LayerPattern& a = before.layers[l];
        const LayerPattern& b = after.layers[l];
        const Vector& pre = fp.values[net.nodes[a.node].inputs[0]];
        const double scale = std::max(1.0, pre.cwiseAbs().maxCoeff());
        for (int u = 0; u < a.size; ++u) {
          if (a.kind == OpKind::MaxPool2d) {
            if (a.selection[u] == b.selection[u]) continue;
            // Two window entries tie at the breakpoint.
            EXPECT_LT(std::abs(pre[a.selection[u]] - pre[b.selection[u]]) / scale, 1e-8);
          } else if (a.kind == OpKind::Piecewise) {
            if (a.pieces[u] == b.pieces[u]) continue;
            // The unit crosses the knot between its two pieces.
            const int lower = std::min(a.pieces[u], b.pieces[u]);
            EXPECT_EQ(std::abs(a.pieces[u] - b.pieces[u]), 1) << "unit " << u << " of layer " << l;
            EXPECT_LT(std::abs(pre[u] - net.nodes[a.node].knot(u, lower)) / scale, 1e-8)
                << "unit " << u << " of layer " << l;
          } else {
            if (a.active(u) == b.active(u)) continue;
            EXPECT_LT(std::abs(pre[u]) / scale, 1e-8) << "unit " << u << " of layer " << l;
          }
          found = true;
        }
      }
      EXPECT_TRUE(found) << "breakpoint " << t << " changes nothing";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomLines, ::testing::Values(1, 2));

}  // namespace
}  // namespace tessera
