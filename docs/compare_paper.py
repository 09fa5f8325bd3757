#!/usr/bin/python3
"""Each row of an MNIST `tessera eval --json` table of plain, CEDA and ACET
models beside the paper's Table 1 (Hein et al., CVPR 2019, MNIST block,
LeNet), as Markdown: "ours / paper" for MMC, AUROC and FPR@95. The paper's
row "Noise" is the training noise, Tessera's row `noise` (not `uniform`).

  compare_paper.py TABLE.json [plain,ceda,acet]   (the column names in TABLE.json, in the paper's order)
"""
import json
import sys

# The paper's Table 1, MNIST block: test error, in-distribution MMC, and per
# row (MMC, AUROC, FPR@95), for plain, CEDA, ACET.
PAPER_TE = [0.0051, 0.0074, 0.0066]
PAPER_IN = [0.991, 0.987, 0.986]
PAPER = {
    "fmnist": [(0.654, 0.972, 0.121), (0.373, 0.994, 0.027), (0.239, 0.998, 0.003)],
    "emnist-letters": [(0.821, 0.883, 0.374), (0.787, 0.895, 0.358), (0.752, 0.912, 0.313)],
    "cifar10-gray": [(0.492, 0.996, 0.003), (0.105, 1.000, 0.000), (0.101, 1.000, 0.000)],
    "noise": [(0.463, 0.998, 0.000), (0.100, 1.000, 0.000), (0.100, 1.000, 0.000)],
    "adv-noise": [(1.000, 0.031, 1.000), (0.102, 0.998, 0.002), (0.162, 0.992, 0.042)],
    "adv-samples": [(0.999, 0.358, 0.992), (0.987, 0.549, 0.953), (0.854, 0.692, 0.782)],
}
LABELS = {"fmnist": "FMNIST", "emnist-letters": "EMNIST", "cifar10-gray": "grayCIFAR-10", "noise": "Noise",
          "adv-noise": "Adv. Noise", "adv-samples": "Adv. Samples"}


def main():
    table = json.load(open(sys.argv[1]))
    names = (sys.argv[2] if len(sys.argv) > 2 else "plain,ceda,acet").split(",")
    models = {m["name"]: m for m in table["models"]}
    missing = [n for n in names if n not in models]
    if missing or len(names) != 3:
        sys.exit(f"compare_paper.py: {sys.argv[1]} has the models {sorted(models)}; three of them are needed, not {names}")
    cols = [models[n] for n in names]
    print("| row | " + " | ".join(f"{n}: Tessera | {n}: paper" for n in ("plain", "CEDA", "ACET")) + " |")
    print("|---|" + "---|" * 6)
    print("| test error | " + " | ".join(f"{m['test_error'] * 100:.2f} % | {p * 100:.2f} %" for m, p in zip(cols, PAPER_TE)) + " |")
    print("| MNIST (MMC) | " + " | ".join(f"{m['in_mmc']:.3f} | {p:.3f}" for m, p in zip(cols, PAPER_IN)) + " |")
    for row, paper in PAPER.items():
        cells = []
        for m, p in zip(cols, paper):
            ours = next((o for o in m["out_distributions"] if o["name"] == row), None)
            theirs = " / ".join(f"{v:.3f}" for v in p)
            if ours is None:
                cells.append(f"not evaluated | {theirs}")
            elif ours["count"] == 0:
                cells.append(f"no point | {theirs}")
            else:
                cells.append(f"{ours['mmc']:.3f} / {ours['auroc']:.3f} / {ours['fpr95']:.3f} | {theirs}")
        print(f"| {LABELS[row]} (MMC / AUROC / FPR@95) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
