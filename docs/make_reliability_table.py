#!/usr/bin/env python3
"""Writes the bad-input table of docs/reliability.md: every literal
expect_failure("ARGS", STATUS, ...) of the CLI test suites, run now, with the
one line a user sees.   docs/make_reliability_table.py [BUILD_DIR] > table.md"""
import os
import re
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build"))
tessera = os.path.join(build, "cli", "tessera")
pattern = re.compile(r'expect_failure\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*(\d)\s*,')
work = tempfile.mkdtemp(prefix="tessera_rel_")
print("| command (from the test suites) | exit | what the user sees |")
print("|---|---|---|")
for test in ("tests/cli/test_cli.cpp", "tests/cli/test_train_cli.cpp"):
    for m in pattern.finditer(open(os.path.join(root, test), encoding="utf-8").read()):
        args = m.group(1).replace('\\"', '"')
        if '" +' in args or "+ \"" in args:
            continue
        proc = subprocess.run(f"'{tessera}' {args}", shell=True, cwd=root, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, TMPDIR=work))
        line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "(nothing)"
        line = line.replace(root + "/", "").replace("|", "\\|")
        shown = args if len(args) < 90 else args[:87] + "..."
        print(f"| `tessera {shown}` | {proc.returncode} | {line} |")
