#!/usr/bin/python3
"""Generate an independent PyTorch oracle for Tessera's ONNX importer and
local affine maps.

Usage:  /usr/bin/python3 make_oracle_cases.py OUTDIR

For every case NAME this writes OUTDIR/NAME.onnx (exported with
torch.onnx.export) and OUTDIR/NAME.case, a whitespace-separated text file:

    tessera-oracle 1
    D K M
    then, for each of the M points, four lines:
      x         D input values, C-order of one sample in the model's own
                input layout (NHWC models: H,W,C order); exactly
                representable in float32
      logits64  K logits of the float64 copy of the model at x
      logits32  K logits of the float32 model at x
      jacobian  K*D entries d logit_k / d x_j, row-major (k outer),
                computed by autograd on the float64 model

"Logits" are the values before a trailing softmax where the model ends in
one (cases whose name contains "softmax"); for all other cases they are the
model's output.  For a ReLU-type network the Jacobian is V(x) of the local
affine map f(x) = V(x) x + a(x), so a(x) = logits64 - V(x) x.

Points are drawn away from kinks: each ReLU/LeakyReLU input is at least
MARGIN away from 0 and each max-pool window's top two values (when the top
is positive) are at least MARGIN apart, so that float32 and float64
evaluation share one activation pattern.

OUTDIR/manifest.txt lists one case per line as "NAME OPSET".

Exits with code 77 (ctest: skipped) when torch is not importable.
Needs neither numpy nor the onnx Python package.
"""

import sys

try:
    import torch
except Exception:  # ImportError, or a broken install
    sys.stderr.write("python3-torch is not installed: oracle cases not generated\n")
    sys.exit(77)

import copy
import io
import os
import warnings

import torch.nn as nn
import torch.nn.functional as F

NUM_POINTS = 5
MARGIN = 1e-4
MAX_TRIES = 200
PREFERRED_OPSETS = (11, 13, 17)
NOFOLD_OPSET = 13


# --------------------------------------------------------------------------
# Models.  Each has forward() (what gets exported) and logits() (what the
# oracle records); they differ only for the softmax case.
# --------------------------------------------------------------------------

class OracleModule(nn.Module):
    def logits(self, x):
        return self.forward(x)


class MlpGemm(OracleModule):
    """nn.Linear + ReLU -> Gemm/Relu."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(20, 16), nn.ReLU(),
            nn.Linear(16, 12), nn.ReLU(),
            nn.Linear(12, 5))

    def forward(self, x):
        return self.net(x)


class MlpLeakyBnDropout(OracleModule):
    """LeakyReLU(0.1), BatchNorm1d (non-trivial statistics), Dropout."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(12, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.1),
            nn.Dropout(0.3),
            nn.Linear(16, 10), nn.LeakyReLU(0.1), nn.BatchNorm1d(10),
            nn.Dropout(0.2),
            nn.Linear(10, 4))

    def forward(self, x):
        return self.net(x)


class MlpMatMulSoftmax(OracleModule):
    """Explicit x @ W + b (MatMul + Add), (x - mean) / std input
    normalisation with constant tensors (Sub/Div), trailing softmax."""

    def __init__(self):
        super().__init__()
        d, h1, h2, k = 10, 14, 9, 6
        self.w1 = nn.Parameter(torch.randn(d, h1) / d ** 0.5)
        self.b1 = nn.Parameter(0.1 * torch.randn(h1))
        self.w2 = nn.Parameter(torch.randn(h1, h2) / h1 ** 0.5)
        self.b2 = nn.Parameter(0.1 * torch.randn(h2))
        self.w3 = nn.Parameter(torch.randn(h2, k) / h2 ** 0.5)
        self.b3 = nn.Parameter(0.1 * torch.randn(k))
        # mean is a buffer (exported as an initializer); std is a plain list
        # of float32-representable numbers turned into a tensor inside
        # forward (exported as a Constant node), in the dtype of x so that
        # the float64 copy divides by the very same numbers.
        self.register_buffer("mean", 0.5 * torch.randn(d))
        self.std = (0.5 + torch.rand(d)).tolist()
        self.act1 = nn.ReLU()
        self.act2 = nn.ReLU()

    def logits(self, x):
        std = torch.tensor(self.std, dtype=x.dtype)
        x = (x - self.mean) / std
        x = self.act1(x @ self.w1 + self.b1)
        x = self.act2(x @ self.w2 + self.b2)
        return x @ self.w3 + self.b3

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


