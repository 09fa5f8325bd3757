// The few-column kernels of core/linear_ops.cpp (one sample forward; the
// output's adjoints backward: active rows only, sparse convolution
// adjoints, both cores) against the many-column paths (im2col + GEMM,
// gathered products), which they must equal up to rounding.
#include <gtest/gtest.h>

#include "core/affine_map.hpp"
#include "core/forward.hpp"
#include "core/linear_ops.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

using test::relative_error;

// Columns of X padded with zero columns to `cols` (17 columns take the
// many-column paths).
Matrix padded(const Matrix& X, Eigen::Index cols) {
  Matrix P = Matrix::Zero(X.rows(), cols);
  P.leftCols(X.cols()) = X;
  return P;
}

// A matrix whose rows are zero with probability 1 - density.
Matrix sparse_rows(Eigen::Index rows, Eigen::Index cols, double density, SeededRandom& rng) {
  Matrix G = Matrix::Zero(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r)
    if (rng.uniform() < density)
      for (Eigen::Index k = 0; k < cols; ++k) G(r, k) = rng.uniform(-1.0, 1.0);
  return G;
}

std::vector<test::NamedNetwork> networks_with_convolutions_and_dense_layers(std::uint64_t seed) {
  std::vector<test::NamedNetwork> out = test::random_networks_of_every_kind(seed);
  out.push_back({"lenet_small", random_lenet(seed, 4, 6, 32)});
  return out;
}

class FastKernels : public ::testing::TestWithParam<int> {};

TEST_P(FastKernels, FewColumnsAgreeWithManyColumnsForEveryConvAndDenseNode) {
  SeededRandom rng(GetParam());
  for (const auto& [name, net] : networks_with_convolutions_and_dense_layers(300 + GetParam())) {
    for (size_t k = 1; k < net.nodes.size(); ++k) {
      const Node& n = net.nodes[k];
      if (n.kind != OpKind::Conv2d && n.kind != OpKind::Dense) continue;
      const std::int64_t n_in = net.nodes[n.inputs[0]].shape.size();
      for (int m : {1, 3, 4, 10, 16}) {
        // Forward (one to four columns), with some zero inputs.
        if (m <= 4) {
          const Matrix X = sparse_rows(n_in, m, 0.7, rng);
          const Matrix few = apply_linear(n, nullptr, X);
          const Matrix many = apply_linear(n, nullptr, padded(X, 17)).leftCols(m);
          EXPECT_LT(relative_error(few, many), 1e-12) << name << " node " << k << " forward, " << m << " columns";
        }
        // Adjoint, sparse (below max-pool and ReLU) and dense.
        for (double density : {0.1, 0.4, 1.0}) {
          const Matrix G = sparse_rows(n.shape.size(), m, density, rng);
          const Matrix few = apply_linear_transpose(n, nullptr, G, n_in);
          const Matrix many = apply_linear_transpose(n, nullptr, padded(G, 17), n_in).leftCols(m);
          EXPECT_LT(relative_error(few, many), 1e-12)
              << name << " node " << k << " adjoint, " << m << " columns, density " << density;
        }
      }
    }
  }
}

// The paper's LeNet shape (28x28, 32 and 64 filters, 3136 -> 1024): large
// enough for the kernels to split work between threads.
TEST_P(FastKernels, LeNetOutputMapEqualsTheManyColumnPathAndTheForwardPass) {
  const Network net = random_lenet(400 + GetParam());
  SeededRandom rng(GetParam());
  const Vector x = test::random_input(net, rng, 0.0, 1.0);
  const ForwardPass fp = forward_pass(net, x);
  const AffineMap m = affine_map(net, fp.pattern);
  EXPECT_LT(relative_error(m(x), fp.logits()), 1e-9);
  // The same adjoints with 17 columns (the last 7 zero) take the GEMM paths.
  Vector a17;
  const Matrix V17 = backpropagate_fixed(net, fp.pattern, padded(Matrix::Identity(10, 10), 17), &a17);
  EXPECT_LT(relative_error(m.V, V17.leftCols(10).transpose()), 1e-12);
  EXPECT_LT(relative_error(m.a, a17.head(10)), 1e-12);
  // And a second point of the same region gives the same logits.
  const Vector y = x + 1e-9 * Vector::Ones(x.size());
  if (activation_pattern(net, y) == fp.pattern) {
    EXPECT_LT(relative_error(m(y), logits(net, y)), 1e-9);
  }
}

// Reverse accumulation hands the rows a max-pool selects down through
// LeakyReLU, Piecewise (clip) and ReLU units to convolutions without the
// zero rows; a unit read by both a max-pool and an average pool gets both
// contributions.
Network pooled_cnn(std::uint64_t seed) {
  SeededRandom rng(seed);
  NetworkBuilder b;
  auto conv = [&](int in, int c_out) {
    const int fan = b.node(in).shape.channels() * 9;
    return b.conv2d(in, rng.he_uniform(c_out, fan, fan), rng.uniform_vector(c_out, -0.2, 0.2), test::window(3, 1, 1));
  };
  int x = b.input(Shape{2, 12, 12});
  x = b.leaky_relu(conv(x, 5), 0.1);
  x = b.max_pool2d(x, test::window(2, 2));
  x = b.clip(conv(x, 6), -0.5, 0.7);
  x = b.max_pool2d(x, test::window(2, 2));
  const int h = b.relu(conv(x, 4));
  const int avg = b.avg_pool2d(h, test::window(3, 1, 1), true);
  const int max = b.max_pool2d(h, test::window(3, 1, 1));
  x = b.add(max, avg);
  x = b.reshape(x, Shape{static_cast<int>(b.node(x).shape.size())});
  const auto n_in = static_cast<int>(b.node(x).shape.size());
  x = b.dense(x, rng.he_uniform(12, n_in, n_in), rng.uniform_vector(12, -0.2, 0.2));
  return b.build(x);
}

TEST_P(FastKernels, RowAdjointsBelowMaxPoolsEqualTheManyColumnPath) {
  const Network net = pooled_cnn(500 + GetParam());
  SeededRandom rng(GetParam());
  for (int trial = 0; trial < 5; ++trial) {
    const Vector x = test::random_input(net, rng);
    const ForwardPass fp = forward_pass(net, x);
    const AffineMap m = affine_map(net, fp.pattern);
    EXPECT_LT(relative_error(m(x), fp.logits()), 1e-9);
    Vector a17;
    const Matrix V17 = backpropagate_fixed(net, fp.pattern, padded(Matrix::Identity(12, 12), 17), &a17);
    EXPECT_LT(relative_error(m.V, V17.leftCols(12).transpose()), 1e-12);
    EXPECT_LT(relative_error(m.a, a17.head(12)), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FastKernels, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace tessera
