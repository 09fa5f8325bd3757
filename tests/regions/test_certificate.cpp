// The certificate of Theorem 3.1: last region, limit class, alpha*, box.
#include <gtest/gtest.h>
#include <algorithm>
#include <random>

#include <limits>

#include <cmath>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/noise.hpp"
#include "regions/certificate.hpp"
#include "regions/certify_set.hpp"
#include "regions/segment_confidence.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

double conf(const Network& net, const Vector& x, double alpha) { return softmax(logits(net, alpha * x)).maxCoeff(); }

// h = relu(x - 1) in 1-D, logits = (h, 0): the ray alpha * 1 enters its last
// region at alpha = 1, where logits = (alpha - 1, 0). conf >= t <=>
// alpha - 1 >= log(t / (1 - t)), so alpha* = 1 + log(t / (1 - t)).
TEST(Certificate, HandSolvedOneDimensionalNetwork) {
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.relu(b.dense(x, Matrix::Ones(1, 1), Vector::Constant(1, -1.0)));
  Matrix w(2, 1);
  w << 1, 0;
  const Network net = b.build(b.dense(x, w, Vector::Zero(2)));
  CertifyOptions o;
  o.threshold = 0.99;
  const Certificate c = certify(net, Vector::Ones(1), o);
  ASSERT_TRUE(c.complete);
  o.full = true;
  EXPECT_EQ(certify(net, Vector::Ones(1), o).segments, 2u);
  EXPECT_DOUBLE_EQ(c.last_region_alpha, 1.0);
  EXPECT_EQ(c.limit_class, 0);
  EXPECT_EQ(c.limit_confidence, 1.0);
  const double expected = 1 + std::log(0.99 / 0.01);
  ASSERT_TRUE(c.alpha_star.has_value());
  EXPECT_NEAR(*c.alpha_star, expected, 1e-12);
  EXPECT_NEAR(*c.first_alpha, expected, 1e-12);
  EXPECT_EQ(c.predicted_class, 0);  // at alpha = 1 both logits are 0: the first class wins the tie
}

TEST(Certificate, StaysFiniteForAlphaUpTo1e300) {
  // relu(1e-150 x - 1e140) switches at 1e290; logits (h, 0).
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.relu(b.dense(x, Matrix::Constant(1, 1, 1e-150), Vector::Constant(1, -1e140)));
  Matrix w(2, 1);
  w << 1, 0;
  const Network net = b.build(b.dense(x, w, Vector::Zero(2)));
  CertifyOptions o;
  o.threshold = 0.999;
  const Certificate c = certify(net, Vector::Ones(1), o);
  ASSERT_TRUE(c.complete);
  EXPECT_NEAR(c.last_region_alpha / 1e290, 1.0, 1e-14);
  ASSERT_TRUE(c.alpha_star.has_value());
  // conf >= t  <=>  1e-150 alpha - 1e140 >= log(t/(1-t)): alpha* ~ 1e290 (1 + 7e-141)
  EXPECT_NEAR(*c.alpha_star / 1e290, 1.0, 1e-14);
  EXPECT_TRUE(std::isfinite(*c.alpha_star));
  EXPECT_GE(confidence_at(Eigen::Vector2d(-1e140, 0), Eigen::Vector2d(1e-150, 0), 1e300), 0.999);
}