class CnnViewFlatten(OracleModule):
    """Conv+BN+ReLU+MaxPool, Conv+ReLU+AvgPool, x.view(x.size(0), -1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=1, padding=0, dilation=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(6 * 2 * 2, 16)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):                       # [N,1,12,12]
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))   # [N,4,6,6]
        x = self.pool2(self.relu2(self.conv2(x)))             # [N,6,2,2]
        x = x.view(x.size(0), -1)
        return self.fc2(self.relu3(self.fc1(x)))


class CnnResidual(OracleModule):
    """Residual block relu(conv(h) + h), strided and dilated convs,
    LeakyReLU, AdaptiveAvgPool2d(1) (GlobalAveragePool), torch.flatten."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.lrelu1 = nn.LeakyReLU(0.05)
        self.conv4 = nn.Conv2d(6, 6, 3, padding=2, dilation=2)
        self.lrelu2 = nn.LeakyReLU(0.2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):                       # [N,1,12,12]
        h = self.relu1(self.conv1(x))           # [N,4,12,12]
        h = self.relu2(self.conv2(h) + h)       # residual
        h = self.lrelu1(self.conv3(h))          # [N,6,6,6]
        h = self.lrelu2(self.conv4(h))          # [N,6,6,6]
        h = torch.flatten(self.gap(h), 1)       # [N,6]
        return self.fc(h)


class CnnNhwc(OracleModule):
    """NHWC input [N,8,8,1] permuted to NCHW inside the model."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):                       # [N,8,8,1]
        x = x.permute(0, 3, 1, 2)               # [N,1,8,8]
        x = self.relu2(self.conv2(self.relu(self.conv(x))))    # [N,4,4,4]
        x = x.reshape(x.shape[0], -1)
        return self.fc(x)


class CnnAvgPoolPad(OracleModule):
    """AvgPool2d(3, stride 2, padding 1) with a given count_include_pad."""

    def __init__(self, count_include_pad):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool2d(3, stride=2, padding=1,
                                 count_include_pad=count_include_pad)
        self.fc = nn.Linear(3 * 4 * 4, 4)

    def forward(self, x):                       # [N,2,7,7]
        x = self.pool(self.relu(self.conv(x)))  # [N,3,4,4]
        return self.fc(torch.flatten(x, 1))


# Piecewise-linear activations beyond ReLU.  Each records, while RECORD is a
# list, its inputs' distance to its kinks, so that points are drawn away
# from them (see kink_margin).
RECORD = None


def record_kinks(z, knots):
    if RECORD is not None:
        RECORD.append(min((z - k).abs().min().item() for k in knots))


class Kinked(nn.Module):
    """fn applied elementwise, with kinks at the given knots."""

    def __init__(self, fn, knots):
        super().__init__()
        self.fn = fn
        self.knots = knots

    def forward(self, x):
        record_kinks(x, self.knots)
        return self.fn(x)


class PReluKinked(nn.PReLU):
    def forward(self, x):
        record_kinks(x, [0.0])
        return super().forward(x)


def maximum(a, b):
    if RECORD is not None:
        RECORD.append((a - b).abs().min().item())
    return torch.maximum(a, b)


def minimum(a, b):
    if RECORD is not None:
        RECORD.append((a - b).abs().min().item())
    return torch.minimum(a, b)


class MlpClipFamily(OracleModule):
    """ReLU6, Hardtanh, clamp with one bound (Clip with min only / max
    only), Abs, PReLU with one slope per unit and with a shared slope."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(10, 16)
        self.relu6 = Kinked(nn.ReLU6(), [0.0, 6.0])
        self.l2 = nn.Linear(16, 14)
        self.htanh = Kinked(nn.Hardtanh(-0.5, 0.8), [-0.5, 0.8])
        self.l3 = nn.Linear(14, 12)
        self.clamp_lo = Kinked(lambda z: torch.clamp(z, min=-0.2), [-0.2])
        self.l4 = nn.Linear(12, 12)
        self.clamp_hi = Kinked(lambda z: torch.clamp(z, max=0.3), [0.3])
        self.l5 = nn.Linear(12, 10)
        self.abs = Kinked(torch.abs, [0.0])
        self.l6 = nn.Linear(10, 9)
        self.prelu = PReluKinked(9, init=0.1)
        self.l7 = nn.Linear(9, 8)
        self.prelu1 = PReluKinked(1, init=-0.3)
        self.out = nn.Linear(8, 4)
        with torch.no_grad():
            self.prelu.weight.copy_(torch.linspace(-0.5, 0.7, 9))
            self.l1.weight.mul_(12.0)  # let ReLU6 saturate at 6 sometimes

    def forward(self, x):
        x = self.relu6(self.l1(x))
        x = self.htanh(self.l2(x))
        x = self.clamp_lo(self.l3(x))
        x = self.clamp_hi(self.l4(x))
        x = self.abs(self.l5(x))
        x = self.prelu(self.l6(x))
        x = self.prelu1(self.l7(x))
        return self.out(x)


