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

std::vector<std::int64_t> random_permutations(std::int64_t n, std::int64_t count, std::uint64_t seed) {
  SeededRandom rng(seed);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n * count));
  for (std::int64_t j = 0; j < count; ++j) {
    std::int64_t* perm = out.data() + j * n;
    std::iota(perm, perm + n, std::int64_t{0});
    for (std::int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
      std::swap(perm[i], perm[rng.next() % static_cast<std::uint64_t>(i + 1)]);
  }
  return out;
}

Matrix permuted_noise(const Matrix& images, std::uint64_t seed) {
  const std::vector<std::int64_t> perm = random_permutations(images.rows(), images.cols(), seed);
  Matrix X(images.rows(), images.cols());
  for (Eigen::Index j = 0; j < images.cols(); ++j)
    for (Eigen::Index i = 0; i < images.rows(); ++i) X(i, j) = images(perm[j * images.rows() + i], j);
  return X;
}

}  // namespace tessera