// Softmax along a ray from logit differences: finite, summing to 1 and
// monotone up to t = 1e300 (the app's probability bars use it).
TEST(SegmentConfidence, SoftmaxAlongARayIsMonotoneToTheEnd) {
  // Class 0 wins for every t > 0 (largest c and w), class 1 loses only by a
  // slope of 1e-13, class 2 has the smallest slope: p_0 rises, p_2 falls.
  const Eigen::Vector3d c(1.0, -2.0, 0.3), w(1.0, 1.0 - 1e-13, 0.5);
  double previous_conf = 0, previous_p2 = 1;
  for (int e = -6; e <= 300; ++e) {
    for (double m : {1.0, 2.5, 7.0}) {
      const double t = m * std::pow(10.0, e);
      if (!std::isfinite(t)) continue;
      const Vector p = softmax_at(c, w, t);
      ASSERT_TRUE(p.allFinite()) << t;
      EXPECT_NEAR(p.sum(), 1.0, 1e-12) << t;
      const double conf = confidence_at(c, w, t);
      EXPECT_GE(conf, previous_conf) << "confidence decreased at t = " << t;
      EXPECT_LE(p[2], previous_p2) << t;
      EXPECT_NEAR(p.maxCoeff(), conf, 1e-12 * conf) << t;
      previous_conf = conf;
      previous_p2 = p[2];
    }
  }
  EXPECT_EQ(previous_conf, 1.0);
  // Overflowed logits share the probability instead of giving NaN.
  const Vector inf = softmax(Eigen::Vector3d(std::numeric_limits<double>::infinity(), 1.0,
                                             std::numeric_limits<double>::infinity()));
  EXPECT_EQ(inf, Eigen::Vector3d(0.5, 0, 0.5));
}

TEST(Certificate, TiedLimitSharesTheConfidence) {
  // Zero biases and two identical output rows: logits tie for every alpha.
  NetworkBuilder b;
  int x = b.input(Shape{2});
  x = b.relu(b.dense(x, Matrix::Identity(2, 2), Vector::Zero(2)));
  Matrix w(3, 2);
  w << 1, 1, 1, 1, 0, 0;
  const Network net = b.build(b.dense(x, w, Vector::Zero(3)));
  const Certificate c = certify(net, Eigen::Vector2d(1, 2), CertifyOptions{});
  ASSERT_TRUE(c.complete);
  EXPECT_EQ(c.limit_ties, 2);
  EXPECT_DOUBLE_EQ(c.limit_confidence, 0.5);
  EXPECT_FALSE(c.alpha_star.has_value());  // 0.5 < 0.999: never certain
  // A zero-bias network is positively homogeneous: one region along the ray.
  EXPECT_EQ(c.segments, 1u);
  EXPECT_EQ(c.last_region_alpha, CertifyOptions{}.alpha0);
}

TEST(Certificate, BoxExitAndConfidenceInside) {
  const Network net = random_mlp(3, {8}, 2, 5);
  CertifyOptions o;
  o.has_box = true;
  const Vector x = Eigen::Vector3d(0.5, 0.25, 0.125);
  const Certificate c = certify(net, x, o);
  ASSERT_TRUE(c.box_exit_alpha.has_value());
  EXPECT_DOUBLE_EQ(*c.box_exit_alpha, 2.0);  // 2 * 0.5 = 1
  ASSERT_TRUE(c.max_confidence_in_box.has_value());
  // Dense check of the maximum over the part of the ray in the box.
  double best = 0;
  for (int k = 0; k <= 20000; ++k) best = std::max(best, conf(net, x, o.alpha0 + (2.0 - o.alpha0) * k / 20000));
  EXPECT_GE(*c.max_confidence_in_box, best - 1e-12);
  EXPECT_LE(*c.max_confidence_in_box, best + 1e-6);
  // A negative entry with the box [0, 1]: the ray is never inside.
  const Certificate outside = certify(net, Eigen::Vector3d(0.5, -0.1, 0.2), o);
  EXPECT_FALSE(outside.box_exit_alpha.has_value());
}

class RandomRays : public ::testing::TestWithParam<int> {};

