#!/usr/bin/env python3
"""Tessera from Python, notebook style: train a small ReLU network on two
moons with PyTorch, certify 1000 uniform-noise rays (Theorem 3.1 of Hein et
al., CVPR 2019), follow the confidence along three of them exactly, and plot
the network's exact region map from tessera.slice().

  PYTHONPATH=build/python python3 docs/examples/two_moons.py [--out FILE.png] [--quick]
"""
import argparse
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

import tessera  # noqa: E402


def two_moons(n, rng, spread=0.1):
    """Two interleaved half circles (the formula of `tessera train --data moons`)."""
    labels = rng.integers(0, 2, n)
    t = rng.uniform(0, math.pi, n)
    x = np.cos(t) * (1 - 2 * labels) + labels - 0.5
    y = np.sin(t) * (1 - 2 * labels) + 0.5 * labels - 0.25
    return np.stack([x, y], 1) + spread * rng.standard_normal((n, 2)), labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="two_moons.png", help="the picture to write")
    parser.add_argument("--quick", action="store_true", help="fewer training steps and rays (for the docs check)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)

    # 1. Train a 2-32-32-2 ReLU network with PyTorch, full batch.
    X, y = two_moons(1000, rng, spread=0.15)
    model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    for _ in range(100 if args.quick else 300):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss.backward()
        opt.step()
    accuracy = (model(Xt).argmax(1) == yt).float().mean().item()
    print(f"trained: loss {loss.item():.3f}, training accuracy {accuracy:.3f}")

    # 2. The same network in Tessera, exported in memory.
    net = tessera.from_torch(model, torch.zeros(1, 2))
    print(net)

    # 3. Certify uniform-noise rays alpha * x: every one ends in a region where
    #    the confidence tends to 1 (unless classes tie), from alpha* on.
    count = 200 if args.quick else 1000
    noise = tessera.uniform_noise(net, count, seed=1, box=(-3, 3))
    cs = tessera.certify(net, noise, threshold=0.99, box=(-3, 3))
    s = cs.summary
    print(f"certified {s.count} noise rays: {s.complete} complete, {s.ties} end in a tie, "
          f"mean limit confidence {s.to_dict()['mean_limit_confidence']:.6f}, median alpha* (99 %) "
          f"{s.median_alpha_star:.3g}")

    # 4. The exact region map of the input plane, and three rays.
    sl = tessera.slice(net, [0, 0], [1, 0], [0, 1], window=(-3, 3, -3, 3))
    print(f"slice: {sl.regions} linear regions in [-3, 3]^2, {len(sl.decision_boundary)} decision-boundary pieces")

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.4))
    colours = np.array([[0.23, 0.45, 0.80], [0.90, 0.47, 0.15]])
    faces = [colours[p.class_] * (0.35 + 0.65 * p.confidence_min) + (1 - (0.35 + 0.65 * p.confidence_min))
             for p in sl.polygons]
    left.add_collection(PolyCollection([p.vertices for p in sl.polygons], facecolors=faces, edgecolors="white",
                                       linewidths=0.4))
    left.add_collection(LineCollection(sl.decision_boundary, colors="black", linewidths=1.5))
    left.scatter(X[:300, 0], X[:300, 1], c=colours[y[:300]] * 0.6, s=9, edgecolors="white", linewidths=0.4)
    rays = noise[:3]
    for i, x in enumerate(rays):
        end = 3 * x / np.abs(x).max()  # where the ray leaves the window
        left.plot([0, end[0]], [0, end[1]], color=f"C{i + 2}", lw=2)
        left.annotate(f"ray {i}", 0.8 * end, fontsize=10, color=f"C{i + 2}", weight="bold")
    left.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal",
             title=f"{sl.regions} exact linear regions (paler: less confident)")

    alphas = np.logspace(-2, 3, 600)
    for i, x in enumerate(rays):
        t = tessera.ray(net, x, alpha0=alphas[0])
        conf = np.empty_like(alphas)
        for seg in t.segments:  # on each region the logits are exactly intercept + alpha * slope
            end = math.inf if seg.t_end is None else seg.t_end
            inside = (alphas >= seg.t_begin) & (alphas <= end)
            logits = seg.logits_intercept[None, :] + alphas[inside, None] * seg.logits_slope[None, :]
            p = np.exp(logits - logits.max(1, keepdims=True))
            conf[inside] = (p / p.sum(1, keepdims=True)).max(1)
        c = cs.certificates[i]
        right.semilogx(alphas, conf, color=f"C{i + 2}", label=f"ray {i}: {len(t.segments)} regions, limit class {c.limit_class}, "
                                           f"alpha* = {c.alpha_star:.3g}")
        right.axvline(c.alpha_star, color=right.lines[-1].get_color(), ls=":", lw=1)
    right.axhline(0.99, color="0.5", lw=0.8)
    right.set(xlabel="alpha", ylabel="max softmax along alpha * x", ylim=(0.45, 1.02),
              title="Confidence along rays: exactly 1 in the limit (Theorem 3.1)")
    right.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
