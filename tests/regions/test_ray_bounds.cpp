// The confidence bounds on pieces of a ray are upper bounds of the exact
// confidence (regions/ray_bounds.hpp): checked against the exact regions of
// the full walk and against dense sampling, on seeded networks of every kind.
#include <gtest/gtest.h>

#include <cmath>

#include "core/forward.hpp"
#include "regions/line_traversal.hpp"
#include "regions/ray_bounds.hpp"
#include "regions/segment_confidence.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

// The largest confidence on [a, b] from the exact regions of the ray.
double exact_max(const LineTraversal& tr, double a, double b) {
  double best = 0;
  for (const LineSegment& s : tr.segments) {
    const double lo = std::max(s.t_begin, a), hi = std::min(s.t_end, b);
    if (lo <= hi) best = std::max(best, confidence_range(s.logit_c, s.logit_w, lo, hi).max);
  }
  return best;
}

class RayBounds : public ::testing::TestWithParam<int> {};

TEST_P(RayBounds, AboveTheExactConfidenceOnEveryPiece) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(600 + GetParam())) {
    SCOPED_TRACE(name);
    SeededRandom rng(GetParam());
    const RayBounder bounder(net);
    const Vector x = test::random_input(net, rng);
    const Vector zero = Vector::Zero(x.size());
    const LineTraversal tr = traverse_ray(net, x, 1e-3);
    ASSERT_TRUE(tr.complete);
    std::size_t tight = 0;
    for (int k = 0; k < 60; ++k) {
      // Pieces of every size from 1e-3 to 100, anywhere on the ray.
      const double a = std::pow(10.0, rng.uniform(-3, 1.5));
      const double b = a * (1 + std::pow(10.0, rng.uniform(-4, 1.5)));
      const RayBounder::Bound bound = bounder.confidence_bound(zero, x, a, b);
      const double exact = exact_max(tr, a, b);
      EXPECT_GE(bound.confidence, exact) << "[" << a << ", " << b << "]";
      // Dense sampling through the network itself, independent of the traversal.
      for (int s = 0; s <= 50; ++s) {
        const double t = a + (b - a) * s / 50;
        EXPECT_GE(bound.confidence, softmax(logits(net, (t * x).eval())).maxCoeff() - 1e-12);
      }
      // Inside one region nothing is relaxed.
      int regions = 0;
      for (const LineSegment& s : tr.segments) regions += s.t_end > a && s.t_begin < b;
      if (regions == 1) {
        EXPECT_EQ(bound.relaxed, 0u) << "[" << a << ", " << b << "]";
        ++tight;
      }
    }
    EXPECT_GT(tight, 0u);  // some pieces fell inside one region
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RayBounds, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace tessera
