// Local affine maps: hand-solved networks and properties on random networks
// of every node kind.
#include <gtest/gtest.h>

#include "core/affine_map.hpp"
#include "core/forward.hpp"
#include "core/error.hpp"
#include "core/linear_ops.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

using test::relative_error;

// Two orthogonal ReLU neurons in the plane, summed with weights (1, 2):
//
//        x2
//         |   h = (relu(x1), relu(x2)),   f = h1 + 2 h2 - 1
//   Q2    |    Q1: V = [1 2]   Q2: V = [0 2]
//  -------+------- x1
//   Q3    |    Q4: V = [1 0]   Q3: V = [0 0],   a = -1 everywhere
//         |
Network two_orthogonal_neurons() {
  NetworkBuilder b;
  int x = b.input(Shape{2});
  x = b.relu(b.dense(x, Matrix::Identity(2, 2), Vector::Zero(2)));
  Matrix w(1, 2);
  w << 1, 2;
  x = b.dense(x, w, Vector::Constant(1, -1.0));
  return b.build(x);
}

TEST(AffineMap, TwoOrthogonalNeuronsGiveTheHandSolvedMapInEachQuadrant) {
  const Network net = two_orthogonal_neurons();
  const struct {
    double x1, x2, v1, v2;
  } cases[] = {{1, 1, 1, 2}, {-1, 1, 0, 2}, {-1, -1, 0, 0}, {1, -1, 1, 0}};
  for (const auto& c : cases) {
    const AffineMap m = affine_map_at(net, Eigen::Vector2d(c.x1, c.x2));
    EXPECT_DOUBLE_EQ(m.V(0, 0), c.v1) << c.x1 << "," << c.x2;
    EXPECT_DOUBLE_EQ(m.V(0, 1), c.v2) << c.x1 << "," << c.x2;
    EXPECT_DOUBLE_EQ(m.a[0], -1.0);
  }
}

TEST(AffineMap, ZeroPreActivationCountsAsInactive) {
  // Σ: active iff > 0, so on the boundary x1 = 0 the neuron is inactive.
  const Network net = two_orthogonal_neurons();
  const ActivationPattern p = activation_pattern(net, Eigen::Vector2d(0.0, 1.0));
  EXPECT_FALSE(p.layers[0].active(0));
  EXPECT_TRUE(p.layers[0].active(1));
}

TEST(AffineMap, LeakyReluAndMaxPoolHandSolved) {
  // x in R^{1x1x4} (a 1x4 image); leaky(0.5) then 1x2 max pool (stride 2):
  //   out0 = max(l(x0), l(x1)), out1 = max(l(x2), l(x3)).
  NetworkBuilder b;
  int x = b.input(Shape{1, 1, 4});
  x = b.leaky_relu(x, 0.5);
  Window2d w;
  w.kernel_h = 1;
  w.kernel_w = 2;
  w.stride_w = 2;
  x = b.max_pool2d(x, w);
  x = b.reshape(x, Shape{2});
  const Network net = b.build(x);
  // x = (-4, -1, 3, 2): l = (-2, -0.5, 3, 2); out0 picks x1 (slope .5), out1 picks x2 (slope 1).
  Vector in(4);
  in << -4, -1, 3, 2;
  const AffineMap m = affine_map_at(net, in);
  Matrix expected = Matrix::Zero(2, 4);
  expected(0, 1) = 0.5;
  expected(1, 2) = 1.0;
  EXPECT_EQ(m.V, expected);
  EXPECT_EQ(m.a, Vector::Zero(2));
  const ActivationPattern p = activation_pattern(net, in);
  EXPECT_EQ(p.layers[1].selection, (std::vector<int>{1, 2}));
}

class EveryKind : public ::testing::TestWithParam<int> {};

TEST_P(EveryKind, AffineMapReproducesTheForwardPass) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(100 + GetParam())) {
    SeededRandom rng(GetParam());
    for (int trial = 0; trial < 5; ++trial) {
      const Vector x = test::random_input(net, rng);
      const ForwardPass fp = forward_pass(net, x);
      const AffineMap m = affine_map(net, fp.pattern);
      EXPECT_LT(relative_error(m(x), fp.logits()), 1e-9) << name;
    }
  }
}

