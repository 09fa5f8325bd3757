// Seeded noise inputs (the out-of-distribution probes of the paper).
#pragma once

#include <cstdint>

#include "core/network.hpp"

namespace tessera {

// count columns of size d, uniform in [lo, hi).
Matrix uniform_noise(int d, int count, std::uint64_t seed, double lo = 0.0, double hi = 1.0);

// Each column of `images` with its entries randomly permuted (a per-column
// permutation), as in the paper's permuted-pixel noise.
Matrix permuted_noise(const Matrix& images, std::uint64_t seed);

}  // namespace tessera
