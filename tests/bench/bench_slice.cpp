// Benchmark: regions per second for exact 2-D slices.
//  - random fully connected ReLU networks on their 2-D input plane, window
//    [-2, 2]^2 (He-uniform weights, seed 1; widths 16..256, depths 2..8);
//  - the shipped MNIST-shaped MLP on the plane through three example images
//    (data/inputs/seven.pgm, noise.pgm and a second noise image), window
//    [-0.25, 1.25]^2.
// Region counts are reported so that other tools can be compared on the same
// networks (core/example_networks.cpp makes them bit for bit).
//
//   bench_slice [--models DIR] [benchmark flags]
// With --models DIR (written by tests/bench/make_slice_models.py), also
// times slice_regions_3d over [-1,1]^3 of the input space of
// DIR/mlp_3_*.onnx and slice_regions_2d (without the decision boundary) over
// [-1,1]^2 of DIR/mlp_2_*.onnx, in-process: cells, cells/s and a
// fingerprint of the result (pattern hashes and the cells' vertices, bit for
// bit, in output order) so that two builds can be checked to agree.
// tests/bench/run_slice_bench.sh runs it (and an older binary side by side).
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/example_networks.hpp"
#include "io/input_io.hpp"
#include "core/noise.hpp"
#include "io/onnx_io.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

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

// FNV-1a over the bytes of the result, folded to 52 bits (exact in a double
// counter).
struct Fingerprint {
  std::uint64_t h = 1469598103934665603ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <class T>
  void add(const T& v) {
    add(&v, sizeof v);
  }
  double value() const { return static_cast<double>((h ^ (h >> 52)) & ((1ull << 52) - 1)); }
};

double fingerprint(const Slice2d& s) {
  Fingerprint f;
  for (const SlicePolygon& p : s.polygons) {
    f.add(p.pattern_hash);
    for (const auto& v : p.polygon.vertices) f.add(v.data(), 2 * sizeof(double));
    for (long l : p.polygon.labels) f.add(l);
  }
  return f.value();
}

double fingerprint(const Slice3d& s) {
  Fingerprint f;
  for (const SlicePolyhedron& p : s.polyhedra) {
    f.add(p.pattern_hash);
    for (const auto& face : p.cell.faces) {
      f.add(face.label);
      for (const auto& v : face.vertices) f.add(v.data(), 3 * sizeof(double));
    }
  }
  return f.value();
}

void BM_Onnx2d(benchmark::State& state, const std::string& path) {
  const Network net = load_onnx(path);
  Plane2d p{Vector::Zero(2), Eigen::Vector2d(1, 0), Eigen::Vector2d(0, 1)};
  SliceOptions o;
  o.decision_boundary = false;
  Slice2d s;
  for (auto _ : state) s = slice_regions_2d(net, p, SliceWindow{-1, 1, -1, 1}, o);
  state.counters["cells"] = static_cast<double>(s.polygons.size());
  state.counters["cells_per_s"] =
      benchmark::Counter(static_cast<double>(s.polygons.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["fingerprint"] = fingerprint(s);
}

void BM_Onnx3d(benchmark::State& state, const std::string& path) {
  const Network net = load_onnx(path);
  Plane3d p{Vector::Zero(3), Eigen::Vector3d(1, 0, 0), Eigen::Vector3d(0, 1, 0), Eigen::Vector3d(0, 0, 1)};
  SliceOptions o;
  Slice3d s;
  for (auto _ : state) s = slice_regions_3d(net, p, SliceBox{}, o);
  state.counters["cells"] = static_cast<double>(s.polyhedra.size());
  state.counters["cells_per_s"] =
      benchmark::Counter(static_cast<double>(s.polyhedra.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["fingerprint"] = fingerprint(s);
}

const char* const kOnnx3d[] = {"mlp_3_32_32_1", "mlp_3_64_64_1"};
const char* const kOnnx2d[] = {"mlp_2_16_16_1", "mlp_2_32_32_1", "mlp_2_64_64_1", "mlp_2_128_128_1",
                               "mlp_2_16x4_1",  "mlp_2_32x4_1",  "mlp_2_64x4_1",  "mlp_2_128x4_1"};

}  // namespace

BENCHMARK(BM_RandomMlp)
    ->ArgsProduct({{16, 32, 64, 128, 256}, {2}})
    ->ArgsProduct({{32}, {4, 8}})
    ->ArgsProduct({{64}, {4, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK(BM_MnistMlpThreeImages)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

int main(int argc, char** argv) {
  std::vector<char*> rest;
  std::string models;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
      models = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!models.empty()) {
    for (const char* m : kOnnx3d) {
      const std::string path = models + "/" + m + ".onnx";
      if (!std::filesystem::exists(path)) {
        std::cerr << "bench_slice: " << path << " is missing (run tests/bench/make_slice_models.py)\n";
        return 2;
      }
      benchmark::RegisterBenchmark((std::string("slice3d/") + m).c_str(), BM_Onnx3d, path)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.2);
    }
    for (const char* m : kOnnx2d) {
      const std::string path = models + "/" + m + ".onnx";
      if (!std::filesystem::exists(path)) {
        std::cerr << "bench_slice: " << path << " is missing (run tests/bench/make_slice_models.py)\n";
        return 2;
      }
      benchmark::RegisterBenchmark((std::string("slice2d/") + m).c_str(), BM_Onnx2d, path)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.2);
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
