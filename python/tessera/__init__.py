"""Tessera: the exact linear regions of ReLU networks, from Python.

A ReLU network is piecewise affine: input space is cut into convex regions,
and on each one the logits are V x + a. This module computes those regions
exactly with Tessera's C++ libraries (the same code as the ``tessera``
command line), with NumPy arrays in and typed results out::

    import tessera
    net = tessera.load("data/models/mnist_mlp.onnx")      # or tessera.from_torch(module, example)
    r = tessera.affine(net, x)                            # r.V, r.a, r.layers, r.confidence
    c = tessera.certify(net, x)                           # Theorem 3.1: c.limit_class, c.alpha_star
    s = tessera.certify(net, tessera.uniform_noise(net, 1000))   # a batch, in parallel
    t = tessera.ray(net, x)                               # every region along alpha*x
    p = tessera.slice(net, origin, e1, e2, window=(-3, 3, -3, 3))  # exact 2-D region map

Results have the fields of the command's ``--json`` output (``to_dict()``
gives that JSON). Errors raise ``tessera.Error`` (a ValueError) with the
command line's one-line message. Ctrl-C interrupts long calls
(KeyboardInterrupt) when they run in the main thread; ``time_limit=``
returns a partial result marked ``complete=False``.
"""
import math

import numpy as np

from . import _tessera
from ._results import (AffineResult, Bound, Certificate, Laplace, CertifySet, CertifySummary, Facet, HiddenMap, Layer, Polygon,
                       RayResult, Region, Result, Segment, Slice)
from ._tessera import Error, Network

__version__ = "0.1.0"
__all__ = ["Error", "Network", "bound", "load", "load_bytes", "from_torch", "read_input", "uniform_noise", "affine", "ray",
           "certify", "region", "slice", "set_memory_budget", "memory_budget", "Result", "AffineResult",
           "RayResult", "Segment", "Certificate", "CertifySet", "CertifySummary", "Region", "Facet", "Slice",
           "Polygon", "Layer", "HiddenMap", "Laplace", "Bound"]


def _array(x, what):
    """float64 array from NumPy arrays, lists or torch tensors (no copy for
    C-ordered float64 arrays)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: expected an array of numbers, got {type(x).__name__}") from e


def _box(net, box):
    """'auto' ([0, 1] for image models, none otherwise), None/'none', (lo, hi)
    or (lower, upper) arrays -> None, (lo, hi) or (lower, upper)."""
    if isinstance(box, str):
        if box == "auto":
            return (0.0, 1.0) if len(net.input_shape) == 3 else None
        if box == "none":
            return None
        raise Error(f"box '{box}': expected 'auto', 'none', None, (lo, hi) or (lower, upper)")
    if box is None:
        return None
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise Error("box: expected 'auto', 'none', None, (lo, hi) or (lower, upper)")
    lo, hi = box
    if np.isscalar(lo) and np.isscalar(hi):
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise Error(f"box ({lo:g}, {hi:g}): expected finite lo < hi")
        return (lo, hi)
    return (_array(lo, "box lower bounds"), _array(hi, "box upper bounds"))


def _count(value, what):
    """A positive whole number (sizes and limits), or tessera.Error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise Error(f"{what} must be a whole number >= 1, not {value!r}")
    return int(value)


def _limit(time_limit):
    if time_limit is None:
        return None
    t = float(time_limit)
    if not t >= 0:
        raise Error(f"time_limit must be a number of seconds >= 0, not {time_limit!r}")
    return t


def load(path, *, max_model_mb=None):
    """Loads an ONNX model (the operators ``tessera models --ops`` lists).

    ``max_model_mb`` refuses models whose weights would need more memory
    (default: TESSERA_MAX_MODEL_MB, else 8 GiB). Raises tessera.Error naming
    the file, node and reason for anything missing, corrupt or unsupported.
    """
    return _tessera.load(str(path), max_model_mb)


