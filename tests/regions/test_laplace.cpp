// Last-layer Laplace: the predictive, its exact limit along rays, the
// distance to the limit, the certificate's Laplace block and the ONNX
// storage. Evidence: a hand-solved network, direct evaluation of the
// predictive at alpha = 1e3 ... 1e8 through the forward pass, posterior
// samples (Monte Carlo), and byte-level round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "core/laplace.hpp"
#include "core/noise.hpp"
#include "io/laplace_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/certificate.hpp"
#include "regions/certify_set.hpp"
#include "regions/laplace_limit.hpp"

namespace tessera {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A random symmetric positive definite n x n matrix of scale `scale`.
Matrix random_spd(Eigen::Index n, std::uint64_t seed, double scale) {
  SeededRandom r(seed);
  Matrix m(n, n);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = r.uniform(-1, 1);
  Matrix s = m * m.transpose() / static_cast<double>(n) + 0.05 * Matrix::Identity(n, n);
  return scale * (s + s.transpose()) / 2;
}

LaplaceModel random_model(std::uint64_t seed, bool kronecker, double scale = 0.5, int classes = 3) {
  const Network net = random_mlp(5, {8, 6}, classes, seed);
  LaplaceHead h;
  const Eigen::Index H = net.nodes.back().weight.cols();
  if (kronecker) {
    h.structure = LaplaceHead::Structure::Kronecker;
    h.class_covariance = random_spd(classes, seed + 1, 1.0);
    h.feature_covariance = random_spd(H + 1, seed + 2, scale);
  } else {
    h.covariance = random_spd(classes * (H + 1), seed + 1, scale);
  }
  h.prior_precision = 1.0;
  return make_laplace_model(net, h);
}

// The predictive confidence at alpha x, straight from the forward pass.
double direct_confidence(const LaplaceModel& m, const Vector& x, double alpha) {
  return laplace_predictive(m.head, logits(m.features, alpha * x)).confidence;
}

// h = relu(x - 1) in 1-D, logits = (2 h, -h + 1): along alpha * 1 the last
// region starts at alpha = 1 with phi_inf = 1, phi_0 = -1. With a diagonal
// covariance diag(s0, b0, s1, b1) over (w_0, b_0, w_1, b_1), the limit
// scores are a_k / sqrt(pi/8 s_k): 2 / sqrt(pi/8 s0) and -1 / sqrt(pi/8 s1).
TEST(Laplace, HandSolvedLimit) {
  NetworkBuilder b;
  int x = b.input(Shape{1});
  x = b.relu(b.dense(x, Matrix::Ones(1, 1), Vector::Constant(1, -1.0)));
  Matrix w(2, 1);
  w << 2, -1;
  Vector bias(2);
  bias << 0, 1;
  const Network net = b.build(b.dense(x, w, bias));
  LaplaceHead h;
  h.covariance = Vector((Vector(4) << 0.5, 0.1, 2.0, 0.3).finished()).asDiagonal();
  h.prior_precision = 1;
  const LaplaceModel m = make_laplace_model(net, h);
  const LaplaceCertificate c = laplace_certify(m, Vector::Ones(1));
  ASSERT_TRUE(c.complete) << c.stop_reason;
  EXPECT_DOUBLE_EQ(c.last_region_alpha, 1.0);
  const double z0 = 2 / std::sqrt(kPi / 8 * 0.5), z1 = -1 / std::sqrt(kPi / 8 * 2.0);
  const double expected = 1 / (1 + std::exp(z1 - z0));
  EXPECT_EQ(c.limit_class, 0);
  EXPECT_NEAR(c.limit_confidence, expected, 1e-15);
  EXPECT_NEAR(c.one_minus_limit_confidence, 1 - expected, 1e-15);
  EXPECT_LT(c.limit_confidence, 1.0);
  // At the input: phi = relu(0) = 0, so the means are the biases and the
  // variances the bias variances.
  const double s0 = 0 / std::sqrt(1 + kPi / 8 * 0.1), s1 = 1 / std::sqrt(1 + kPi / 8 * 0.3);
  EXPECT_EQ(c.predicted_class, 1);
  EXPECT_NEAR(c.confidence_at_input, 1 / (1 + std::exp(s0 - s1)), 1e-15);
  // Inside the last region the score is z_k(alpha) = (a alpha + c) / sqrt(1 + pi/8 v(alpha)).
  for (double alpha : {1.5, 10.0, 1e4})
    EXPECT_NEAR(c.confidence_at(alpha), direct_confidence(m, Vector::Ones(1), alpha), 1e-14);
}

TEST(Laplace, LimitMatchesDirectEvaluationFarAway) {
  for (bool kron : {false, true}) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      const LaplaceModel m = random_model(seed * 10, kron);
      const Matrix X = uniform_noise(5, 20, seed, -1.0, 1.0);
      for (Eigen::Index i = 0; i < X.cols(); ++i) {
        const Vector x = X.col(i);
        const LaplaceCertificate c = laplace_certify(m, x);
        ASSERT_TRUE(c.complete) << c.stop_reason;
        EXPECT_LT(c.limit_confidence, 1.0);
        EXPECT_GT(c.one_minus_limit_confidence, 0.0);
        double previous = std::numeric_limits<double>::infinity();
        for (double alpha : {1e3, 1e4, 1e5, 1e6, 1e7, 1e8}) {
          if (alpha < c.last_region_alpha) continue;
          const double direct = direct_confidence(m, x, alpha);
          // The two ways of computing the same number (formula, forward pass).
          EXPECT_NEAR(c.confidence_at(alpha), direct, 1e-9) << "seed " << seed << " input " << i << " alpha " << alpha;
          // Far out the gap closes at least like 1/alpha.
          const double scaled_gap = alpha * std::abs(direct - c.limit_confidence);
          if (alpha >= 1e7) EXPECT_LE(scaled_gap, 2 * previous + 1e-6) << "alpha " << alpha;
          previous = scaled_gap;
        }
        EXPECT_LT(std::abs(direct_confidence(m, x, 1e8) - c.limit_confidence), 1e-5);
      }
    }
  }
}

