#!/usr/bin/python3
"""The Python module's cost per call and its batch throughput.

Per call: medians (over REPEATS rounds of timeit) of tessera.affine,
tessera.certify (one input, box None) and tessera.ray on the inputs that
tests/bench/bench_calls.cpp uses, in microseconds; the C++ side is that
program. Batch: rays per second of tessera.certify on COUNT uniform-noise
inputs (box [0, 1]) in one call, with and without loading the model.
Prints JSON.

  python_bench.py SOURCE_DIR [COUNT]
"""
import json
import statistics
import sys
import time
import timeit

import tessera

source = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
REPEATS = 7
out = {"per_call_us": {}, "batch": {}}
for name in ("toy2d", "mnist_mlp"):
    net = tessera.load(f"{source}/data/models/{name}.onnx")
    x = [0.5, -0.25] if name == "toy2d" else tessera.uniform_noise(net, 1, seed=1)[0]
    calls = {"affine": lambda: tessera.affine(net, x),
             "certify": lambda: tessera.certify(net, x, box=None),
             "ray": lambda: tessera.ray(net, x)}
    for what, f in calls.items():
        timer = timeit.Timer(f)
        n, _ = timer.autorange()
        per = [t / n * 1e6 for t in timer.repeat(REPEATS, n)]
        out["per_call_us"][f"{what}/{name}"] = statistics.median(per)

for name in ("mnist_mlp", "trained/mnist_ceda", "trained/moons_plain"):
    path = f"{source}/data/models/{name}.onnx"
    times, with_load = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        net = tessera.load(path)
        X = tessera.uniform_noise(net, count, seed=1)
        t1 = time.perf_counter()
        tessera.certify(net, X, box=(0, 1))
        t2 = time.perf_counter()
        times.append(t2 - t1)
        with_load.append(t2 - t0)
    out["batch"][name] = {"count": count, "rays_per_s": count / statistics.median(times),
                          "rays_per_s_with_load": count / statistics.median(with_load)}
print(json.dumps(out, indent=1))
