#!/usr/bin/python3
"""One row of docs/results/table2.md from two `tessera certify --json` runs
of the same set: the default (from infinity) and --full. Both definitions
of the paper's alpha: the first crossing of the threshold (median_first_alpha)
and alpha* (the last crossing: the confidence stays above it from there on). Also counts the
certificates on which a field both compute differs (alphas and confidences
beyond 1e-9 relative, anything else at all).

  table2_row.py NAME FAST.json FULL.json T0 T1 T2 [per-ray]

FULL.json may hold only the first rays of FAST.json's set (the same seed
gives the same samples, in order): the comparison then covers those rays,
and the regions crossed are FULL.json's median. With `per-ray` the times
are per ray (each run's time over its number of rays) instead of per set.
"""
import json
import sys

EXACT = ["complete", "predicted_class", "confidence_at_input", "last_region_hash", "limit_class", "limit_ties",
         "limit_confidence", "limit_logits", "box_entry_alpha", "box_exit_alpha"]
CLOSE = ["last_region_alpha", "alpha_star", "first_alpha", "max_confidence_in_box", "first_alpha_in_box"]


def count_differences(fast_certificates, full_certificates):
    """Certificates (paired in order) on which a field both methods compute
    differs: the CLOSE ones by more than 1e-9 relative, the EXACT ones at all."""
    differ = 0
    for a, b in zip(fast_certificates, full_certificates):
        bad = any(a[k] != b[k] for k in EXACT)
        for k in CLOSE:
            x, y = a[k], b[k]
            bad |= (x is None) != (y is None) or (x is not None and abs(x - y) > 1e-9 * max(abs(x), abs(y)))
        differ += bad
    return differ


def main():
    name, fast_path, full_path = sys.argv[1:4]
    t0, t1, t2 = map(float, sys.argv[4:7])
    fast, full = json.load(open(fast_path)), json.load(open(full_path))
    s, sf = fast["summary"], full["summary"]
    n_fast, n_full = len(fast["certificates"]), len(full["certificates"])
    if n_fast == 0 or n_full == 0:
        sys.exit(f"table2_row.py: {fast_path if n_fast == 0 else full_path} holds no certificate")
    compared = min(n_fast, n_full)
    differ = count_differences(fast["certificates"][:compared], full["certificates"][:compared])
    if len(sys.argv) > 7 and sys.argv[7] == "per-ray":
        times = f"{(t1 - t0) / n_fast:.2f} s / {(t2 - t1) / n_full:.1f} s"
    else:
        times = f"{t1 - t0:.1f} s / {t2 - t1:.1f} s"
    a, f = s["median_alpha_star"], s["median_first_alpha"]
    print(f"| {name} | {'%.3g' % f if f is not None else 'never'} | {s['with_first_alpha']}/{s['count']} "
          f"| {'%.3g' % a if a is not None else 'never'} | {s['with_alpha_star']}/{s['count']} "
          f"| {s['ties']}/{s['count']} | {s['with_first_alpha_in_box']}/{s['count']} "
          f"| {s['median_max_confidence_in_box']:.3f} | {sf['median_segments']:.0f} | {s['median_regions_visited']:.0f} "
          f"| {times} | {differ}/{compared} |")


if __name__ == "__main__":
    main()
