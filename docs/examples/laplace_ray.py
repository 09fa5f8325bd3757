#!/usr/bin/env python3
"""Confidence along rays alpha*x for the shipped MNIST MLPs: the plain
network, ACET, and the plain network with a last-layer Laplace posterior
(data/models/trained/mnist_plain.laplace.onnx). The plain and ACET curves are
the networks' softmax; the Laplace curve is its probit predictive, and the
dashed line is its exact limit as alpha -> inf from tessera.certify (the
ray's last linear region), with the alpha from which it stays within 1e-3.

  PYTHONPATH=build/python python3 docs/examples/laplace_ray.py [--out FILE.png]
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tessera  # noqa: E402

MODELS = "data/models/trained/"


def curve(net, x, alphas, laplace):
    """Max confidence at alpha*x, exactly (one forward pass per alpha)."""
    out = []
    for a in alphas:
        r = tessera.affine(net, a * x)
        out.append(r.laplace.confidence if laplace else r.confidence)
    return np.array(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="laplace_ray.png", help="the picture to write")
    args = parser.parse_args()
    plain = tessera.load(MODELS + "mnist_plain.onnx")
    acet = tessera.load(MODELS + "mnist_acet.onnx")
    lap = tessera.load(MODELS + "mnist_plain.laplace.onnx")
    assert lap.has_laplace
    noise = tessera.uniform_noise(lap, 1, seed=3)[0]
    seven = tessera.read_input(lap, "data/inputs/seven.pgm")
    alphas = np.logspace(-2, 8, 400)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x, title in ((axes[0], noise, "uniform noise u, ray alpha*u"),
                         (axes[1], seven, "test digit x (a seven), ray alpha*x")):
        ax.semilogx(alphas, curve(plain, x, alphas, False), color="tab:red", lw=2, label="plain")
        ax.semilogx(alphas, curve(acet, x, alphas, False), color="tab:green", lw=2, label="ACET")
        ax.semilogx(alphas, curve(lap, x, alphas, True), color="tab:blue", lw=2, label="plain + last-layer Laplace")
        c = tessera.certify(lap, x)
        ax.axhline(c.laplace.limit_confidence, color="tab:blue", ls="--", lw=1,
                   label="Laplace limit (exact): %.3f" % c.laplace.limit_confidence)
        ax.axvline(c.laplace.alpha_within, color="tab:blue", ls=":", lw=1,
                   label="within 1e-3 of it from alpha = %.3g" % c.laplace.alpha_within)
        ax.axvline(1.0, color="0.6", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("alpha")
        ax.set_ylim(0, 1.05)
        ax.legend(loc="center right", fontsize=8, framealpha=0.9)
        print("%s: plain limit %.6f, ACET limit %.6f, Laplace limit %.6f (1 - limit = %.3g), within 1e-3 from alpha %.4g"
              % (title.split(",")[0], tessera.certify(plain, x).limit_confidence, tessera.certify(acet, x).limit_confidence,
                 c.laplace.limit_confidence, c.laplace.one_minus_limit_confidence, c.laplace.alpha_within))
    axes[0].set_ylabel("max confidence")
    fig.suptitle("Far away along a ray: Theorem 3.1 for the networks, a limit below 1 with a Laplace posterior")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