// Inputs of any size: the limit depends only on the direction of x, and
// x = 1e-200 u or 1e200 u still gives every field (the work is done along
// u / 2^e, as the certificate does).
TEST(Laplace, ExtremeInputScales) {
  const LaplaceModel m = random_model(21, true);
  const Matrix X = uniform_noise(5, 10, 4, -1.0, 1.0);
  for (Eigen::Index i = 0; i < X.cols(); ++i) {
    const LaplaceCertificate ref = laplace_certify(m, X.col(i));
    ASSERT_TRUE(ref.complete);
    for (double scale : {1e-200, 1e-150, 1e150, 1e200}) {
      LaplaceRayOptions o;
      o.alpha0 = 1e-6 / scale;  // the same ray
      const LaplaceCertificate c = laplace_certify(m, (X.col(i) * scale).eval(), o);
      ASSERT_TRUE(c.complete) << "scale " << scale << ": " << c.stop_reason;
      EXPECT_NEAR(c.limit_confidence, ref.limit_confidence, 1e-12) << "scale " << scale;
      EXPECT_EQ(c.limit_class, ref.limit_class);
      EXPECT_GE(c.predicted_class, 0);
      EXPECT_GT(c.confidence_at_input, 0.0);
      // The same ray: its alphas scale by 1/scale.
      EXPECT_NEAR(*c.alpha_within * scale, *ref.alpha_within, 1e-9 * *ref.alpha_within) << "scale " << scale;
      EXPECT_NEAR(c.last_region_alpha * scale, ref.last_region_alpha, 1e-12 * ref.last_region_alpha);
      EXPECT_NEAR(c.confidence_at(1e6 / scale), ref.confidence_at(1e6), 1e-9);
      // The predictive on the line 0 + t x' (x' = scale x): the same numbers.
      const Vector xs = X.col(i) * scale, zero = Vector::Zero(5);
      EXPECT_NEAR(laplace_predictive_on_line(m, zero, xs, std::numeric_limits<double>::infinity()).confidence,
                  ref.limit_confidence, 1e-12);
      EXPECT_NEAR(laplace_predictive_on_line(m, zero, xs, 1e6 / scale).confidence, ref.confidence_at(1e6), 1e-9);
    }
  }
}