class MlpMaxMinLeaky(OracleModule):
    """torch.maximum / minimum of two activations and of an activation and
    a constant tensor; LeakyReLU with slopes above 1 and below 0; negation
    (Neg) and Hardsigmoid (HardSigmoid, a clip of an affine map)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 12)
        self.b = nn.Linear(8, 12)
        self.c = nn.Linear(12, 10)
        self.d = nn.Linear(12, 10)
        self.register_buffer("floor", 0.3 * torch.randn(10))
        self.leaky_steep = Kinked(nn.LeakyReLU(1.5), [0.0])
        self.e = nn.Linear(10, 10)
        self.leaky_neg = Kinked(nn.LeakyReLU(-0.3), [0.0])
        self.f = nn.Linear(10, 8)
        self.hsig = Kinked(nn.Hardsigmoid(), [-3.0, 3.0])
        self.out = nn.Linear(8, 3)
        with torch.no_grad():
            self.f.weight.mul_(6.0)   # let Hardsigmoid saturate sometimes

    def forward(self, x):
        h = maximum(self.a(x), self.b(x))
        g = minimum(self.c(h), self.d(h))
        g = maximum(g, self.floor)
        g = minimum(g, self.floor + 0.8)
        g = self.leaky_steep(g)
        g = self.leaky_neg(self.e(g))
        return self.out(self.hsig(-self.f(g)))


class CnnClipPRelu(OracleModule):
    """Conv + ReLU6, conv + per-channel PReLU, max-pool, Hardtanh head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu6 = Kinked(nn.ReLU6(), [0.0, 6.0])
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
        self.prelu = PReluKinked(5)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(5 * 4 * 4, 12)
        self.htanh = Kinked(nn.Hardtanh(), [-1.0, 1.0])
        self.out = nn.Linear(12, 4)
        with torch.no_grad():
            self.prelu.weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.05, 0.5]))
            self.conv1.weight.mul_(8.0)

    def forward(self, x):                       # [N,1,8,8]
        x = self.relu6(self.conv1(x))
        x = self.pool(self.prelu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.out(self.htanh(self.fc(x)))


class MlpColumnVector(OracleModule):
    """Verification-benchmark style: x is a column vector [N, d, 1] and
    every layer is MatMul(W, x) + b (W on the left)."""

    def __init__(self, d=12, h=10, k=4):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(h, d) / d ** 0.5)
        self.b1 = nn.Parameter(0.1 * torch.randn(h, 1))
        self.w2 = nn.Parameter(torch.randn(k, h) / h ** 0.5)
        self.b2 = nn.Parameter(0.1 * torch.randn(k, 1))
        self.act = Kinked(torch.relu, [0.0])

    def forward(self, x):
        return torch.matmul(self.w2, self.act(torch.matmul(self.w1, x) + self.b1)) + self.b2


