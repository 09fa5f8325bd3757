#!/usr/bin/env bash
# The libraries keep to their jobs, checked on what was built: the symbols a
# static library leaves undefined are what its link line must provide.
#   tessera_core      only Eigen/OpenMP/the C++ runtime: no ONNX, protobuf,
#                     libpng, zlib, Clp, Cairo, VTK, Qt or LibTorch
#   tessera_io        no Clp, Cairo, VTK, Qt, LibTorch
#   tessera_datasets  no Clp, Cairo, VTK, Qt, LibTorch
#   tessera_regions   no Cairo, VTK, Qt, LibTorch, ONNX/protobuf
#   tessera_export    no VTK, Qt, LibTorch
#   tessera_training  no code from cli/ (tessera::cli::) and no Qt
#   tessera_vtk       no Qt, LibTorch
# A library that this build does not have (an option OFF) is skipped.
set -euo pipefail
build=$1
status=0
check() {  # library, pattern of forbidden undefined symbols, what they are[, nm option]
  local lib=$1 pattern=$2 what=$3 which=${4:---undefined-only}
  local file
  file=$(find "$build" -name "lib$lib.a" -print -quit)
  if [ -z "$file" ]; then
    echo "$lib: not built in this configuration, skipped"
    return
  fi
  local bad
  bad=$(nm -C "$which" "$file" 2>/dev/null | grep -E "$pattern" | sort -u | head -5 || true)
  if [ -n "$bad" ]; then
    echo "FAIL $lib uses $what:"
    echo "$bad" | sed 's/^/    /'
    status=1
  else
    echo "ok   $lib"
  fi
}
onnx='onnx::|google::protobuf'
png='png_[a-z]|gz(open|read|write|close)|inflate|deflate'
clp='Clp|Coin[A-Z]'
cairo='cairo_'
vtk='vtk[A-Z]'
qt='Q[A-Z][a-zA-Z]+::|qt_'
torch='torch::|at::|c10::'
check tessera_core "$onnx|$png|$clp|$cairo|$vtk|$qt|$torch" "file formats, LPs, pictures, VTK, Qt or LibTorch"
check tessera_io "$clp|$cairo|$vtk|$qt|$torch" "LPs, pictures, VTK, Qt or LibTorch"
check tessera_datasets "$clp|$cairo|$vtk|$qt|$torch" "LPs, pictures, VTK, Qt or LibTorch"
check tessera_regions "$onnx|$png|$cairo|$vtk|$qt|$torch" "file formats, pictures, VTK, Qt or LibTorch"
check tessera_export "$vtk|$qt|$torch" "VTK, Qt or LibTorch"
check tessera_vtk "$qt|$torch" "Qt or LibTorch"
check tessera_training "tessera::cli::|$qt" "code of the command line (tessera::cli::) or Qt"
check tessera_training "tessera::cli::" "code of the command line (tessera::cli::), compiled in" --defined-only
# And the opposite: the libraries do use what they are for (a check that
# cannot fail would prove nothing).
need() {
  local lib=$1 pattern=$2 what=$3 file
  file=$(find "$build" -name "lib$lib.a" -print -quit)
  [ -z "$file" ] && return
  local symbols
  symbols=$(nm -C --undefined-only "$file" 2>/dev/null)
  if ! grep -qE "$pattern" <<<"$symbols"; then
    echo "FAIL $lib: the check found no $what in it: is the pattern still right?"
    status=1
  fi
}
need tessera_io "$onnx" "ONNX symbols"
need tessera_regions "$clp" "Clp symbols"
need tessera_datasets "Mat_Open|EVP_Digest" "libmatio or libcrypto symbols"
need tessera_export "$cairo" "Cairo symbols"
exit $status