TEST_P(RandomRays, LimitMatchesTheBiasFreeNetworkAndAlphaStarHolds) {
  for (const auto& [name, net] : test::random_networks_of_every_kind(800 + GetParam())) {
    SCOPED_TRACE(name);
    SeededRandom rng(GetParam());
    const Vector x = test::random_input(net, rng);
    CertifyOptions o;
    o.threshold = 0.9;
    const Certificate c = certify(net, x, o);
    ASSERT_TRUE(c.complete);
    // f(alpha x) / alpha -> g(x), g = the network without biases.
    const Vector g = logits(bias_free(net), x);
    EXPECT_LT(test::relative_error(c.limit_logits, g), 1e-9);
    Eigen::Index gk;
    g.maxCoeff(&gk);
    // Deep in the last region the network is exactly alpha V x + a.
    const double far = std::max(10.0, 10 * c.last_region_alpha);
    EXPECT_LT(test::relative_error(logits(net, far * x), far * c.limit_logits + c.last_region_offset), 1e-9);
    const int ties = static_cast<int>((g.array() == g.maxCoeff()).count());
    if (ties > 1) {
      // A saturating network (Clip units constant far out): the classes
      // tied in g share the limit by their offsets a, so the confidence
      // tends to exp(a_k) / sum over the tied classes of exp(a_j) < 1.
      EXPECT_EQ(c.limit_ties, ties);
      double sum = 0, top = -1e300;
      for (Eigen::Index k = 0; k < g.size(); ++k)
        if (g[k] == g.maxCoeff()) {
          sum += std::exp(c.last_region_offset[k]);
          top = std::max(top, c.last_region_offset[k]);
        }
      EXPECT_NEAR(c.limit_confidence, std::exp(top) / sum, 1e-12);
      EXPECT_NEAR(conf(net, x, 1e3 * far), c.limit_confidence, 1e-9);
      EXPECT_EQ(c.alpha_star.is_never(), c.limit_confidence < o.threshold);
      if (c.alpha_star.is_never()) continue;
    } else {
      EXPECT_EQ(c.limit_class, gk);
      EXPECT_EQ(c.limit_confidence, 1.0);
    }
    // alpha*: conf >= t at alpha*, 2 alpha*, 1e6 alpha*; below t just before.
    ASSERT_TRUE(c.alpha_star.has_value());
    const double a = *c.alpha_star;
    for (double f : {1.0, 2.0, 1e6}) EXPECT_GE(conf(net, x, f * a), o.threshold * (1 - 1e-12)) << f;
    if (a > o.alpha0) {
      EXPECT_LT(conf(net, x, a * (1 - 1e-4)), o.threshold);
    }
    ASSERT_TRUE(c.first_alpha.has_value());
    EXPECT_LE(*c.first_alpha, a);
    EXPECT_GE(conf(net, x, *c.first_alpha), o.threshold * (1 - 1e-12));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomRays, ::testing::Values(1, 2, 3));

TEST(CertifySet, SummaryOfUniformNoise) {
  const Network net = random_mlp(4, {16, 16}, 3, 9);
  CertifySetOptions o;
  o.certify.threshold = 0.99;
  std::size_t last_done = 0;
  o.progress = [&](std::size_t done, std::size_t) { last_done = done; };
  const Matrix X = uniform_noise(4, 50, 1);
  const CertifySetResult result = certify_set(net, X, o);
  const auto& certs = result.certificates;
  ASSERT_EQ(certs.size(), 50u);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.requested, 50u);
  EXPECT_EQ(last_done, 50u);
  const CertifySetSummary& s = result.summary;
  EXPECT_EQ(s.count, 50u);
  EXPECT_EQ(s.complete, 50u);
  EXPECT_LT(s.max_bias_free_residual, 1e-9);
  std::vector<double> a;
  for (const auto& c : certs) {
    EXPECT_EQ(c.segments, certify(net, X.col(&c - certs.data()), o.certify).segments);
    if (c.alpha_star) a.push_back(*c.alpha_star);
  }
  ASSERT_EQ(a.size(), s.alpha_star.count());
  std::sort(a.begin(), a.end());
  const double med = a.size() % 2 ? a[a.size() / 2] : 0.5 * (a[a.size() / 2 - 1] + a[a.size() / 2]);
  EXPECT_DOUBLE_EQ(s.alpha_star.median(), med);
  // Summaries of shards, merged, equal the summary of the whole set.
  for (size_t cut : {size_t{0}, size_t{17}, size_t{50}}) {
    CertifySetSummary left = summarize({certs.begin(), certs.begin() + cut});
    left.merge(summarize({certs.begin() + cut, certs.end()}));
    EXPECT_EQ(left.count, s.count);
    EXPECT_EQ(left.complete, s.complete);
    EXPECT_EQ(left.last_region_found, s.last_region_found);
    EXPECT_EQ(left.limit_is_prediction, s.limit_is_prediction);
    EXPECT_EQ(left.segment_histogram, s.segment_histogram);
    EXPECT_EQ(left.alpha_star.count(), s.alpha_star.count());
    EXPECT_EQ(left.alpha_star.median(), s.alpha_star.median());
    EXPECT_EQ(left.regions_visited.median(), s.regions_visited.median());
    EXPECT_EQ(left.limit_confidence.mean(), s.limit_confidence.mean());  // the sum is exact
  }
}

