#include "core/example_networks.hpp"

#include <cmath>

namespace tessera {

std::uint64_t SeededRandom::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SeededRandom::uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
}

Matrix SeededRandom::he_uniform(Eigen::Index rows, Eigen::Index cols, Eigen::Index fan_in) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in));
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = static_cast<float>(uniform(-bound, bound));
  return m;
}

Vector SeededRandom::uniform_vector(Eigen::Index n, double lo, double hi) {
  Vector v(n);
  for (Eigen::Index i = 0; i < n; ++i) v[i] = static_cast<float>(uniform(lo, hi));
  return v;
}

Network random_mlp(int input_dim, const std::vector<int>& hidden, int classes, std::uint64_t seed,
                   double leaky_slope) {
  SeededRandom rng(seed);
  NetworkBuilder b;
  int x = b.input(Shape{input_dim});
  int width = input_dim;
  for (size_t l = 0; l < hidden.size(); ++l) {
    x = b.dense(x, rng.he_uniform(hidden[l], width, width), rng.uniform_vector(hidden[l], -0.1, 0.1),
                "fc" + std::to_string(l + 1));
    // ONNX stores the slope as a float32 attribute: round it so files round-trip.
    x = leaky_slope != 0.0 ? b.leaky_relu(x, static_cast<float>(leaky_slope), "act" + std::to_string(l + 1))
                           : b.relu(x, "relu" + std::to_string(l + 1));
    width = hidden[l];
  }
  x = b.dense(x, rng.he_uniform(classes, width, width), rng.uniform_vector(classes, -0.1, 0.1), "logits");
  return b.build(x);
}

Network random_lenet(std::uint64_t seed, int c1, int c2, int hidden) {
  SeededRandom rng(seed);
  NetworkBuilder b;
  Window2d conv;
  conv.kernel_h = conv.kernel_w = 5;
  conv.pad_top = conv.pad_left = conv.pad_bottom = conv.pad_right = 2;
  Window2d pool;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  int x = b.input(Shape{1, 28, 28});
  x = b.conv2d(x, rng.he_uniform(c1, 25, 25), rng.uniform_vector(c1, -0.1, 0.1), conv, "conv1");
  x = b.relu(x, "relu1");
  x = b.max_pool2d(x, pool, "pool1");
  x = b.conv2d(x, rng.he_uniform(c2, 25 * c1, 25 * c1), rng.uniform_vector(c2, -0.1, 0.1), conv, "conv2");
  x = b.relu(x, "relu2");
  x = b.max_pool2d(x, pool, "pool2");
  x = b.reshape(x, Shape{7 * 7 * c2}, "flatten");
  x = b.dense(x, rng.he_uniform(hidden, 49 * c2, 49 * c2), rng.uniform_vector(hidden, -0.1, 0.1), "fc1");
  x = b.relu(x, "relu3");
  x = b.dense(x, rng.he_uniform(10, hidden, hidden), rng.uniform_vector(10, -0.1, 0.1), "logits");
  return b.build(x);
}

}  // namespace tessera
