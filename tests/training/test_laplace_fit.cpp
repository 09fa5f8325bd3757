// Fitting the last-layer Laplace posterior: G against the finite-difference
// Hessian of the summed cross-entropy, the Kronecker factors against their
// definition, the choice of the prior precision, and bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "training/laplace_fit.hpp"

using namespace tessera;
using namespace tessera::training;

namespace {

// A small data set of n points in 3-D with k classes (seeded), as tensors.
Dataset small_data(int n, int classes, std::uint64_t seed) {
  Dataset d;
  d.name = "test";
  d.shape = Shape{3};
  d.classes = classes;
  SeededRandom r(seed);
  d.train_x = torch::empty({n, 3}, torch::kFloat32);
  d.train_y = torch::empty({n}, torch::kInt64);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) d.train_x[i][j] = static_cast<float>(r.uniform(-1, 1));
    d.train_y[i] = static_cast<std::int64_t>(r.next() % classes);
  }
  d.test_x = d.train_x;
  d.test_y = d.train_y;
  return d;
}

// Summed cross-entropy of the last layer with parameters theta (class-major
// [w_k; b_k]) over features phi (rows) and labels y.
double loss(const Vector& theta, const Matrix& phi, const std::vector<int>& y, int K) {
  const Eigen::Index H = phi.cols();
  double total = 0;
  for (Eigen::Index n = 0; n < phi.rows(); ++n) {
    Vector f(K);
    for (int k = 0; k < K; ++k) f[k] = theta.segment(k * (H + 1), H).dot(phi.row(n).transpose()) + theta[k * (H + 1) + H];
    const double top = f.maxCoeff();
    total += top + std::log((f.array() - top).exp().sum()) - f[y[n]];
  }
  return total;
}

// The Hessian of loss() at the last layer's own parameters, by central
// differences (step 1e-4).
Matrix fd_hessian(const Node& last, const Matrix& phi, const std::vector<int>& y, int K) {
  const Eigen::Index H = last.weight.cols(), P = K * (H + 1);
  Vector theta(P);
  for (int k = 0; k < K; ++k) {
    theta.segment(k * (H + 1), H) = last.weight.row(k).transpose();
    theta[k * (H + 1) + H] = last.bias[k];
  }
  const double h = 1e-4;
  Matrix fd(P, P);
  for (Eigen::Index i = 0; i < P; ++i)
    for (Eigen::Index j = 0; j < P; ++j) {
      auto at = [&](double si, double sj) {
        Vector t = theta;
        t[i] += si * h;
        t[j] += sj * h;
        return loss(t, phi, y, K);
      };
      fd(i, j) = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h);
    }
  return fd;
}

TEST(LaplaceFit, FullPrecisionIsTheHessianOfTheLossPlusThePrior) {
  const int K = 3, N = 40;
  const Network net = random_mlp(3, {5}, K, 4);
  const Dataset d = small_data(N, K, 9);
  LaplaceFitOptions o;
  o.structure = "full";
  o.prior_precisions = {0.5};
  o.validation_fraction = 0;
  o.device = "cpu";
  o.batch = 7;  // several batches
  const LaplaceFitResult r = fit_laplace(net, d, o);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.fit_points, N);
  EXPECT_EQ(r.head.structure, LaplaceHead::Structure::Full);
  const Matrix precision = r.head.covariance.inverse() - 0.5 * Matrix::Identity(r.head.covariance.rows(), r.head.covariance.rows());

  // The Hessian by central differences of the loss, from the core's features.
  const Network features = last_layer_features(net);
  const Eigen::Index H = features.output_size();
  Matrix phi(N, H);
  std::vector<int> y(N);
  for (int n = 0; n < N; ++n) {
    Vector x(3);
    for (int j = 0; j < 3; ++j) x[j] = d.train_x[n][j].item<float>();
    phi.row(n) = logits(features, x).transpose();
    y[n] = static_cast<int>(d.train_y[n].item<std::int64_t>());
  }
  const Node& last = net.nodes.back();
  const Matrix fd = fd_hessian(last, phi, y, K);
  EXPECT_LT((precision - fd).cwiseAbs().maxCoeff(), 1e-5 * fd.cwiseAbs().maxCoeff())
      << "max |G - FD| = " << (precision - fd).cwiseAbs().maxCoeff();
}

TEST(LaplaceFit, KroneckerFactorsFollowTheirDefinition) {
  const int K = 3, N = 60;
  const Network net = random_mlp(3, {6}, K, 5);
  const Dataset d = small_data(N, K, 10);
  LaplaceFitOptions o;
  o.structure = "kronecker";
  o.prior_precisions = {2.0};
  o.validation_fraction = 0;
  o.device = "cpu";
  const LaplaceFitResult r = fit_laplace(net, d, o);
  ASSERT_TRUE(r.complete);
  const Network features = last_layer_features(net);
  const Eigen::Index H = features.output_size();
  const Node& last = net.nodes.back();
  Matrix A = Matrix::Zero(K, K), B = Matrix::Zero(H + 1, H + 1);
  for (int n = 0; n < N; ++n) {
    Vector x(3);
    for (int j = 0; j < 3; ++j) x[j] = d.train_x[n][j].item<float>();
    Vector t(H + 1);
    t << logits(features, x), 1;
    const Vector p = softmax(last.weight * t.head(H) + last.bias);
    A += Matrix(p.asDiagonal()) - p * p.transpose();
    B += t * t.transpose();
  }
  const double rn = std::sqrt(static_cast<double>(N)), rt = std::sqrt(2.0);
  const Matrix U = (A / rn + rt * Matrix::Identity(K, K)).inverse();
  const Matrix V = (B / rn + rt * Matrix::Identity(H + 1, H + 1)).inverse();
  EXPECT_LT((r.head.class_covariance - U).cwiseAbs().maxCoeff(), 1e-10 * U.cwiseAbs().maxCoeff());
  EXPECT_LT((r.head.feature_covariance - V).cwiseAbs().maxCoeff(), 1e-10 * V.cwiseAbs().maxCoeff());
}

