// Benchmark: the library calls behind the Python module's functions, one
// input at a time, for the overhead of a Python call
// (tests/bench/run_python_bench.sh compares them with tests/bench/python_bench.py).
// affine = affine_report (forward pass, affine map, softmax, residual);
// certify = certify() of one ray with the default options (no box);
// ray = traverse_ray from alpha0 = 1e-6; all on a fixed input.
//   bench_calls [benchmark flags]
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "core/affine_report.hpp"
#include "core/noise.hpp"
#include "io/onnx_io.hpp"
#include "regions/certificate.hpp"
#include "regions/line_traversal.hpp"

namespace {

using namespace tessera;

const Network& model(const std::string& name) {
  static std::map<std::string, Network> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/" + name)).first;
  return it->second;
}

// The input the Python benchmark uses: uniform noise, seed 1, in [0, 1]
// (toy2d: the point (0.5, -0.25)).
Vector input(const Network& net) {
  if (net.input_size() == 2) return (Vector(2) << 0.5, -0.25).finished();
  return uniform_noise(net.input_size(), 1, 1).col(0);
}

void BM_Affine(benchmark::State& state, const std::string& name) {
  const Network& net = model(name);
  const Vector x = input(net);
  for (auto _ : state) benchmark::DoNotOptimize(affine_report(net, x, "x"));
}

void BM_Certify(benchmark::State& state, const std::string& name) {
  const Network& net = model(name);
  const Vector x = input(net);
  CertifyOptions o;
  for (auto _ : state) benchmark::DoNotOptimize(certify(net, x, o));
}

void BM_Ray(benchmark::State& state, const std::string& name) {
  const Network& net = model(name);
  const Vector x = input(net);
  for (auto _ : state) benchmark::DoNotOptimize(traverse_ray(net, x, 1e-6));
}

}  // namespace

BENCHMARK_CAPTURE(BM_Affine, toy2d, std::string("toy2d.onnx"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Affine, mnist_mlp, std::string("mnist_mlp.onnx"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Certify, toy2d, std::string("toy2d.onnx"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Certify, mnist_mlp, std::string("mnist_mlp.onnx"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Ray, toy2d, std::string("toy2d.onnx"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Ray, mnist_mlp, std::string("mnist_mlp.onnx"))->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
