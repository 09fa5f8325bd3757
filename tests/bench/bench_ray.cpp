// Benchmark: regions crossed per second along the ray alpha*x (uniform noise
// x in [0,1]^d), against one forward pass of the same network (the natural
// floor: every crossing needs one fixed-pattern pass of two columns).
//
//   bench_ray [--models DIR] [benchmark flags]
// Uses DIR/mlp_784_256_256_10.onnx and DIR/lenet.onnx when given (the
// PyTorch-exported benchmark models), else data/models/mnist_{mlp,cnn}.onnx.
#include <benchmark/benchmark.h>

#include <cstring>

#include "core/forward.hpp"
#include "core/noise.hpp"
#include "io/onnx_io.hpp"
#include "regions/line_traversal.hpp"

namespace {

using namespace tessera;

std::string g_models;

const Network& model(const std::string& which) {
  static const Network mlp = load_onnx(g_models.empty() ? std::string(TESSERA_SOURCE_DIR) + "/data/models/mnist_mlp.onnx"
                                                        : g_models + "/mlp_784_256_256_10.onnx");
  static const Network cnn = load_onnx(g_models.empty() ? std::string(TESSERA_SOURCE_DIR) + "/data/models/mnist_cnn.onnx"
                                                        : g_models + "/lenet.onnx");
  return which == "mlp" ? mlp : cnn;
}

void BM_Forward(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  const Vector x = uniform_noise(net.input_size(), 1, 7).col(0);
  for (auto _ : state) benchmark::DoNotOptimize(forward_pass(net, x));
}

void BM_Ray(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  const Matrix X = uniform_noise(net.input_size(), 16, 7);
  std::size_t regions = 0;
  int j = 0;
  for (auto _ : state) {
    const LineTraversal tr = traverse_ray(net, X.col(j++ % X.cols()), 1e-6);
    regions += tr.segments.size();
  }
  state.counters["regions_per_ray"] = benchmark::Counter(static_cast<double>(regions) / state.iterations());
  state.counters["regions_per_s"] = benchmark::Counter(static_cast<double>(regions), benchmark::Counter::kIsRate);
  state.counters["us_per_region"] =
      benchmark::Counter(static_cast<double>(regions), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--models") == 0 && i + 1 < argc)
      g_models = argv[++i];
    else
      rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  for (const char* m : {"mlp", "cnn"}) {
    const std::string w = m;
    benchmark::RegisterBenchmark(("forward/" + w).c_str(), BM_Forward, w)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("ray/" + w).c_str(), BM_Ray, w)->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