// With a single point the Kronecker factorisation is exact: Lambda (x)
// phi~ phi~' is a Kronecker product. So the factors without their prior,
// multiplied, are the finite-difference Hessian of that point's loss.
TEST(LaplaceFit, KroneckerFactorsOfOnePointGiveTheExactHessian) {
  const int K = 3;
  const Network net = random_mlp(3, {4}, K, 8);
  const Dataset d = small_data(1, K, 12);
  LaplaceFitOptions o;
  o.structure = "kronecker";
  o.prior_precisions = {1e-2};
  o.validation_fraction = 0;
  o.device = "cpu";
  const LaplaceFitResult r = fit_laplace(net, d, o);
  ASSERT_TRUE(r.complete);
  const double rt = 0.1;  // sqrt(tau)
  const Matrix A = r.head.class_covariance.inverse() - rt * Matrix::Identity(K, K);
  const Eigen::Index n = r.head.feature_covariance.rows();
  const Matrix B = r.head.feature_covariance.inverse() - rt * Matrix::Identity(n, n);
  Matrix kron(K * n, K * n);
  for (int k = 0; k < K; ++k)
    for (int l = 0; l < K; ++l) kron.block(k * n, l * n, n, n) = A(k, l) * B;
  const Network features = last_layer_features(net);
  Vector x(3);
  for (int j = 0; j < 3; ++j) x[j] = d.train_x[0][j].item<float>();
  const Matrix phi = logits(features, x).transpose();
  const std::vector<int> y{static_cast<int>(d.train_y[0].item<std::int64_t>())};
  const Node& last = net.nodes.back();
  const Matrix fd = fd_hessian(last, phi, y, K);
  EXPECT_LT((kron - fd).cwiseAbs().maxCoeff(), 1e-5 * fd.cwiseAbs().maxCoeff());
}

TEST(LaplaceFit, ChoosesThePriorPrecisionWithTheSmallestValidationNll) {
  const Network net = random_mlp(3, {6}, 3, 6);
  const Dataset d = small_data(200, 3, 11);
  LaplaceFitOptions o;
  o.device = "cpu";
  o.prior_precisions = {0.01, 1, 100, 1e4};
  const LaplaceFitResult r = fit_laplace(net, d, o);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.validation_points, 20);
  EXPECT_EQ(r.fit_points, 180);
  ASSERT_EQ(r.grid.size(), 4u);
  double best = 1e300, tau = 0;
  for (const auto& p : r.grid) {
    EXPECT_DOUBLE_EQ(p.objective, p.nll + 0.25 * p.noise);
    if (p.objective < best) best = p.objective, tau = p.prior_precision;
  }
  EXPECT_EQ(r.head.prior_precision, tau);
  EXPECT_DOUBLE_EQ(r.chosen.objective, best);
  // Large prior precisions approach the network's own softmax.
  EXPECT_NEAR(r.grid.back().nll, r.map_nll, 0.05 * r.map_nll);
  EXPECT_NEAR(r.grid.back().noise, r.map_noise, 0.05 * r.map_noise);
  // More weight on the noise term never picks a prior precision with a larger
  // noise term (the two minimisers' objectives compared both ways).
  LaplaceFitOptions heavy = o;
  heavy.ood_weight = 10;
  EXPECT_LE(fit_laplace(net, d, heavy).chosen.noise, r.chosen.noise + 1e-12);
  // The same seed gives the same split and fit.
  const LaplaceFitResult again = fit_laplace(net, d, o);
  EXPECT_EQ(again.head.covariance, r.head.covariance);
}

TEST(LaplaceFit, BadInputIsRefused) {
  const Network net = random_mlp(3, {6}, 3, 6);
  LaplaceFitOptions o;
  o.device = "cpu";
  auto message = [&](const Dataset& d, const LaplaceFitOptions& opts) -> std::string {
    try {
      fit_laplace(net, d, opts);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message(small_data(50, 4, 1), o).find("has 3 outputs but test has 4 classes"), std::string::npos);
  LaplaceFitOptions v = o;
  v.validation_fraction = 0;
  EXPECT_NE(message(small_data(50, 3, 1), v).find("--validation 0 needs a single --prior-precision"), std::string::npos);
  LaplaceFitOptions s = o;
  s.structure = "diagonal";
  EXPECT_NE(message(small_data(50, 3, 1), s).find("--structure 'diagonal'"), std::string::npos);
  LaplaceFitOptions t = o;
  t.prior_precisions = {-1};
  EXPECT_NE(message(small_data(50, 3, 1), t).find("positive number"), std::string::npos);
  LaplaceFitOptions stop = o;
  stop.should_stop = [] { return true; };
  const LaplaceFitResult r = fit_laplace(net, small_data(50, 3, 1), stop);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.stop_reason, kStopRequested);
}

}  // namespace