class MlpRowUnbatched(OracleModule):
    """A rank-1 input [d] (no batch dimension), x @ W^T + b, and a
    [1, 1, d] input through nn.Linear (MatMul on rank 3)."""

    def __init__(self, d=9):
        super().__init__()
        self.l1 = nn.Linear(d, 11)
        self.act = Kinked(torch.relu, [0.0])
        self.l2 = nn.Linear(11, 3)

    def forward(self, x):
        return self.l2(self.act(self.l1(x)))


def randomise_batchnorm(model):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(0.3 * torch.randn(n))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n))
                m.weight.copy_(0.5 + torch.rand(n))
                m.bias.copy_(0.2 * torch.randn(n))


# name, constructor, per-sample input shape, input kind[, batched: False
# exports the input without a batch dimension]
MODELS = [
    ("mlp_gemm_relu", MlpGemm, (20,), "normal"),
    ("mlp_leaky_bn_dropout", MlpLeakyBnDropout, (12,), "normal"),
    ("mlp_matmul_norm_softmax", MlpMatMulSoftmax, (10,), "normal"),
    ("cnn_bn_maxpool_avgpool_view", CnnViewFlatten, (1, 12, 12), "uniform"),
    ("cnn_residual_stride_dilation_gap", CnnResidual, (1, 12, 12), "uniform"),
    ("cnn_nhwc_permute", CnnNhwc, (8, 8, 1), "uniform"),
    ("cnn_avgpool_pad_include", lambda: CnnAvgPoolPad(True), (2, 7, 7), "uniform"),
    ("cnn_avgpool_pad_exclude", lambda: CnnAvgPoolPad(False), (2, 7, 7), "uniform"),
    ("mlp_clip_relu6_hardtanh_abs_prelu", MlpClipFamily, (10,), "normal"),
    ("mlp_max_min_leaky_any_slope", MlpMaxMinLeaky, (8,), "normal"),
    ("cnn_relu6_prelu_hardtanh", CnnClipPRelu, (1, 8, 8), "uniform"),
    ("mlp_column_vector_n_d_1", MlpColumnVector, (12, 1), "normal"),
    ("mlp_column_vector_d_1_unbatched", MlpColumnVector, (12, 1), "normal", False),
    ("mlp_rank1_d_unbatched", MlpRowUnbatched, (9,), "normal", False),
    ("mlp_row_1_1_d", MlpRowUnbatched, (1, 9), "normal"),
]


# --------------------------------------------------------------------------
# Kink-margin check.
# --------------------------------------------------------------------------

def kink_margin(model, x):
    """Smallest distance to a kink of the model evaluated at x (batch 1)."""
    margins = []
    hooks = []

    def act_hook(_mod, inp, _out):
        margins.append(inp[0].abs().min().item())

    def pool_hook(mod, inp, _out):
        t = inp[0]
        k, s = mod.kernel_size, mod.stride
        k = k if isinstance(k, int) else k[0]
        s = s if isinstance(s, int) else s[0]
        cols = F.unfold(t, kernel_size=k, stride=s)      # [1, C*k*k, L]
        n, _, length = cols.shape
        cols = cols.reshape(n, t.shape[1], k * k, length)
        top2 = cols.topk(2, dim=2).values
        gap = top2[:, :, 0, :] - top2[:, :, 1, :]
        gap = gap[top2[:, :, 0, :] > 0]
        if gap.numel():
            margins.append(gap.min().item())

    global RECORD
    for m in model.modules():
        if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
            hooks.append(m.register_forward_hook(act_hook))
        elif isinstance(m, nn.MaxPool2d):
            hooks.append(m.register_forward_hook(pool_hook))
    RECORD = margins
    try:
        with torch.no_grad():
            model.logits(x)
    finally:
        RECORD = None
        for h in hooks:
            h.remove()
    return min(margins) if margins else float("inf")


def draw_point(shape, kind, gen):
    if kind == "uniform":
        x = torch.rand(shape, generator=gen, dtype=torch.float32)
    else:
        x = torch.randn(shape, generator=gen, dtype=torch.float32)
    return x  # float32; .double() is exact


# --------------------------------------------------------------------------
# Export and case writing.
# --------------------------------------------------------------------------

