// Region polytopes: hand-solved regions and LP checks on random networks.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/linear_program.hpp"
#include "regions/polytope.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

// Two orthogonal ReLU neurons: at x = (1, 2) the region is the quadrant
// z1 >= 0, z2 >= 0. With the box [-10, 10]^2: a 10 x 10 square with
// Chebyshev centre (5, 5) and inradius 5; four facets (two units, two box
// rows), the other two box rows redundant.
Network orthogonal() {
  NetworkBuilder b;
  int x = b.relu(b.dense(b.input(Shape{2}), Matrix::Identity(2, 2), Vector::Zero(2)));
  return b.build(b.dense(x, Matrix::Ones(1, 2), Vector::Zero(1)));
}

TEST(Polytope, QuadrantOfTwoOrthogonalNeurons) {
  RegionOptions o;
  o.has_box = true;
  o.box_lo = -10;
  o.box_hi = 10;
  const RegionReport r = analyse_region(orthogonal(), Eigen::Vector2d(1, 2), o);
  EXPECT_TRUE(r.bounded);
  ASSERT_TRUE(r.chebyshev_center.has_value());
  EXPECT_NEAR((*r.chebyshev_center - Eigen::Vector2d(5, 5)).norm(), 0, 1e-9);
  EXPECT_NEAR(r.inradius, 5, 1e-9);
  ASSERT_TRUE(r.facets_computed);
  EXPECT_EQ(r.facets.size(), 4u);
  int unit_facets = 0;
  for (int f : r.facets) unit_facets += !r.origin[f].box;
  EXPECT_EQ(unit_facets, 2);
  // Without a box the quadrant is unbounded, in a direction inside it.
  const RegionReport open = analyse_region(orthogonal(), Eigen::Vector2d(1, 2));
  EXPECT_FALSE(open.bounded);
  EXPECT_GE(open.recession_direction.minCoeff(), -1e-12);
  EXPECT_GT(open.recession_direction.norm(), 0);
  EXPECT_TRUE(std::isinf(open.inradius));
}

// Piecewise units (clip with two knots, |x|, max with a constant): a unit
// on a middle piece gives two rows. Dense sampling: a point has the pattern
// of x exactly when it satisfies A z <= b (away from the boundary), and the
// box rows come from the per-coordinate bounds.
TEST(Polytope, PiecewiseUnitsGiveTwoSidedRowsThatMatchSampling) {
  SeededRandom r(21);
  NetworkBuilder b;
  int x = b.clip(b.dense(b.input(Shape{2}), r.he_uniform(6, 2, 2), r.uniform_vector(6, -0.3, 0.3)), -0.25, 0.5);
  x = b.abs(b.dense(x, r.he_uniform(5, 6, 6), r.uniform_vector(5, -0.2, 0.2)));
  x = b.max_constant(b.dense(x, r.he_uniform(4, 5, 5), r.uniform_vector(4, -0.2, 0.2)), r.uniform_vector(4, -0.1, 0.1));
  const Network net = b.build(b.dense(x, r.he_uniform(3, 4, 4), Vector::Zero(3)));
  RegionOptions o;
  o.has_box = true;
  o.box_lower = Eigen::Vector2d(-1.5, -1);
  o.box_upper = Eigen::Vector2d(1, 2);
  int two_sided = 0, checked = 0;
  for (const Eigen::Vector2d x0 : {Eigen::Vector2d(0.1, 0.2), Eigen::Vector2d(-0.4, 0.9), Eigen::Vector2d(0.7, -0.3)}) {
    const RegionReport rep = analyse_region(net, x0, o);
    const std::uint64_t h = activation_pattern(net, x0).hash();
    std::map<std::pair<int, int>, int> rows_per_unit;
    for (const RowOrigin& g : rep.origin)
      if (g.knot >= 0) ++rows_per_unit[{g.node, g.unit}];
    for (const auto& [unit, n] : rows_per_unit) two_sided += n == 2;
    EXPECT_EQ((rep.A.rows()), static_cast<Eigen::Index>(rep.origin.size()));
    for (int i = 0; i <= 150; ++i)
      for (int j = 0; j <= 150; ++j) {
        const Eigen::Vector2d z(-1.5 + 2.5 * i / 150, -1 + 3.0 * j / 150);
        const double slack = (rep.A * z - rep.b).maxCoeff();
        if (std::abs(slack) < 1e-9) continue;  // on a boundary
        ++checked;
        EXPECT_EQ(slack < 0, activation_pattern(net, z).hash() == h) << z.transpose();
      }
  }
  EXPECT_GT(two_sided, 0) << "no unit on a middle piece: the test does not exercise two-sided rows";
  EXPECT_GT(checked, 60000);
}

