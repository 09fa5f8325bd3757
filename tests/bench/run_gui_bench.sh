#!/usr/bin/env bash
# Interaction timings of the desktop app on a map of ~12 000 regions (the
# trained MNIST model through a digit, window ±125): 60 pans of the map
# (each rendered at once: VTK's polygons and edges, then the overlay) and 40
# moves of the alpha slider along a ray (chart, bars, pattern, map overlay,
# 3-D marker). Medians over RUNS runs of the app (default 3).
#   tests/bench/run_gui_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
RUNS=${RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$RUNS"); do
  xvfb-run -a -s "-screen 0 1600x1000x24" "$BUILD/cli/tessera-gui" data/models/trained/mnist_plain.onnx \
    --input data/inputs/seven.pgm --window=-125:125:-125:125 --point 10,5 --measure \
    --screenshot "$tmp/shot.png" --report "$tmp/run$i.json" 2>/dev/null
done
python3 - "$tmp" "$RUNS" <<'PY'
import json, statistics as st, sys
d, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{d}/run{i}.json")) for i in range(1, n + 1)]
frames = [x for r in runs for x in r["frame_ms"]]
render = [x for r in runs for x in r["render_ms"]]
alpha = [x for r in runs for x in r["alpha_ms"]]
print(f"regions {runs[0]['regions']}")
print(f"pan frame: median {st.median(frames):.1f} ms ({1000 / st.median(frames):.1f} frames/s), VTK render {st.median(render):.1f} ms")
print(f"alpha step: median {st.median(alpha):.1f} ms, 90th percentile {sorted(alpha)[int(0.9 * len(alpha))]:.1f} ms")
PY