def supported_opsets():
    probe = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).eval()
    ok = []
    for v in PREFERRED_OPSETS:
        candidates = [v] if v != PREFERRED_OPSETS[-1] else list(range(v, 10, -1))
        for c in candidates:
            try:
                torch.onnx.export(probe, torch.zeros(1, 2), io.BytesIO(),
                                  opset_version=c)
            except Exception:
                continue
            if c not in ok:
                ok.append(c)
            break
    return ok


def export(model, shape, path, opset, fold, batched=True):
    example = torch.rand(((1,) if batched else ()) + tuple(shape), dtype=torch.float32)
    axes = {"input": {0: "batch"}, "output": {0: "batch"}} if batched else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, path,
                          opset_version=opset,
                          input_names=["input"],
                          output_names=["output"],
                          dynamic_axes=axes,
                          do_constant_folding=fold)


def fmt(values):
    return " ".join("%.17g" % v for v in values)


def make_points(model32, model64, shape, kind, seed, batched=True):
    gen = torch.Generator().manual_seed(seed)
    batch = (lambda t: t.unsqueeze(0)) if batched else (lambda t: t)
    points = []
    tries = 0
    while len(points) < NUM_POINTS:
        tries += 1
        if tries > MAX_TRIES:
            raise RuntimeError("could not draw points away from kinks")
        x32 = draw_point(shape, kind, gen)
        x64 = x32.double()
        if kink_margin(model64, batch(x64)) < MARGIN:
            continue
        if kink_margin(model32, batch(x32)) < MARGIN:
            continue
        with torch.no_grad():
            l64 = model64.logits(batch(x64)).reshape(-1)
            l32 = model32.logits(batch(x32)).reshape(-1)

        def f(xs):
            return model64.logits(batch(xs)).reshape(-1)

        jac = torch.autograd.functional.jacobian(f, x64)
        jac = jac.reshape(l64.numel(), x64.numel())
        points.append((x64.reshape(-1), l64, l32.double(), jac.reshape(-1)))
    return points


def write_case(path, points):
    d = points[0][0].numel()
    k = points[0][1].numel()
    with open(path, "w") as fh:
        fh.write("tessera-oracle 1\n")
        fh.write("%d %d %d\n" % (d, k, len(points)))
        for x, l64, l32, jac in points:
            fh.write(fmt(x.tolist()) + "\n")
            fh.write(fmt(l64.tolist()) + "\n")
            fh.write(fmt(l32.tolist()) + "\n")
            fh.write(fmt(jac.tolist()) + "\n")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: %s OUTDIR\n" % argv[0])
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)

    opsets = supported_opsets()
    if not opsets:
        sys.stderr.write("torch.onnx.export failed for every opset tried\n")
        return 1
    print("torch %s: exporting with opsets %s (unfolded variants: opset %d)"
          % (torch.__version__, " ".join(map(str, opsets)),
             NOFOLD_OPSET if NOFOLD_OPSET in opsets else opsets[0]))
    nofold_opset = NOFOLD_OPSET if NOFOLD_OPSET in opsets else opsets[0]

    manifest = []
    for index, entry in enumerate(MODELS):
        name, ctor, shape, kind = entry[:4]
        batched = entry[4] if len(entry) > 4 else True
        torch.manual_seed(1000 + index)
        model32 = ctor()
        randomise_batchnorm(model32)
        model32.eval()
        model64 = copy.deepcopy(model32).double().eval()

        points = make_points(model32, model64, shape, kind, 2000 + index, batched)

        variants = [(v, True) for v in opsets] + [(nofold_opset, False)]
        for opset, fold in variants:
            case = "%s_op%d%s" % (name, opset, "" if fold else "_nofold")
            export(model32, shape, os.path.join(outdir, case + ".onnx"),
                   opset, fold, batched)
            write_case(os.path.join(outdir, case + ".case"), points)
            manifest.append((case, opset))

    with open(os.path.join(outdir, "manifest.txt"), "w") as fh:
        for case, opset in manifest:
            fh.write("%s %d\n" % (case, opset))
    print("wrote %d oracle cases to %s" % (len(manifest), outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
