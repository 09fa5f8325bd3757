// Seeded noise inputs (the out-of-distribution probes of the paper): the
// one definition of each noise kind's distribution. The training module
// draws its batches from these same generators (training/noise.hpp adapts
// them to tensors on the training device).
#pragma once

#include <cstdint>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// count columns of size d, uniform in [lo, hi).
Matrix uniform_noise(int d, int count, std::uint64_t seed, double lo = 0.0, double hi = 1.0);

// Each column of `images` with its entries randomly permuted (a per-column
// permutation), as in the paper's permuted-pixel noise.
Matrix permuted_noise(const Matrix& images, std::uint64_t seed);

// The permutations permuted_noise(images, seed) applies: `count` uniformly
// random permutations of 0..n-1 (Fisher-Yates), one after the other, so
// that column j of permuted_noise is images(perm[j*n + i], j).
std::vector<std::int64_t> random_permutations(std::int64_t n, std::int64_t count, std::uint64_t seed);

}  // namespace tessera