TEST_P(EveryKind, VMatchesCentralFiniteDifferences) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(200 + GetParam())) {
    SeededRandom rng(GetParam());
    const Vector x = test::random_input(net, rng);
    const ForwardPass fp = forward_pass(net, x);
    const AffineMap m = affine_map(net, fp.pattern);
    const double h = 1e-6;
    int checked = 0;
    for (int j = 0; j < net.input_size(); ++j) {
      Vector xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      const ForwardPass p = forward_pass(net, xp), q = forward_pass(net, xm);
      if (p.pattern != fp.pattern || q.pattern != fp.pattern) continue;  // a kink within h: not linear there
      const Vector fd = (p.logits() - q.logits()) / (2 * h);
      EXPECT_LT((fd - m.V.col(j)).cwiseAbs().maxCoeff(), 1e-6) << name << " column " << j;
      ++checked;
    }
    EXPECT_GE(checked, net.input_size() * 9 / 10) << name;
  }
}

TEST_P(EveryKind, HiddenLayerMapsReproduceEveryPreActivation) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(300 + GetParam())) {
    SeededRandom rng(GetParam());
    const Vector x = test::random_input(net, rng);
    const ForwardPass fp = forward_pass(net, x);
    std::vector<int> all;
    for (int i = 0; i < static_cast<int>(net.nodes.size()); ++i) all.push_back(i);
    const auto maps = node_affine_maps(net, fp.pattern, all);
    for (const NodeAffineMap& nm : maps)
      EXPECT_LT(relative_error(nm.map(x), fp.values[nm.node]), 1e-9) << name << " node " << nm.node;
    // Forward accumulation of the output agrees with reverse accumulation.
    const AffineMap out = affine_map(net, fp.pattern);
    EXPECT_LT(relative_error(maps.back().map.V, out.V), 1e-12) << name;
    EXPECT_LT(relative_error(maps.back().map.a, out.a), 1e-12) << name;
  }
}

TEST_P(EveryKind, DirectionalDerivativeIsVTimesD) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(400 + GetParam())) {
    SeededRandom rng(GetParam());
    const Vector x = test::random_input(net, rng);
    const Vector d = test::random_input(net, rng);
    const ActivationPattern p = activation_pattern(net, x);
    const AffineMap m = affine_map(net, p);
    EXPECT_LT(relative_error(directional_derivative(net, p, d), m.V * d), 1e-12) << name;
    const auto all = node_directional_derivatives(net, p, d);
    EXPECT_LT(relative_error(all.back(), m.V * d), 1e-12) << name;
    // Along x + t d, every node's value moves at the computed rate while the
    // pattern holds: check a tiny step.
    const double t = 1e-7;
    const ForwardPass moved = forward_pass(net, x + t * d);
    if (moved.pattern == p) {
      const ForwardPass here = forward_pass(net, x);
      for (size_t i = 0; i < all.size(); ++i)
        EXPECT_LT((moved.values[i] - here.values[i] - t * all[i]).cwiseAbs().maxCoeff(), 1e-12) << name;
    }
  }
}

TEST_P(EveryKind, BatchVersionsEqualSingleInputVersions) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(500 + GetParam())) {
    SeededRandom rng(GetParam());
    Matrix X(net.input_size(), 7);
    for (int j = 0; j < 7; ++j) X.col(j) = test::random_input(net, rng);
    const auto maps = affine_maps(net, X);
    const auto patterns = activation_patterns(net, X);
    ASSERT_EQ(maps.size(), 7u);
    for (int j = 0; j < 7; ++j) {
      const AffineMap single = affine_map_at(net, X.col(j));
      EXPECT_EQ(maps[j].V, single.V) << name;
      EXPECT_EQ(maps[j].a, single.a) << name;
      EXPECT_EQ(patterns[j], activation_pattern(net, X.col(j))) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, EveryKind, ::testing::Values(1, 2, 3));

TEST(AffineMap, BatchReportsBadInputs) {
  const Network net = random_mlp(3, {4}, 2, 1);
  Matrix X = Matrix::Zero(3, 4);
  X(1, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(affine_maps(net, X), Error);
}

TEST(Softmax, StaysFiniteForHugeLogits) {
  Vector z(3);
  z << 1e300, -1e300, 1e300 - 1e285;
  const Vector p = softmax(z);
  EXPECT_TRUE(p.allFinite());
  EXPECT_NEAR(p.sum(), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(log_max_confidence(Eigen::Vector3d(0, 0, 0)), -std::log(3.0));
}

}  // namespace
}  // namespace tessera
