#!/usr/bin/python3
"""PyTorch baseline for Tessera's V(x) benchmark.

Usage:  /usr/bin/python3 torch_jacobian_bench.py OUTDIR [--threads N]
                [--min-time SECONDS] [--min-reps N] [--max-time SECONDS]

Builds two float32 models with a fixed seed and exports them (opset 13,
input "input", output "output", dynamic batch axis) so that the C++
benchmark can load the very same networks:

    OUTDIR/mlp_784_256_256_10.onnx   MLP 784-256-256-10, ReLU
    OUTDIR/lenet.onnx                LeNet-shaped CNN on 1x28x28

Then, for ONE input (uniform in [0,1], batch 1), times
    forward      model(x) under torch.no_grad()
    jacobian     torch.autograd.functional.jacobian(model, x)
    jacobian_vectorized   the same with vectorize=True
Each is warmed up (3 calls), then repeated until both --min-reps
repetitions (default 20) and --min-time seconds (default 1) are reached;
a very slow call stops early after --max-time seconds (default 20) once
3 repetitions are done.  The MEDIAN time per call in microseconds is
printed as JSON and written to OUTDIR/torch_bench.json.

Exits with code 77 when torch is not importable.
"""

import sys

try:
    import torch
except Exception:
    sys.stderr.write("python3-torch is not installed: torch benchmark not run\n")
    sys.exit(77)

import argparse
import json
import os
import platform
import re
import statistics
import time
import warnings

import torch.nn as nn

SEED = 0
OPSET = 13
WARMUP = 3


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(784, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 10))

    def forward(self, x):
        return self.net(x)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(64 * 7 * 7, 1024), nn.ReLU(),
            nn.Linear(1024, 10))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


MODELS = [
    ("mlp_784_256_256_10", Mlp, (1, 784)),
    ("lenet", LeNet, (1, 1, 28, 28)),
]


def export(model, x, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path,
                          opset_version=OPSET,
                          input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "batch"},
                                        "output": {0: "batch"}},
                          do_constant_folding=True)


def blas_info():
    """BLAS_INFO from torch's build config (Debian's torch says "generic":
    it calls whatever libblas.so.3 the alternatives system selects)."""
    try:
        config = torch.__config__.show()
    except Exception:
        return "unknown"
    match = re.search(r"BLAS_INFO=([^,\s]+)", config)
    return match.group(1) if match else "unknown"


def time_call(fn, min_time, min_reps, max_time):
    for _ in range(WARMUP):
        fn()
    samples = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000.0)
        elapsed = time.perf_counter() - start
        if len(samples) >= min_reps and elapsed >= min_time:
            break
        if elapsed >= max_time and len(samples) >= 3:
            break
    return statistics.median(samples), len(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default: torch's default)")
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--min-reps", type=int, default=20)
    ap.add_argument("--max-time", type=float, default=20.0)
    args = ap.parse_args()

    os.makedirs(args.outdir, exist_ok=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    result = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas_info(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "opset": OPSET,
        "units": "microseconds (median per call, batch 1)",
        "models": {},
    }

    for index, (name, ctor, shape) in enumerate(MODELS):
        torch.manual_seed(SEED + index)
        model = ctor().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        gen = torch.Generator().manual_seed(1000 + index)
        x = torch.rand(shape, generator=gen, dtype=torch.float32)

        path = os.path.join(args.outdir, name + ".onnx")
        export(model, x, path)

        def forward():
            with torch.no_grad():
                return model(x)

        def jac():
            return torch.autograd.functional.jacobian(model, x)

        def jac_vec():
            return torch.autograd.functional.jacobian(model, x, vectorize=True)

        j1 = jac()
        j2 = jac_vec()
        entry = {
            "onnx": os.path.abspath(path),
            "input_shape": list(shape),
            "output_size": int(forward().numel()),
            "jacobian_shape": list(j1.shape),
            "jacobian_methods_max_abs_diff": float((j1 - j2).abs().max()),
        }
        for key, fn in (("forward_us", forward),
                        ("jacobian_us", jac),
                        ("jacobian_vectorized_us", jac_vec)):
            median, reps = time_call(fn, args.min_time, args.min_reps,
                                     args.max_time)
            entry[key] = round(median, 3)
            entry[key.replace("_us", "_reps")] = reps
        result["models"][name] = entry

    text = json.dumps(result, indent=2)
    with open(os.path.join(args.outdir, "torch_bench.json"), "w") as fh:
        fh.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