TEST(Polytope, FacetsAreTightAndIrredundantAndTheCentreIsInside) {
  for (int seed : {1, 2, 3}) {
    const Network net = random_mlp(3, {10, 8}, 3, 300 + seed);
    SeededRandom rng(seed);
    const Vector x = test::random_input(net, rng);
    RegionOptions o;
    o.has_box = true;
    o.box_lo = -3;
    o.box_hi = 3;
    const RegionReport r = analyse_region(net, x, o);
    EXPECT_TRUE(r.bounded);
    EXPECT_LE((r.A * x - r.b).maxCoeff(), 1e-9);  // x lies in its region
    ASSERT_TRUE(r.chebyshev_center.has_value());
    EXPECT_GT(r.inradius, 0);
    EXPECT_EQ(activation_pattern(net, *r.chebyshev_center), activation_pattern(net, x));
    ASSERT_TRUE(r.facets_computed);
    ASSERT_FALSE(r.facets.empty());
    std::vector<char> is_facet(r.A.rows(), 0);
    for (int f : r.facets) is_facet[f] = 1;
    for (Eigen::Index i = 0; i < r.A.rows(); ++i) {
      // Tight somewhere: max A_i z over the region reaches b_i.
      LinearProgram lp;
      lp.A = r.A;
      lp.b = r.b;
      lp.c = r.A.row(i).transpose();
      const LpSolution tight = solve_lp(lp);
      ASSERT_EQ(tight.status, LpSolution::Status::Optimal);
      // Dropping the row enlarges the region exactly for facets.
      LinearProgram without;
      without.A.resize(r.A.rows() - 1, r.A.cols());
      without.b.resize(r.A.rows() - 1);
      for (Eigen::Index j = 0, k = 0; j < r.A.rows(); ++j)
        if (j != i) {
          without.A.row(k) = r.A.row(j);
          without.b[k++] = r.b[j];
        }
      without.c = lp.c;
      const LpSolution relaxed = solve_lp(without);
      const bool enlarges = relaxed.status == LpSolution::Status::Unbounded ||
                            (relaxed.status == LpSolution::Status::Optimal && relaxed.objective > r.b[i] + 1e-7);
      if (is_facet[i]) {
        EXPECT_NEAR(tight.objective, r.b[i], 1e-7) << "facet " << i << " is not tight";
        EXPECT_TRUE(enlarges) << "facet " << i;
      } else {
        EXPECT_FALSE(enlarges) << "row " << i << " was called redundant";
      }
    }
  }
}

// logits = (relu(z1), relu(z2)) on the quadrant z >= 0 of [-10, 10]^2: the
// class-0 margin z1 - z2 is at most 10 (at (10, 0)), so the largest
// confidence is exactly 1 / (1 + e^-10), and both bounds meet there.
TEST(Polytope, ConfidenceBoundsHandSolved) {
  NetworkBuilder b;
  int x = b.relu(b.dense(b.input(Shape{2}), Matrix::Identity(2, 2), Vector::Zero(2)));
  const Network net = b.build(b.dense(x, Matrix::Identity(2, 2), Vector::Zero(2)));
  RegionOptions o;
  o.has_box = true;
  o.box_lo = -10;
  o.box_hi = 10;
  const RegionReport r = analyse_region(net, Eigen::Vector2d(1, 2), o);
  ASSERT_TRUE(r.confidence_computed);
  EXPECT_NEAR(r.max_margin[0], 10, 1e-9);
  EXPECT_NEAR(r.max_margin[1], 10, 1e-9);
  const double exact = 1 / (1 + std::exp(-10.0));
  EXPECT_NEAR(r.largest_confidence_lower, exact, 1e-12);
  EXPECT_NEAR(r.largest_confidence_upper, exact, 1e-12);
  // The smallest: on the diagonal z1 = z2 the two classes tie at 1/2, which
  // both bounds find (M_10 = 10 >= 0, so exp(min(0, .)) = 1).
  EXPECT_NEAR(r.smallest_confidence_lower, 0.5, 1e-12);
  EXPECT_GE(r.smallest_confidence_upper, 0.5);
}

TEST(Polytope, ConfidenceBoundsBracketConfidencesInsideTheRegion) {
  for (int seed : {4, 5}) {
    const Network net = random_mlp(3, {10, 8}, 4, 500 + seed);
    SeededRandom rng(seed);
    const Vector x = test::random_input(net, rng);
    RegionOptions o;
    o.has_box = true;
    o.box_lo = -2;
    o.box_hi = 2;
    const RegionReport r = analyse_region(net, x, o);
    ASSERT_TRUE(r.confidence_computed);
    EXPECT_LE(r.largest_confidence_lower, r.largest_confidence_upper);
    // Points of the region: x, the centre, and points between them.
    EXPECT_LE(r.smallest_confidence_lower, r.smallest_confidence_upper);
    for (double f : {0.0, 0.25, 0.5, 0.75, 1.0}) {
      const Vector z = x + f * (*r.chebyshev_center - x);
      const double c = softmax(logits(net, z)).maxCoeff();
      EXPECT_LE(c, r.largest_confidence_upper + 1e-12);
      EXPECT_GE(c, r.smallest_confidence_lower - 1e-12);
    }
    // The class at x wins somewhere in the region: its margin is >= 0.
    Eigen::Index k;
    logits(net, x).maxCoeff(&k);
    EXPECT_GE(r.max_margin[k], -1e-9);
  }
}

TEST(Polytope, MaxPoolWinnersBecomeRows) {
  // 1x1x2 image, max pool over both entries: the region of x = (2, 1) is
  // z1 >= z2 (one row), unbounded along (1, 1).
  NetworkBuilder b;
  int x = b.input(Shape{1, 1, 2});
  Window2d w;
  w.kernel_h = 1;
  w.kernel_w = 2;
  x = b.max_pool2d(x, w);
  const Network net = b.build(b.reshape(x, Shape{1}));
  const RegionReport r = analyse_region(net, Eigen::Vector2d(2, 1));
  ASSERT_EQ(r.A.rows(), 1);
  EXPECT_NEAR(r.A(0, 0), -1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(r.A(0, 1), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_FALSE(r.bounded);
  EXPECT_EQ(r.origin[0].other, 1);
}

TEST(Polytope, BadOptions) {
  RegionOptions o;
  o.has_box = true;
  o.box_lo = 1;
  o.box_hi = 0;
  EXPECT_THROW(analyse_region(orthogonal(), Eigen::Vector2d(1, 2), o), Error);
  EXPECT_THROW(analyse_region(orthogonal(), Eigen::Vector3d(1, 2, 3)), Error);
}

}  // namespace
}  // namespace tessera
