#!/usr/bin/python3
"""Real-sized networks for the stress checks of bounded, cancellable work.

Usage:  /usr/bin/python3 tests/stress/make_real_models.py OUTDIR

Exports with Debian's python3-torch (seed 0, PyTorch default
initialisation, opset 13, input "input" [1, ...], output "output"):

  OUTDIR/convsmall_avgpool.onnx  a verification-benchmark-style ConvNet:
        Conv 1->16 4x4/2 pad 1, ReLU, Conv 16->32 4x4/2 pad 1, ReLU,
        AvgPool 2x2, Flatten, Dense 288->100, ReLU, Dense 100->10; the first
        layer's biases scaled by 1e-4 (as in trained benchmark models whose
        first-layer biases are tiny): its hyperplanes nearly all pass
        through the origin, so slices through a digit are hard
  OUTDIR/mlp_9x200.onnx          784 -> 9 x (200, ReLU) -> 10
  OUTDIR/lenet_paper.onnx        the paper's LeNet: Conv 5x5x32 pad 2, ReLU,
        MaxPool 2, Conv 5x5x64 pad 2, ReLU, MaxPool 2, Dense 1024, ReLU,
        Dense 10
  OUTDIR/mlp_6x200_relu6.onnx    784 -> 6 x (200, ReLU6) -> 10 (Clip 0..6),
        first layer scaled by 20 so that units saturate at 6
  OUTDIR/mlp_6x200_hardtanh_colvec.onnx  the same weights with Hardtanh,
        written the way fully connected verification benchmarks are: input a
        column vector [1, 784, 1] and every layer MatMul(W, x) + b

Exits with code 77 when torch is not importable.
"""
import os
import sys

try:
    import torch
    import torch.nn as nn
except Exception:
    sys.stderr.write("python3-torch is not installed\n")
    sys.exit(77)

import warnings


def export(model, shape, path):
    model.eval()
    x = torch.rand(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    conv = nn.Sequential(
        nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(32 * 3 * 3, 100), nn.ReLU(),
        nn.Linear(100, 10))
    with torch.no_grad():
        conv[0].bias.mul_(1e-4)
    export(conv, (1, 1, 28, 28), os.path.join(out, "convsmall_avgpool.onnx"))

    torch.manual_seed(0)
    layers = [nn.Flatten()]
    width = 784
    for _ in range(9):
        layers += [nn.Linear(width, 200), nn.ReLU()]
        width = 200
    layers.append(nn.Linear(200, 10))
    export(nn.Sequential(*layers), (1, 784), os.path.join(out, "mlp_9x200.onnx"))

    torch.manual_seed(0)
    lenet = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10))
    export(lenet, (1, 1, 28, 28), os.path.join(out, "lenet_paper.onnx"))

    torch.manual_seed(0)
    linears = [nn.Linear(784, 200)] + [nn.Linear(200, 200) for _ in range(5)] + [nn.Linear(200, 10)]
    with torch.no_grad():
        linears[0].weight.mul_(20.0)
    layers = [nn.Flatten()]
    for lin in linears[:-1]:
        layers += [lin, nn.ReLU6()]
    layers.append(linears[-1])
    export(nn.Sequential(*layers), (1, 784), os.path.join(out, "mlp_6x200_relu6.onnx"))

    class ColumnHardtanh(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(l.weight.detach().clone()) for l in linears])
            self.bs = nn.ParameterList([nn.Parameter(l.bias.detach().clone()[:, None]) for l in linears])

        def forward(self, x):  # [N, 784, 1]
            for k in range(len(self.ws)):
                x = torch.matmul(self.ws[k], x) + self.bs[k]
                if k + 1 < len(self.ws):
                    x = torch.nn.functional.hardtanh(x)
            return x

    export(ColumnHardtanh(), (1, 784, 1), os.path.join(out, "mlp_6x200_hardtanh_colvec.onnx"))
    print(out)


if __name__ == "__main__":
    main()
