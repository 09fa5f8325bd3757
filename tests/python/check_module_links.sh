#!/usr/bin/env bash
# The Python module _tessera: no LibTorch, Qt or VTK among its shared
# libraries (it must import beside torch and in a plain Python), and its
# dynamic symbol table exports PyInit__tessera and nothing of Tessera, ONNX,
# protobuf, Eigen or pybind11 (the static libraries' symbols stay inside:
# -Wl,--exclude-libs,ALL and hidden visibility). Weak instantiations of
# standard-library templates are exported by every C++ module; they are not
# counted.
set -euo pipefail
so=$1
if readelf -d "$so" | grep -E 'NEEDED' | grep -iE 'torch|c10|Qt|vtk'; then
  echo "check_module_links.sh: $so links LibTorch, Qt or VTK (above)" >&2
  exit 1
fi
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWu]$/ {print $3}')
if ! grep -qx PyInit__tessera <<<"$exported"; then
  echo "check_module_links.sh: $so does not export PyInit__tessera" >&2
  exit 1
fi
leaked=$(grep -E '^_Z(N|NK)?[0-9]*(7tessera|4onnx|6google|5Eigen|8pybind11)' <<<"$exported" || true)
if [ -n "$leaked" ]; then
  head -20 <<<"$leaked"
  echo "check_module_links.sh: $so exports the symbols above (they could clash with torch's copies)" >&2
  exit 1
fi
echo "ok: $(readelf -d "$so" | grep -c NEEDED) shared libraries, none heavy; no Tessera, ONNX, protobuf, Eigen or pybind11 symbols exported"
