// Benchmark: exact line traversal, crossings per second, in-process.
//
//   bench_line --models DIR [benchmark flags]
// DIR holds what tests/bench/torch_line_bench.py writes: two MLPs
// (784-256x2-10 and 784-256x4-10, torch.manual_seed(0), PyTorch's default
// initialisation) and N segment ends (from.txt, to.txt: rows uniform in
// [0,1]^784). Every benchmark walks all N segments from[i] -> to[i] on one
// thread, incrementally (the default) or freshly (one whole forward pass per
// breakpoint), and reports crossings/s. The crossing count of every segment
// is written to DIR/tessera_counts.json for the runner to compare with the
// naive PyTorch walk (tests/bench/run_line_bench.sh).
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <map>

#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/line_traversal.hpp"

namespace {

using namespace tessera;

std::string g_models;

struct Case {
  Network net;
  std::vector<Vector> from, to;
};

const Case& load(const std::string& name) {
  static std::map<std::string, Case> cases;
  auto it = cases.find(name);
  if (it != cases.end()) return it->second;
  Case c;
  c.net = load_onnx(g_models + "/" + name + ".onnx");
  for (int i = 0;; ++i) {
    try {
      c.from.push_back(read_input(g_models + "/from.txt", i));
      c.to.push_back(read_input(g_models + "/to.txt", i));
    } catch (const std::exception&) {
      break;
    }
  }
  c.from.resize(std::min(c.from.size(), c.to.size()));
  return cases.emplace(name, std::move(c)).first->second;
}

// Crossings of one walk: breakpoints between full-length segments.
std::size_t crossings(const LineTraversal& tr) {
  std::size_t n = 0;
  for (const LineSegment& s : tr.segments) n += !s.is_point;
  return n - 1;
}

void BM_Segments(benchmark::State& state, const std::string& name, bool incremental, std::size_t limit) {
  Case c = load(name);
  if (c.from.size() > limit) {
    c.from.resize(limit);
    c.to.resize(limit);
  }
  TraversalOptions o;
  o.incremental = incremental;
  std::vector<std::size_t> counts(c.from.size());
  std::size_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (size_t i = 0; i < c.from.size(); ++i) {
      const LineTraversal tr = traverse_line(c.net, c.from[i], c.to[i] - c.from[i], 0.0, 1.0, o);
      counts[i] = crossings(tr);
      total += counts[i];
    }
  }
  state.counters["segments"] = static_cast<double>(c.from.size());
  state.counters["crossings"] = static_cast<double>(total);
  state.counters["crossings_per_s"] =
      benchmark::Counter(static_cast<double>(total) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["us_per_crossing"] = benchmark::Counter(
      static_cast<double>(total) * state.iterations(), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if (incremental) {
    std::ofstream f(g_models + "/tessera_counts_" + name + ".json");  // (per segment)
    f << "[";
    for (size_t i = 0; i < counts.size(); ++i) f << (i ? "," : "") << counts[i];
    f << "]\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
      g_models = argv[i + 1];
      for (int j = i; j + 2 <= argc; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  if (g_models.empty()) {
    std::cerr << "usage: bench_line --models DIR (written by tests/bench/torch_line_bench.py) [benchmark flags]\n";
    return 2;
  }
  // The paper's LeNet walks its first segment only (a fresh walk of
  // one takes seconds).
  for (const char* name : {"mlp_784_256x2_10", "mlp_784_256x4_10", "lenet_paper"})
    for (bool inc : {true, false}) {
      const std::size_t limit = std::string(name) == "lenet_paper" ? 1 : 1000000;
      benchmark::RegisterBenchmark((std::string("segments/") + name + (inc ? "/incremental" : "/fresh")).c_str(),
                                   [name, inc, limit](benchmark::State& s) { BM_Segments(s, name, inc, limit); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