def load_bytes(data, name="<bytes>", *, max_model_mb=None):
    """Loads an ONNX model from bytes in memory; ``name`` stands for it in
    messages and results (``model``)."""
    return _tessera.load_bytes(bytes(data), name, max_model_mb)


def from_torch(module, example_input, *, opset_version=13, name=None):
    """Exports a ``torch.nn.Module`` through ``torch.onnx.export`` in memory
    (no file is written) and loads it. ``example_input`` is one batch of
    inputs, e.g. ``torch.zeros(1, 1, 28, 28)``. The module's training mode is
    restored afterwards."""
    from ._torch import export_bytes
    return load_bytes(export_bytes(module, example_input, opset_version),
                      name or f"<torch {type(module).__name__}>")


def read_input(net, path, row=-1):
    """Reads one input for ``net`` from a file the command line reads (text
    vector, PNG/PGM image, IDX file; ``row`` picks a row) as a flat array."""
    return _tessera.read_input(net, str(path), int(row))


def uniform_noise(net, count, *, seed=1, box=(0.0, 1.0)):
    """``count`` inputs uniform in the box ``(lo, hi)`` as a (count, d)
    array: the same samples as ``tessera certify --noise uniform --seed S``."""
    lo, hi = box
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise Error(f"seed must be a whole number in [0, 2^64), not {seed!r}")
    return _tessera.uniform_noise(net.input_size, _count(count, "count"), int(seed), float(lo), float(hi))


def affine(net, x, *, layers=False):
    """The linear region of x: logits, softmax, the activation pattern layer
    by layer, and the local affine map (``V``, ``a``) of the logits; with
    ``layers=True`` also every hidden pre-activation's map. An AffineResult."""
    return AffineResult(_tessera.affine(net, _array(x, "x"), bool(layers)))


def ray(net, x0, x1=None, *, direction=None, alpha0=1e-6, t0=0.0, t1=math.inf, max_segments=1_000_000,
        point_segments=True, time_limit=None):
    """Every linear region along a ray or a line, exactly.

    - ``ray(net, x)``: the ray alpha*x for alpha from ``alpha0`` to infinity
      (the last segment is the last region, reaching infinity).
    - ``ray(net, x0, x1)``: the segment from x0 (t = 0) to x1 (t = 1).
    - ``ray(net, x0, direction=d, t0=0, t1=inf)``: the line x0 + t d.

    A RayResult; its ``segments`` give each region's interval, class,
    confidence range and logits (intercept + t * slope).
    """
    limit = _limit(time_limit)
    max_segments = _count(max_segments, "max_segments")
    if x1 is not None and direction is not None:
        raise Error("ray: give x1 (a segment) or direction (a line), not both")
    if x1 is None and direction is None:
        return RayResult(_tessera.ray(net, _array(x0, "x"), float(alpha0), int(max_segments), bool(point_segments),
                                      limit))
    a = _array(x0, "x0")
    if x1 is not None:
        b = _array(x1, "x1")
        if b.size != a.size:
            raise Error(f"x1: has {b.size} values but x0 has {a.size} (ray(net, x0, x1) is the segment from x0 to x1; "
                        "the ray alpha*x is ray(net, x))")
        d = b.reshape(-1) - a.reshape(-1)
        lo, hi = 0.0, 1.0
    else:
        d, lo, hi = _array(direction, "direction"), float(t0), float(t1)
    return RayResult(_tessera.line(net, a, d, lo, hi, int(max_segments), bool(point_segments), limit))


