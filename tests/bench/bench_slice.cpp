// Benchmark: regions per second for exact 2-D slices.
//  - random fully connected ReLU networks on their 2-D input plane, window
//    [-2, 2]^2 (He-uniform weights, seed 1; widths 16..256, depths 2..8);
//  - the shipped MNIST-shaped MLP on the plane through three example images
//    (data/inputs/seven.pgm, noise.pgm and a second noise image), window
//    [-0.25, 1.25]^2.
// Region counts are reported so that other tools can be compared on the same
// networks (core/example_networks.cpp makes them bit for bit).
#include <benchmark/benchmark.h>

#include "core/example_networks.hpp"
#include "io/input_io.hpp"
#include "core/noise.hpp"
#include "io/onnx_io.hpp"
#include "regions/slice_2d.hpp"

namespace {

using namespace tessera;

void run_slice(benchmark::State& state, const Network& net, const Plane2d& plane, const SliceWindow& w) {
  std::size_t regions = 0;
  SliceOptions o;
  o.decision_boundary = false;
  for (auto _ : state) regions = slice_regions_2d(net, plane, w, o).polygons.size();
  state.counters["regions"] = static_cast<double>(regions);
  state.counters["regions_per_s"] =
      benchmark::Counter(static_cast<double>(regions) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_RandomMlp(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0)), depth = static_cast<int>(state.range(1));
  const Network net = random_mlp(2, std::vector<int>(depth, width), 10, 1);
  Plane2d p{Vector::Zero(2), Eigen::Vector2d(1, 0), Eigen::Vector2d(0, 1)};
  run_slice(state, net, p, SliceWindow{-2, 2, -2, 2});
}

void BM_MnistMlpThreeImages(benchmark::State& state) {
  const std::string dir = std::string(TESSERA_SOURCE_DIR) + "/data/";
  const Network net = load_onnx(dir + "models/mnist_mlp.onnx");
  Plane2d p;
  p.origin = read_input(dir + "inputs/seven.pgm");
  p.e1 = read_input(dir + "inputs/noise.pgm") - p.origin;
  p.e2 = uniform_noise(784, 1, 5).col(0) - p.origin;
  run_slice(state, net, p, SliceWindow{-0.25, 1.25, -0.25, 1.25});
}

}  // namespace

BENCHMARK(BM_RandomMlp)
    ->ArgsProduct({{16, 32, 64, 128, 256}, {2}})
    ->ArgsProduct({{32}, {4, 8}})
    ->ArgsProduct({{64}, {4, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK(BM_MnistMlpThreeImages)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK_MAIN();
