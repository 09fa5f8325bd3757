#include "core/noise.hpp"

#include <numeric>
#include <vector>

#include "core/example_networks.hpp"

namespace tessera {

Matrix uniform_noise(int d, int count, std::uint64_t seed, double lo, double hi) {
  SeededRandom rng(seed);
  Matrix X(d, count);
  for (int j = 0; j < count; ++j)
    for (int i = 0; i < d; ++i) X(i, j) = rng.uniform(lo, hi);
  return X;
}

Matrix permuted_noise(const Matrix& images, std::uint64_t seed) {
  SeededRandom rng(seed);
  Matrix X(images.rows(), images.cols());
  std::vector<Eigen::Index> perm(images.rows());
  for (Eigen::Index j = 0; j < images.cols(); ++j) {
    std::iota(perm.begin(), perm.end(), Eigen::Index{0});
    for (Eigen::Index i = static_cast<Eigen::Index>(perm.size()) - 1; i > 0; --i)  // Fisher-Yates
      std::swap(perm[i], perm[rng.next() % static_cast<std::uint64_t>(i + 1)]);
    for (Eigen::Index i = 0; i < images.rows(); ++i) X(i, j) = images(perm[i], j);
  }
  return X;
}

}  // namespace tessera