TEST(Laplace, AlphaWithinIsWhereTheConfidenceSettles) {
  std::mt19937_64 rng(7);
  int interior = 0, below_last = 0;
  for (bool kron : {false, true}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      const LaplaceModel m = random_model(seed * 7 + 3, kron, 2.0);
      const Matrix X = uniform_noise(5, 20, seed + 100, -1.0, 1.0);
      for (Eigen::Index i = 0; i < X.cols(); ++i) {
        const Vector x = X.col(i);
        const LaplaceCertificate c = laplace_certify(m, x);
        ASSERT_TRUE(c.complete) << c.stop_reason;
        ASSERT_TRUE(c.alpha_within.has_value());
        const double a = *c.alpha_within;
        ASSERT_GE(a, 1e-6);
        // Dense sampling above alpha_within: always within the tolerance.
        std::uniform_real_distribution<double> u(0, 12);
        for (int k = 0; k < 400; ++k) {
          const double alpha = a * std::pow(10.0, u(rng));
          EXPECT_LE(std::abs(direct_confidence(m, x, alpha) - c.limit_confidence), c.tolerance + 1e-9)
              << "alpha " << alpha << " above alpha_within " << a;
        }
        if (!c.within_from_start) {
          ++interior;
          // At alpha_within the distance is the tolerance (it is where it is
          // crossed last), and just below it the tolerance is exceeded.
          EXPECT_NEAR(std::abs(direct_confidence(m, x, a) - c.limit_confidence), c.tolerance, 1e-6);
          EXPECT_GT(std::abs(direct_confidence(m, x, a * (1 - 1e-6)) - c.limit_confidence), c.tolerance);
          if (a < c.last_region_alpha) ++below_last;
        }
      }
    }
  }
  EXPECT_GT(interior, 20);    // the search was exercised, not only whole rays
  EXPECT_GE(below_last, 3);   // ... and it walked down below the last region
}

// Posterior samples: the logits' mean and covariance at phi, and, far away,
// the sampled predictive's limit: P(class k wins) for the Gaussian logits
// slope a + N(0, S) with S_kl = phi_inf' Sigma_kl phi_inf (the exact limit
// of the sampled predictive, which the probit limit approximates).
TEST(Laplace, MonteCarloOverPosteriorSamples) {
  for (bool kron : {false, true}) {
    const LaplaceModel m = random_model(42, kron, 0.5, 2);
    const LaplaceHead& h = m.head;
    const Eigen::Index H = h.features(), P = 2 * (H + 1);
    Matrix cov(P, P);
    if (kron) {
      for (int k = 0; k < 2; ++k)
        for (int l = 0; l < 2; ++l) cov.block(k * (H + 1), l * (H + 1), H + 1, H + 1) = h.class_covariance(k, l) * h.feature_covariance;
    } else {
      cov = h.covariance;
    }
    const Matrix L = cov.llt().matrixL();
    Vector mean(P);
    for (int k = 0; k < 2; ++k) {
      mean.segment(k * (H + 1), H) = h.weight.row(k).transpose();
      mean[k * (H + 1) + H] = h.bias[k];
    }
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    const Vector x = uniform_noise(5, 1, 3, -1.0, 1.0).col(0);
    const Vector phi = logits(m.features, x);
    const LaplaceCertificate c = laplace_certify(m, x);
    ASSERT_TRUE(c.complete);
    const Vector phi_far = logits(m.features, 1e8 * x);
    const int n = 200000;
    Vector sum = Vector::Zero(2);
    Matrix sum2 = Matrix::Zero(2, 2);
    double wins1 = 0, mean_soft = 0;
    Vector t(H + 1), tf(H + 1);
    t << phi, 1;
    tf << phi_far, 1;
    for (int s = 0; s < n; ++s) {
      Vector e(P);
      for (Eigen::Index i = 0; i < P; ++i) e[i] = normal(rng);
      const Vector theta = mean + L * e;
      Vector f(2), g(2);
      for (int k = 0; k < 2; ++k) {
        f[k] = theta.segment(k * (H + 1), H + 1).dot(t);
        g[k] = theta.segment(k * (H + 1), H + 1).dot(tf);
      }
      sum += f;
      sum2 += f * f.transpose();
      wins1 += g[1] > g[0];
      mean_soft += softmax(g)[c.limit_class];
    }
    const Vector mc_mean = sum / n;
    const Matrix mc_cov = sum2 / n - mc_mean * mc_mean.transpose();
    const Matrix exact_cov = h.logit_covariance(phi);
    for (int k = 0; k < 2; ++k) {
      EXPECT_NEAR(mc_mean[k], h.mean_logits(phi)[k], 5 * std::sqrt(exact_cov(k, k) / n));
      for (int l = 0; l < 2; ++l) EXPECT_NEAR(mc_cov(k, l), exact_cov(k, l), 0.02 * exact_cov.cwiseAbs().maxCoeff());
    }
    // The sampled predictive far away: class 1 wins with probability
    // Phi((a_1 - a_0) / sqrt(S_00 + S_11 - 2 S_01)).
    Vector u = Vector::Zero(H + 1);
    u.head(H) = c.feature_slope;
    const double diff_var = h.form(0, 0, u, u) + h.form(1, 1, u, u) - 2 * h.form(0, 1, u, u);
    const double p1 = 0.5 * std::erfc(-(c.mean_slope[1] - c.mean_slope[0]) / std::sqrt(2 * diff_var));
    const double se = std::sqrt(p1 * (1 - p1) / n);
    EXPECT_NEAR(wins1 / n, p1, 5 * se + 1e-4);
    const double sampled_limit = c.limit_class == 1 ? p1 : 1 - p1;
    EXPECT_NEAR(mean_soft / n, sampled_limit, 5 * se + 1e-4);
    // The probit limit approximates it (MacKay's approximation; a loose,
    // documented agreement, not an identity).
    EXPECT_NEAR(c.limit_confidence, sampled_limit, 0.1);
    EXPECT_LT(sampled_limit, 1.0);
  }
}

