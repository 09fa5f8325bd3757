#!/usr/bin/env python3
"""Opens .vtp files written by `tessera slice` (VTK's own writer, through the
tessera_vtk library) with VTK's own reader (Debian's python3-vtk9) and checks
them: one cell per region (2-D) or face (3-D), the cell arrays (the files'
and the app's: region and the RGB colour, the active scalars), and that the
2-D cells' areas add up to the window.

    check_vtp.py TESSERA_EXE SOURCE_DIR WORKDIR
Exit 77 (skipped) when VTK's Python module is missing.
"""
import json
import os
import subprocess
import sys

try:
    import vtk
except ImportError:
    print("python3-vtk9 is not installed: .vtp files not checked with VTK", file=sys.stderr)
    sys.exit(77)

exe, src, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)


def read(path):
    r = vtk.vtkXMLPolyDataReader()
    r.SetFileName(path)
    r.Update()
    if r.GetErrorCode() != 0:
        sys.exit(f"{path}: VTK reports error code {r.GetErrorCode()}")
    return r.GetOutput()


def arrays(pd):
    cd = pd.GetCellData()
    names = {cd.GetArrayName(i) for i in range(cd.GetNumberOfArrays())}
    # The app's arrays: the polygon's index and its colour (RGB bytes, the scalars).
    assert {"region", "colour"} <= names, names
    colour = cd.GetScalars()
    assert colour is not None and colour.GetName() == "colour", colour
    assert colour.GetNumberOfComponents() == 3 and colour.GetDataTypeAsString() == "unsigned char", colour
    assert colour.GetNumberOfTuples() == pd.GetNumberOfCells()
    return names


two = os.path.join(work, "slice2d.vtp")
run = subprocess.run([exe, "slice", "data/models/toy2d.onnx", "--window", "-3:3:-3:3", "--json", "--vtp", two],
                     cwd=src, capture_output=True, text=True)
if "this build of tessera has no VTK" in run.stderr:
    print("tessera was built without VTK (-DTESSERA_BUILD_VTK=OFF): no .vtp files to check", file=sys.stderr)
    sys.exit(77)
if run.returncode != 0:
    sys.exit(f"tessera slice --vtp failed ({run.returncode}): {run.stderr}")
out = run.stdout
regions = json.loads(out)["regions"]
pd = read(two)
assert pd.GetNumberOfCells() == regions, (pd.GetNumberOfCells(), regions)
assert {"region_id", "pattern_hash_hi", "pattern_hash_lo", "class", "confidence_min", "confidence_max",
        "area"} <= arrays(pd), arrays(pd)
sizes = vtk.vtkCellSizeFilter()
sizes.SetInputData(pd)
sizes.Update()
area = sizes.GetOutput().GetCellData().GetArray("Area")
total = sum(area.GetValue(i) for i in range(area.GetNumberOfTuples()))
assert abs(total - 36.0) < 1e-9 * 36, total

three = os.path.join(work, "slice3d.vtp")
out = subprocess.run([exe, "slice", "data/models/mnist_mlp.onnx", "--dims", "3", "--input", "data/inputs/noise.pgm",
                      "--box", "-2:2:-2:2:-2:2", "--json", "--vtp", three],
                     cwd=src, check=True, capture_output=True, text=True).stdout
doc = json.loads(out)
pd = read(three)
faces = sum(len(p["faces"]) for p in doc["polyhedra"])
assert pd.GetNumberOfCells() == faces, (pd.GetNumberOfCells(), faces)
assert {"region_id", "class", "volume"} <= arrays(pd), arrays(pd)
print(f"VTK read both files: {regions} polygons; {doc['regions']} polyhedra with {faces} faces")
