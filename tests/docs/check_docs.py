#!/usr/bin/env python3
"""The docs check: every command in the docs' ```sh blocks runs and exits 0
on the shipped models, and every block marked "docs check" holds the current
output of its command (text equal, numbers to 6 significant digits).

  check_docs.py REPO_ROOT BUILD_DIR [WORK_DIR]

Commands run in WORK_DIR (default: a temporary folder) where data/, docs/,
tests/, scripts/ and build/ are links into the repository, so files the
examples write (pictures, run folders) land there. `tessera` means
BUILD_DIR/cli/tessera. A command line may opt out with a trailing comment
"# (not checked: REASON)"; the reasons are listed in the output.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = re.compile(r"#[^#]*\(not checked:\s*(.*?)\)\s*$")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def commands(path):
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        line_no = text[: m.start()].count("\n") + 2
        buf, start = "", line_no
        for i, line in enumerate(m.group(1).split("\n")):
            if not buf:
                start = line_no + i
            if line.rstrip().endswith("\\"):
                buf += line.rstrip()[:-1] + " "
                continue
            buf += line
            if buf.strip():
                yield start, buf.strip()
            buf = ""


def checked_outputs(path):
    text = open(path, encoding="utf-8").read()
    pattern = r"<!-- docs check:.*?-->\n<!-- (.*?) -->\n```text\n(.*?)```"
    for m in re.finditer(pattern, text, re.S):
        yield text[: m.start()].count("\n") + 1, m.group(1).strip(), m.group(2)


def same_output(want, got):
    w, g = want.split(), got.split()
    if len(w) != len(g):
        return False
    for a, b in zip(w, g):
        if a == b:
            continue
        na, nb = NUMBER.fullmatch(a), NUMBER.fullmatch(b)
        if not (na and nb):
            return False
        x, y = float(a), float(b)
        if abs(x - y) > 1e-6 * max(abs(x), abs(y)) and abs(x - y) > 1e-12:
            # Rounding-level numbers (e.g. a residual of 2.8e-17) may differ between CPUs.
            if max(abs(x), abs(y)) > 1e-9:
                return False
    return True


def main():
    repo, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="tessera_docs_")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for name in ("data", "docs", "tests", "scripts"):
        os.symlink(os.path.join(repo, name), os.path.join(work, name))
    os.symlink(build, os.path.join(work, "build"))
    env = dict(os.environ)
    # `python3` in the docs is the Python this check runs with (Debian's,
    # with NumPy and torch), ahead of any other on PATH.
    env["PATH"] = os.pathsep.join([os.path.join(build, "cli"), os.path.dirname(sys.executable), env["PATH"]])
    env["FIGURES_DIR"] = os.path.join(work, "figures")
    # docs/scale-out.md runs mpirun, which refuses root (CI containers) unless told.
    env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    if not os.path.isfile(os.path.join(repo, "data/datasets/mnist/t10k-labels-idx1-ubyte.gz")):
        print("data/datasets/mnist is missing: run scripts/provision_data.sh (the docs use the MNIST digits)")
        return 1

    docs = ["README.md"] + sorted(glob.glob(os.path.join(repo, "docs", "*.md"))) + ["data/README.md"]
    failures, skipped, ran = [], [], 0
    done = {}  # command -> status: the same example in several documents runs once
    for doc in docs:
        path = doc if os.path.isabs(doc) else os.path.join(repo, doc)
        rel = os.path.relpath(path, repo)
        for line, cmd in commands(path):
            m = SKIP.search(cmd)
            if m:
                skipped.append(f"{rel}:{line}: {cmd[: m.start()].strip()}  [{m.group(1)}]")
                continue
            if cmd in done:
                print(f"{done[cmd]:8s}   (again) {rel}:{line}: {cmd}", flush=True)
                if done[cmd] != "ok":
                    failures.append(f"{rel}:{line}: {cmd} (see above)")
                continue
            start = time.time()
            proc = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=900)
            ran += 1
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
            done[cmd] = status
            print(f"{status:8s} {time.time() - start:6.1f} s  {rel}:{line}: {cmd}", flush=True)
            if proc.returncode != 0:
                failures.append(f"{rel}:{line}: {cmd}\n    {proc.stderr.strip()[-400:]}")
        for line, cmd, want in checked_outputs(path):
            proc = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True, timeout=300)
            ran += 1
            ok = proc.returncode == 0 and same_output(want, proc.stdout)
            print(f"{'ok' if ok else 'differs':8s}          {rel}:{line}: output of {cmd}", flush=True)
            if not ok:
                failures.append(f"{rel}:{line}: the docs show another output than `{cmd}` prints now:\n{proc.stdout}{proc.stderr}")
    # Every option of every command is documented in the user guide.
    guide = open(os.path.join(repo, "docs", "user-guide.md"), encoding="utf-8").read()
    tessera = os.path.join(build, "cli", "tessera")
    for command in ("info", "affine", "ray", "certify", "bound", "region", "slice", "convert", "examples", "data", "train",
                    "eval"):
        proc = subprocess.run([tessera, command, "--help"], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            if command in ("train", "eval") and "no training module" in proc.stderr:
                skipped.append(f"tessera {command} --help  [built without the training module]")
                continue
            failures.append(f"tessera {command} --help exits {proc.returncode}: {proc.stderr.strip()}")
            continue
        ran += 1
        missing = sorted({o for o in re.findall(r"--[a-z][a-z0-9-]+", proc.stdout) if o not in guide})
        print(f"{'ok' if not missing else 'missing':8s}          docs/user-guide.md documents every option of tessera {command}")
        if missing:
            failures.append(f"docs/user-guide.md does not mention these options of tessera {command}: {', '.join(missing)}")

    print(f"\n{ran} checks run, {len(failures)} failed, {len(skipped)} commands not checked (with reasons):")
    for s in skipped:
        print("  " + s)
    for f in failures:
        print("FAILED " + f)
    if len(sys.argv) <= 3:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