TEST(Laplace, CertificateCarriesTheLaplaceLimit) {
  const LaplaceModel m = random_model(3, false);
  CertifyOptions o;
  o.laplace = &m;
  const Matrix X = uniform_noise(5, 30, 9, 0.0, 1.0);
  CertifySetOptions so;
  so.certify = o;
  so.threads = 2;
  const CertifySetResult r = certify_set(m.net, X, so);
  ASSERT_EQ(r.certificates.size(), 30u);
  for (const Certificate& c : r.certificates) {
    ASSERT_TRUE(c.complete) << c.stop_reason;
    ASSERT_TRUE(c.laplace);
    EXPECT_EQ(c.laplace->last_region_hash, c.last_region_hash);
    // W phi_inf is the network's own limit slope V x.
    const Vector a = m.head.weight * c.laplace->feature_slope;
    EXPECT_LT((a - c.limit_logits).cwiseAbs().maxCoeff(), 1e-9 * std::max(1.0, c.limit_logits.cwiseAbs().maxCoeff()));
    EXPECT_NEAR(c.laplace->last_region_alpha, c.last_region_alpha, 1e-12 * std::max(1.0, c.last_region_alpha));
  }
  EXPECT_EQ(r.summary.laplace, 30u);
  EXPECT_EQ(r.summary.laplace_below_one, 30u);
  EXPECT_LT(r.summary.laplace_max_limit_confidence, 1.0);
  // Shards merge exactly.
  CertifySetSummary a = summarize({r.certificates.begin(), r.certificates.begin() + 11});
  a.merge(summarize({r.certificates.begin() + 11, r.certificates.end()}));
  EXPECT_EQ(a.laplace_below_one, r.summary.laplace_below_one);
  EXPECT_EQ(a.laplace_limit_confidence.median(), r.summary.laplace_limit_confidence.median());
}

