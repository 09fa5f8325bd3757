#!/usr/bin/python3
"""ONNX models for the exact-slice benchmark (tests/bench/bench_slice.cpp).

Usage:  /usr/bin/python3 make_slice_models.py OUTDIR

With torch.manual_seed(0), builds PyTorch-default-initialised nn.Sequential
ReLU MLPs (float32; Tessera widens to double) and exports them with
torch.onnx.export (opset 13, input "input", output "output"):

    OUTDIR/mlp_3_32_32_1.onnx     3-D slices over [-1,1]^3 of the input
    OUTDIR/mlp_3_64_64_1.onnx
    OUTDIR/mlp_2_16_16_1.onnx     2-D slices over [-1,1]^2 of the input
    OUTDIR/mlp_2_32_32_1.onnx
    OUTDIR/mlp_2_64_64_1.onnx
    OUTDIR/mlp_2_128_128_1.onnx
    OUTDIR/mlp_2_16x4_1.onnx      four hidden layers
    OUTDIR/mlp_2_32x4_1.onnx
    OUTDIR/mlp_2_64x4_1.onnx
    OUTDIR/mlp_2_128x4_1.onnx

The models are made in this order from the one seed, so every run writes
the same weights. Exits with code 77 when torch is not importable.
"""
import os
import sys

try:
    import torch
except Exception:
    sys.stderr.write("python3-torch is not installed: slice models not written\n")
    sys.exit(77)

import warnings

import torch.nn as nn

MODELS = [
    ("mlp_3_32_32_1", 3, [32, 32]),
    ("mlp_3_64_64_1", 3, [64, 64]),
    ("mlp_2_16_16_1", 2, [16, 16]),
    ("mlp_2_32_32_1", 2, [32, 32]),
    ("mlp_2_64_64_1", 2, [64, 64]),
    ("mlp_2_128_128_1", 2, [128, 128]),
    ("mlp_2_16x4_1", 2, [16] * 4),
    ("mlp_2_32x4_1", 2, [32] * 4),
    ("mlp_2_64x4_1", 2, [64] * 4),
    ("mlp_2_128x4_1", 2, [128] * 4),
]


def mlp(inputs, hidden):
    layers, prev = [], inputs
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, 1))
    return nn.Sequential(*layers)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    warnings.filterwarnings("ignore")
    for name, inputs, hidden in MODELS:
        model = mlp(inputs, hidden).eval()
        x = torch.zeros(1, inputs)
        torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        print(name)


if __name__ == "__main__":
    main()
