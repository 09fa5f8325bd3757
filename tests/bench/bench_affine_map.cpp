// Benchmark: local affine maps of the output (reverse accumulation) and of
// every layer (forward accumulation) for a 784-256-256-10 MLP and a
// LeNet-shaped CNN, one input. Compare with tests/bench/torch_jacobian_bench.py
// (torch.autograd.functional.jacobian on the same ONNX models); see
// docs/benchmarks.md.
//
//   bench_affine_map [--models DIR] [benchmark flags]
// With --models DIR, loads DIR/mlp_784_256_256_10.onnx and DIR/lenet.onnx
// (written by the PyTorch script); otherwise uses Tessera's own random
// networks of the same shapes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/affine_map.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"

namespace {

using namespace tessera;

std::string g_models;

const Network& model(const std::string& which) {
  static const Network mlp = g_models.empty() ? random_mlp(784, {256, 256}, 10, 1)
                                              : load_onnx(g_models + "/mlp_784_256_256_10.onnx");
  static const Network lenet = g_models.empty() ? random_lenet(2) : load_onnx(g_models + "/lenet.onnx");
  return which == "mlp" ? mlp : lenet;
}

Vector input(const Network& net) {
  SeededRandom rng(5);
  Vector x(net.input_size());
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = rng.uniform();
  return x;
}

void BM_Forward(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  const Vector x = input(net);
  for (auto _ : state) benchmark::DoNotOptimize(forward_pass(net, x));
}

void BM_OutputMap(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  const Vector x = input(net);
  for (auto _ : state) benchmark::DoNotOptimize(affine_map_at(net, x));
}

void BM_AllLayerMaps(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  const Vector x = input(net);
  std::vector<int> nodes = pre_activation_nodes(net);
  nodes.push_back(net.output_node());
  for (auto _ : state) {
    const ForwardPass fp = forward_pass(net, x);
    benchmark::DoNotOptimize(node_affine_maps(net, fp.pattern, nodes));
  }
}

void BM_OutputMapBatch64(benchmark::State& state, const std::string& which) {
  const Network& net = model(which);
  Matrix X(net.input_size(), 64);
  for (int j = 0; j < 64; ++j) X.col(j) = input(net) * (1.0 + j / 64.0);
  for (auto _ : state) benchmark::DoNotOptimize(affine_maps(net, X));
  state.SetItemsProcessed(state.iterations() * 64);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
      g_models = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(rest.size());
  for (const char* m : {"mlp", "lenet"}) {
    const std::string w = m;
    benchmark::RegisterBenchmark(("forward/" + w).c_str(), BM_Forward, w)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("output_map/" + w).c_str(), BM_OutputMap, w)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("all_layer_maps/" + w).c_str(), BM_AllLayerMaps, w)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("output_map_batch64/" + w).c_str(), BM_OutputMapBatch64, w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