TEST(Laplace, RoundTripThroughOnnx) {
  for (bool kron : {false, true}) {
    const LaplaceModel m = random_model(11, kron);
    Network plain = m.net;
    plain.laplace = nullptr;
    const std::string model = serialize_onnx(plain);
    const std::string with = add_laplace_head(model, m.head, "m.onnx");
    const Network net = parse_onnx(with, "m.onnx");
    EXPECT_EQ(net.nodes.size(), m.net.nodes.size());
    ASSERT_TRUE(net.laplace);
    const std::optional<LaplaceModel> back = laplace_model(net);
    EXPECT_EQ(back->head.structure, m.head.structure);
    EXPECT_EQ(back->head.covariance, m.head.covariance);
    EXPECT_EQ(back->head.class_covariance, m.head.class_covariance);
    EXPECT_EQ(back->head.feature_covariance, m.head.feature_covariance);
    EXPECT_EQ(back->head.prior_precision, m.head.prior_precision);
    EXPECT_EQ(back->head.weight, m.head.weight);
    // Adding again replaces, not duplicates.
    const std::string twice = add_laplace_head(with, m.head, "m.onnx");
    EXPECT_EQ(twice.size(), with.size());
    // A plain model has none; serialize_onnx writes the posterior back.
    EXPECT_FALSE(parse_onnx(model, "p.onnx").laplace);
    const Network again = parse_onnx(serialize_onnx(net), "again.onnx");
    ASSERT_TRUE(again.laplace);
    EXPECT_EQ(again.laplace->covariance, m.head.covariance);
    EXPECT_EQ(again.laplace->feature_covariance, m.head.feature_covariance);
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Laplace, BadPosteriorsAreRefusedWithOneLine) {
  const LaplaceModel m = random_model(12, false);
  Network plain = m.net;
  plain.laplace = nullptr;
  const std::string model = serialize_onnx(plain);
  auto load = [&](const LaplaceHead& h) {
    const std::string bytes = add_laplace_head(model, h, "m.onnx");
    return error_of([&] { parse_onnx(bytes, "m.onnx"); });
  };
  LaplaceHead h = m.head;
  h.covariance(0, 1) += 1;
  EXPECT_EQ(load(h), "m.onnx: Laplace posterior: the posterior covariance is not symmetric");
  h = m.head;
  h.covariance = -h.covariance;
  EXPECT_EQ(load(h), "m.onnx: Laplace posterior: the posterior covariance is not positive definite");
  h = m.head;
  h.covariance = Matrix::Identity(4, 4);
  EXPECT_EQ(load(h), "m.onnx: Laplace posterior: the posterior covariance is 4 x 4, expected 21 x 21");
  h = m.head;
  h.covariance(2, 2) = std::nan("");
  EXPECT_EQ(load(h), "m.onnx: initializer 'tessera.laplace.covariance' contains NaN at index 44");
  h = m.head;
  h.prior_precision = 0;
  EXPECT_EQ(load(h), "m.onnx: Laplace posterior: the prior precision must be a positive number");
  {
    // Loading without the posterior still works (tessera laplace refits such a model).
    const std::string bytes = add_laplace_head(model, h, "m.onnx");
    OnnxLoadOptions skip;
    skip.read_laplace = false;
    EXPECT_FALSE(parse_onnx(bytes, "m.onnx", skip).laplace);
  }
  // A last layer that is not dense.
  NetworkBuilder b;
  const int x = b.input(Shape{2});
  const Network relu_last = b.build(b.relu(b.dense(x, Matrix::Identity(2, 2), Vector::Zero(2), "fc")), false, "r.onnx");
  EXPECT_EQ(error_of([&] { last_layer_features(relu_last); }),
            "r.onnx: the last layer '" + relu_last.nodes.back().name + "' is ReLU, but a Laplace posterior needs a dense "
            "last layer (Gemm/MatMul)");
  EXPECT_EQ(error_of([&] { load_laplace_model(std::string(TESSERA_SOURCE_DIR) + "/data/models/toy2d.onnx"); }),
            std::string(TESSERA_SOURCE_DIR) + "/data/models/toy2d.onnx: has no Laplace posterior (fit one with: tessera "
            "laplace " + TESSERA_SOURCE_DIR + "/data/models/toy2d.onnx --data ...)");
}

// The shipped MNIST model's Laplace version (data/fit_laplace_examples.sh):
// every ray of 1000 uniform-noise images has a limit confidence below 1,
// and the predictive confidence evaluated directly far out agrees with it.
TEST(Laplace, ShippedMnistModelLimitsBelowOneOnNoise) {
  const LaplaceModel m = load_laplace_model(std::string(TESSERA_SOURCE_DIR) + "/data/models/trained/mnist_plain.laplace.onnx");
  EXPECT_EQ(m.head.structure, LaplaceHead::Structure::Kronecker);
  const Matrix X = uniform_noise(m.net.input_size(), 1000, 1, 0.0, 1.0);
  CertifyOptions o;
  o.laplace = &m;
  o.limit_only = true;
  CertifySetOptions so;
  so.certify = o;
  const CertifySetResult r = certify_set(m.net, X, so);
  ASSERT_EQ(r.certificates.size(), 1000u);
  EXPECT_EQ(r.summary.laplace_complete, 1000u);
  EXPECT_EQ(r.summary.laplace_below_one, 1000u);
  EXPECT_LT(r.summary.laplace_max_limit_confidence, 1.0);
  for (const Certificate& c : r.certificates) {
    ASSERT_TRUE(c.laplace && c.laplace->complete) << c.stop_reason;
    const Vector x = X.col(c.input);
    EXPECT_LT(std::abs(direct_confidence(m, x, 1e8) - c.laplace->limit_confidence), 1e-5) << "input " << c.input;
    const double far = std::max(1e4, c.laplace->last_region_alpha * 2);
    EXPECT_NEAR(c.laplace->confidence_at(far), direct_confidence(m, x, far), 1e-9) << "input " << c.input;
    EXPECT_NEAR(c.laplace->confidence_at_input, direct_confidence(m, x, 1.0), 1e-12);
  }
}

}  // namespace
}  // namespace tessera
