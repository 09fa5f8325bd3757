"""Shared by the Python module's tests: where things are, and the CLI."""
import json
import os
import subprocess
import unittest

SOURCE = os.environ.get("TESSERA_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EXE = os.environ.get("TESSERA_EXE", "")
MODELS = os.path.join(SOURCE, "data", "models")
INPUTS = os.path.join(SOURCE, "data", "inputs")


def model(name):
    return os.path.join(MODELS, name)


def inputs(name):
    return os.path.join(INPUTS, name)


def cli_json(*args):
    """Runs `tessera ARGS --json --progress off` and parses its output."""
    if not EXE:
        raise unittest.SkipTest("TESSERA_EXE is not set (the command line was not built)")
    out = subprocess.run([EXE, *args, "--json", "--progress", "off"], capture_output=True, text=True)
    if out.returncode not in (0, 4):  # 4: a partial result, marked in the JSON
        raise AssertionError(f"tessera {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    return json.loads(out.stdout)


def cli_error(*args):
    """The one-line message of a failing command, without 'tessera CMD: error: '."""
    if not EXE:
        raise unittest.SkipTest("TESSERA_EXE is not set (the command line was not built)")
    out = subprocess.run([EXE, *args], capture_output=True, text=True)
    if out.returncode == 0:
        raise AssertionError(f"tessera {' '.join(args)} succeeded; expected an error")
    line = out.stderr.strip().splitlines()[0]
    marker = ": error: "
    return line[line.index(marker) + len(marker):] if marker in line else line


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}
