#!/usr/bin/env python3
"""End-to-end test of tools/spikesim-plot on a real run and a `spikesim model` file.

    test_plot.py SPIKESIM_EXE SOURCE_DIR WORK_DIR

Runs examples/eif_fI.toml (shortened) and `spikesim model --model eif --I 6 --h5`, plots both,
and checks that every expected image exists, is a PNG of a few kB at least and is not blank;
then the tool's exit codes for bad input (3) and bad arguments (2). Exits 77 (skipped) when
h5py, numpy or matplotlib cannot be imported, so that a missing package never passes silently.
"""

import os
import shutil
import subprocess
import sys

SKIP = 77

try:
    import h5py
    import numpy as np
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
except ImportError as e:
    print(f"SKIPPED: the plotting tool needs h5py, numpy and matplotlib ({e})")
    sys.exit(SKIP)

RUN_PLOTS = ["raster", "rate", "traces", "rate_hist", "cv_hist", "fI"]
MODEL_PLOTS = ["phase_line", "model_fI"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_BYTES = 5000  # an empty figure with axes alone is about 3-4 kB

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(cmd, expect_rc=0):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != expect_rc:
        print(f"command: {' '.join(cmd)}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    check(p.returncode == expect_rc, f"exit code {p.returncode} (expected {expect_rc}): "
          f"{' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}")
    return p


def check_png(path):
    name = os.path.basename(path)
    if not os.path.isfile(path):
        check(False, f"{name} exists")
        return
    with open(path, "rb") as fh:
        check(fh.read(8) == PNG_SIGNATURE, f"{name} has a PNG header")
    size = os.path.getsize(path)
    check(size > MIN_BYTES, f"{name} is {size} bytes (> {MIN_BYTES})")
    pixels = matplotlib.image.imread(path)
    check(pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100,
          f"{name} is {pixels.shape[1]}x{pixels.shape[0]} pixels")
    # A blank image is one colour: its pixels have no variance.
    check(float(np.var(pixels[..., :3])) > 0, f"{name} is not blank")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    spikesim, source, work = sys.argv[1:]
    tool = os.path.join(source, "tools", "spikesim-plot")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    check(os.access(tool, os.X_OK), "tools/spikesim-plot is executable")
    py = sys.executable  # the interpreter that passed the imports above

    run_h5 = os.path.join(work, "eif_fI.h5")
    model_h5 = os.path.join(work, "eif_model.h5")
    run([spikesim, "run", os.path.join(source, "examples", "eif_fI.toml"), "-o", run_h5,
         "--set", "run.tstop=200", "--backend", "cpu"])
    run([spikesim, "model", "--model", "eif", "--I", "6", "--h5", model_h5])

    out = os.path.join(work, "run_plots")
    p = run([py, tool, run_h5, "--out", out])
    expected = [os.path.join(out, f"eif_{k}.png") for k in RUN_PLOTS]
    listed = p.stdout.split()
    check(sorted(listed) == sorted(expected), f"the run's files are listed: {listed}")
    for path in expected:
        check_png(path)

    out = os.path.join(work, "model_plots")
    p = run([py, tool, model_h5, "--out", out])
    expected = [os.path.join(out, f"{k}.png") for k in MODEL_PLOTS]
    check(sorted(p.stdout.split()) == sorted(expected), "the model file's plots are listed")
    for path in expected:
        check_png(path)

    # --populations selects; an unknown one is a usage error.
    out = os.path.join(work, "selected")
    run([py, tool, run_h5, "--out", out, "--populations", "eif"])
    check(len(os.listdir(out)) == len(RUN_PLOTS), "--populations eif plots eif")
    run([py, tool, run_h5, "--out", out, "--populations", "nope"], expect_rc=2)
    run([py, tool, run_h5, "--format", "gif"], expect_rc=2)
    run([py, tool], expect_rc=2)

    # Files that are missing, not HDF5, or HDF5 without the magic attribute: exit 3.
    run([py, tool, os.path.join(work, "missing.h5")], expect_rc=3)
    junk = os.path.join(work, "junk.h5")
    with open(junk, "w") as fh:
        fh.write("not hdf5\n")
    run([py, tool, junk], expect_rc=3)
    other = os.path.join(work, "other.h5")
    with h5py.File(other, "w") as fh:
        fh.attrs["magic"] = np.uint32(0x1234)
    run([py, tool, other], expect_rc=3)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