def certify(net, x, *, threshold=0.999, box="auto", alpha0=1e-6, full=False, max_segments=1_000_000, threads=0,
            time_limit=None, batch=None):
    """The certificate of Theorem 3.1 for the ray alpha*x: the last linear
    region, the limit class and confidence as alpha -> infinity, alpha* (from
    where the confidence stays >= threshold), and the report on the box
    (default: [0, 1]^d for image models, none otherwise).

    ``x`` one input (d values: flat, or in the network's input shape): a
    Certificate. ``x`` a batch of shape (N, d) or (N, *input_shape), N >= 1:
    a CertifySet, certified in parallel on ``threads`` cores (0: all), with
    a summary. ``batch=True``/``False`` overrides the guess (``batch=True``
    with one flat input certifies a set of one).
    """
    X = _array(x, "x")
    b = _box(net, box)
    limit = _limit(time_limit)
    max_segments = _count(max_segments, "max_segments")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
        raise Error(f"threads must be 0 (all cores) or a positive number, not {threads!r}")
    d = net.input_size
    if batch is None:
        # A leading batch dimension: (N, d), or (N, *input_shape).
        batch = X.ndim == len(net.input_shape) + 1 or (X.ndim == 2 and X.shape[1] == d)
    if batch:
        if X.size == d and X.ndim < 2:
            X = X.reshape(1, d)  # a set of one
        return CertifySet(_tessera.certify_many(net, X, float(threshold), b, float(alpha0), bool(full), max_segments,
                                                int(threads), limit))
    return Certificate(_tessera.certify_one(net, X, float(threshold), b, float(alpha0), bool(full), max_segments, limit))


def region(net, x, *, box="auto", facets=True, confidence=True, max_lp_rows=5000, time_limit=None):
    """The polytope of x's linear region (its half-spaces, facets,
    boundedness, Chebyshev centre and inradius) and the range of the
    confidence on it, intersected with the box (default: [0, 1]^d for image
    models). A Region."""
    return Region(_tessera.region(net, _array(x, "x"), _box(net, box), bool(facets), bool(confidence),
                                  _count(max_lp_rows, "max_lp_rows"), _limit(time_limit)))


def slice(net, origin, e1, e2, *, window=(-1.0, 1.0, -1.0, 1.0), box=None, max_regions=1_000_000,
          time_limit=None):
    """The exact region map of the plane origin + u e1 + v e2 for (u, v) in
    ``window`` = (u0, u1, v0, v1): every linear region as a polygon with its
    class and confidence range, and the decision boundary. ``box`` clips the
    window to the part of the plane inside (lo, hi) or (lower, upper). A Slice."""
    w = [float(v) for v in window]
    return Slice(_tessera.slice(net, _array(origin, "origin"), _array(e1, "e1"), _array(e2, "e2"), w,
                                _box(net, box), _count(max_regions, "max_regions"), _limit(time_limit)))


def bound(net, x=None, *, eps=None, box="auto", method="crown", tolerance=1e-6, max_branches=200_000,
          attack_steps=20, time_limit=None):
    """Provable bounds on the largest confidence over the l-inf ball of
    radius ``eps`` around ``x``, intersected with ``box`` (default: [0, 1]^d
    for image models), or over ``box`` itself without ``x``: by interval
    arithmetic (``method="ibp"``), a linear relaxation (``"crown"``) or
    exactly by branch and bound (``"exact"``, anytime with ``time_limit``).
    A Bound, as ``tessera bound --json``: upper_bound (holds for every input
    of the set), lower_bound (the confidence of argmax_input, an input of
    the set), gap, complete, class_upper, class_lower, ..."""
    if x is not None:
        x = _array(x, "x")
    if isinstance(attack_steps, bool) or not isinstance(attack_steps, (int, np.integer)) or attack_steps < 0:
        raise Error(f"attack_steps must be a whole number >= 0, not {attack_steps!r}")
    return Bound(_tessera.bound(net, x, None if eps is None else float(eps), _box(net, box), str(method),
                                float(tolerance), _count(max_branches, "max_branches"), int(attack_steps),
                                _limit(time_limit)))


def set_memory_budget(mb):
    """Sets the memory budget (MiB, up to 1e12) that large computations are
    checked against before they allocate (default: TESSERA_MAX_MEMORY_MB,
    else half of physical memory)."""
    _tessera.set_memory_budget(float(mb))


def memory_budget():
    """The memory budget in MiB."""
    return _tessera.memory_budget()