// Distribution: exact quantiles while small, a log-bucket sketch beyond
// kExactLimit whose quantiles are within its stated relative error, and
// merging in any split gives the same quantiles as adding everything.
TEST(Distribution, ExactThenSketchedAndMergeable) {
  Distribution d;
  EXPECT_TRUE(std::isnan(d.median()));
  for (double x : {5.0, 1.0, 3.0, 2.0}) d.add(x);
  d.add(std::nan(""));  // not counted
  EXPECT_EQ(d.count(), 4u);
  EXPECT_EQ(d.median(), 2.5);
  EXPECT_EQ(d.quantile(0), 1.0);
  EXPECT_EQ(d.quantile(1), 5.0);
  EXPECT_EQ(d.mean(), 2.75);
  // Beyond the exact limit: n values of a known distribution (x = 1.001^i
  // and their negatives), whose true quantiles are known.
  const std::size_t n = Distribution::kExactLimit + 5000;
  std::vector<double> all;
  for (std::size_t i = 0; i < n; ++i) all.push_back((i % 3 == 0 ? -1.0 : 1.0) * std::pow(1.0001, double(i)));
  Distribution whole, a, b;
  for (std::size_t i = 0; i < n; ++i) {
    whole.add(all[i]);
    (i % 2 ? a : b).add(all[i]);
  }
  EXPECT_FALSE(whole.exact());
  a.merge(b);
  std::sort(all.begin(), all.end());
  const double tolerance = std::exp2(1.0 / Distribution::kBucketsPerOctave) - 1;
  for (double q : {0.1, 0.25, 0.5, 0.9, 0.999}) {
    const double truth = all[static_cast<std::size_t>(q * double(n - 1))];
    EXPECT_NEAR(whole.quantile(q), truth, tolerance * std::fabs(truth)) << q;
    EXPECT_EQ(a.quantile(q), whole.quantile(q)) << q;
  }
  EXPECT_EQ(a.count(), whole.count());
  EXPECT_EQ(a.min(), all.front());
  EXPECT_EQ(a.max(), all.back());
}

