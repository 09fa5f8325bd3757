// Seeded random networks covering every node kind, for property tests.
#pragma once

#include <string>
#include <vector>

#include "core/example_networks.hpp"
#include "core/network.hpp"

namespace tessera::test {

struct NamedNetwork {
  std::string name;
  Network net;
};

Window2d window(int k, int stride = 1, int pad = 0, int dilation = 1);

// One network per layer kind and combination the core supports: MLPs with
// ReLU and LeakyReLU, convolutions with stride/padding/dilation, average
// pooling with and without counted padding, max pooling with padding,
// residual additions, elementwise affine maps, permutes with zero padding,
// reshapes, and Piecewise units (clip, abs, PRelu, max/min with constants,
// leaky slopes outside [0, 1]).
std::vector<NamedNetwork> random_networks_of_every_kind(std::uint64_t seed);

// A random input for the network (uniform in [lo, hi)).
Vector random_input(const Network& net, SeededRandom& rng, double lo = -1.0, double hi = 1.0);

// Largest |a-b| relative to max(1, |b|_inf).
double relative_error(const Matrix& a, const Matrix& b);

}  // namespace tessera::test
