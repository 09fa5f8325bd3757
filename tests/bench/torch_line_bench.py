#!/usr/bin/python3
"""Models, segments and a naive exact walk for Tessera's line benchmark.

Usage:  /usr/bin/python3 torch_line_bench.py OUTDIR [--segments N] [--naive-segments N]

With torch.manual_seed(0) and PyTorch's default initialisation, exports

    OUTDIR/mlp_784_256x2_10.onnx   784-256-256-10, ReLU
    OUTDIR/mlp_784_256x4_10.onnx   784-256-256-256-256-10, ReLU
    OUTDIR/lenet_paper.onnx        the paper's LeNet on 1x28x28: conv5x5x32
                                   (same), ReLU, maxpool2, conv5x5x64 (same),
                                   ReLU, maxpool2, dense 3136-1024, ReLU,
                                   dense 1024-10 (no naive walk: too slow)

and writes N (default 100) segment ends as text rows, uniform in [0,1]^784
from a generator seeded with 1:  OUTDIR/from.txt, OUTDIR/to.txt.

Then walks every segment from[i] -> to[i] naively and exactly in float64:
at each breakpoint one fresh forward pass of the point and the direction
(columns c and w of c + t*w) under the pattern that holds just right of t
(a unit exactly on its hyperplane, up to 1e-10 relative, is decided by the
sign of w, as in Tessera), then the smallest root -c/w ahead among the
units whose sign would change.  Prints JSON with the crossing count of every
segment and the naive walk's crossings per second, and writes it to
OUTDIR/naive.json.  --naive-segments limits how many segments the naive
walk does (default: all).

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
import time
import warnings

import torch.nn as nn

TOL = 1e-10


def mlp(hidden):
    layers, d = [], 784
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


class Image(nn.Module):
    def forward(self, x):
        return x.reshape(-1, 1, 28, 28)


def lenet():
    return nn.Sequential(Image(),
                         nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10))


def export(model, path):
    model.eval()
    x = torch.zeros(1, 784)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def naive_walk(linears, a, b):
    """Crossings of the segment a -> b (t in [0, 1])."""
    Ws = [l.weight.double() for l in linears]
    bs = [l.bias.double() for l in linears]
    d = b - a
    t, crossings = 0.0, 0
    while True:
        c, w = a.clone(), d.clone()
        best = float("inf")
        for i, (W, bias) in enumerate(zip(Ws, bs)):
            c, w = W @ c + bias, W @ w
            if i == len(Ws) - 1:
                break
            z = c + t * w
            zero = z.abs() <= TOL * (c.abs() + (t * w).abs())
            active = torch.where(zero, w > 0, z > 0)
            # Units leave their side where c + t*w crosses 0 ahead.
            leaving = torch.where(active, w < 0, w > 0)
            roots = -c / w
            ahead = leaving & (roots > t)
            if ahead.any():
                best = min(best, roots[ahead].min().item())
            c, w = c * active, w * active
        if best >= 1.0:
            return crossings
        t = best
        crossings += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--segments", type=int, default=100)
    ap.add_argument("--naive-segments", type=int, default=None)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    models = {"mlp_784_256x2_10": mlp([256, 256]), "mlp_784_256x4_10": mlp([256] * 4)}
    for name, m in models.items():
        export(m, os.path.join(args.outdir, name + ".onnx"))
    export(lenet(), os.path.join(args.outdir, "lenet_paper.onnx"))
    g = torch.Generator().manual_seed(1)
    A = torch.rand(args.segments, 784, generator=g, dtype=torch.float64)
    B = torch.rand(args.segments, 784, generator=g, dtype=torch.float64)
    for name, M in (("from.txt", A), ("to.txt", B)):
        with open(os.path.join(args.outdir, name), "w") as f:
            for row in M.tolist():
                f.write(" ".join(repr(v) for v in row) + "\n")
    n = args.naive_segments or args.segments
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "segments": n, "models": {}}
    with torch.no_grad():
        for name, m in models.items():
            linears = [l for l in m if isinstance(l, nn.Linear)]
            start = time.perf_counter()
            counts = [naive_walk(linears, A[i], B[i]) for i in range(n)]
            seconds = time.perf_counter() - start
            out["models"][name] = {"crossings": counts, "total": sum(counts), "seconds": seconds,
                                   "crossings_per_s": sum(counts) / seconds}
    text = json.dumps(out, indent=1)
    with open(os.path.join(args.outdir, "naive.json"), "w") as f:
        f.write(text)
    print(json.dumps({k: {"total": v["total"], "crossings_per_s": v["crossings_per_s"]}
                      for k, v in out["models"].items()}))


if __name__ == "__main__":
    main()