// ExactSum: exact whatever the order, the split or the magnitudes, and
// rounded once; checked against sums known by hand and integer arithmetic.
TEST(ExactSum, ExactInAnyOrderAndRoundedOnce) {
  auto sum_of = [](const std::vector<double>& v) {
    ExactSum s;
    for (double x : v) s.add(x);
    return s.value();
  };
  // Cancellation a plain double sum loses entirely.
  EXPECT_EQ(sum_of({1e100, 1.0, -1e100}), 1.0);
  EXPECT_EQ(sum_of({1.0, 1e300, 1e-300, -1e300}), 1.0);
  // Two halves of an ulp: the plain sum stays at 1, the exact one does not.
  EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -53), std::ldexp(1.0, -53)}), 1.0 + std::ldexp(1.0, -52));
  // Rounding once: 1 + 2^-53 + 2^-80 lies just above the midpoint and rounds up.
  EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -53), std::ldexp(1.0, -80)}), 1.0 + std::ldexp(1.0, -52));
  EXPECT_EQ(sum_of({-1.0, -std::ldexp(1.0, -53), -std::ldexp(1.0, -80)}), -1.0 - std::ldexp(1.0, -52));
  EXPECT_EQ(sum_of({std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::denorm_min()}),
            2 * std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(sum_of({std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(), 3.0}), 3.0);
  EXPECT_EQ(sum_of({}), 0.0);
  // Multiples of 2^-20 of mixed sign: the exact sum is an integer count of 2^-20.
  std::mt19937_64 rng(7);
  std::vector<double> v;
  std::int64_t units = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t k = static_cast<std::int64_t>(rng() % 2000001) - 1000000;
    units += k;
    v.push_back(std::ldexp(static_cast<double>(k), -20));
  }
  const double whole = sum_of(v);
  EXPECT_EQ(whole, std::ldexp(static_cast<double>(units), -20));
  // Any order, any split, through the byte encoding: the same sum.
  std::shuffle(v.begin(), v.end(), rng);
  EXPECT_EQ(sum_of(v), whole);
  ExactSum a, b;
  for (std::size_t i = 0; i < v.size(); ++i) (i < 777 ? a : b).add(v[i]);
  ByteWriter w;
  b.write(w);
  ByteReader r(w.bytes());
  a.merge(ExactSum::read(r));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(a.value(), whole);
}

// Distributions sent as bytes come back equal, field for field; a cut
// buffer is refused with an error rather than read past its end.
TEST(Distribution, ByteEncodingRoundTrips) {
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, Distribution::kExactLimit + 10}) {
    Distribution d;
    for (std::size_t i = 0; i < n; ++i) d.add(std::sin(double(i)) * 1e3);
    ByteWriter w;
    d.write(w);
    ByteReader r(w.bytes());
    const Distribution e = Distribution::read(r);
    EXPECT_TRUE(r.done());
    EXPECT_EQ(e.count(), d.count());
    EXPECT_EQ(e.exact(), d.exact());
    if (n) {
      EXPECT_EQ(e.sum(), d.sum());
      EXPECT_EQ(e.min(), d.min());
      EXPECT_EQ(e.max(), d.max());
      for (double q : {0.0, 0.3, 0.5, 0.99, 1.0}) EXPECT_EQ(e.quantile(q), d.quantile(q));
    }
    const std::string cut = w.bytes().substr(0, w.bytes().size() / 2);
    ByteReader short_reader(cut);
    EXPECT_THROW(Distribution::read(short_reader), Error);
  }
}

TEST(Certificate, BadOptionsAndInputs) {
  const Network net = random_mlp(2, {4}, 2, 1);
  auto error_of = [&](const Vector& x, CertifyOptions o) {
    try {
      certify(net, x, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CertifyOptions o;
  o.threshold = 1.0;
  EXPECT_EQ(error_of(Eigen::Vector2d(1, 1), o), "certify: the threshold must lie strictly between 0 and 1");
  o = CertifyOptions{};
  o.alpha0 = 0;
  EXPECT_EQ(error_of(Eigen::Vector2d(1, 1), o), "certify: alpha0 must be a positive finite number");
  EXPECT_EQ(error_of(Eigen::Vector2d(0, 0), CertifyOptions{}), "input: is the zero vector (or every value underflowed to 0), so the ray alpha*x does not move");
  EXPECT_EQ(error_of(Eigen::Vector3d(1, 1, 1), CertifyOptions{}), "input: has 3 values but the network expects 2");
  EXPECT_EQ(error_of(Eigen::Vector2d(1, INFINITY), CertifyOptions{}), "input: value 1 is Inf");
}

}  // namespace
}  // namespace tessera
