// Seeded random networks: the shipped example models, test networks and
// benchmark models are all made here, so that they can be regenerated
// bit-for-bit on any platform.
#pragma once

#include <cstdint>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// A portable random source (splitmix64): the same seed gives the same
// numbers with every compiler and standard library.
class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  double uniform(double lo = 0.0, double hi = 1.0);  // [lo, hi)
  // rows x cols uniform in ±sqrt(6 / fan_in) (He-uniform), rounded to
  // float32 so that ONNX export (float32) round-trips exactly.
  Matrix he_uniform(Eigen::Index rows, Eigen::Index cols, Eigen::Index fan_in);
  Vector uniform_vector(Eigen::Index n, double lo, double hi);  // rounded to float32

 private:
  std::uint64_t state_;
};

// Fully connected: input_dim -> hidden... -> classes, ReLU between layers
// (LeakyReLU with the given slope when slope != 0). Biases uniform in ±0.1.
Network random_mlp(int input_dim, const std::vector<int>& hidden, int classes, std::uint64_t seed,
                   double leaky_slope = 0.0);

// The paper's LeNet layout on 1x28x28 inputs: conv5x5 (c1, same padding),
// ReLU, maxpool2; conv5x5 (c2, same), ReLU, maxpool2; dense (7*7*c2 ->
// hidden), ReLU; dense (hidden -> 10). The paper uses c1=32, c2=64,
// hidden=1024.
Network random_lenet(std::uint64_t seed, int c1 = 32, int c2 = 64, int hidden = 1024);

}  // namespace tessera
