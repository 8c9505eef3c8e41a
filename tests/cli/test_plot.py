#!/usr/bin/env python3
"""End-to-end test of the `spikesim-plot` command (spikesim.plot:main of the Python package) on
a real run, a `spikesim model` file and a sweep.

    test_plot.py SPIKESIM_EXE SOURCE_DIR WORK_DIR SPIKESIM_PLOT

Runs examples/eif_fI.toml (shortened), `spikesim model --model eif --I 6 --h5` and
examples/sweep_fI.toml (shortened, with `spikesim merge`), plots them, and checks that every
expected image exists, is a PNG of a few kB at least and is not blank; then the tool's exit codes
for bad input (3) and bad arguments (2). Exits 77 (skipped) when SPIKESIM_PLOT does not exist
(the package is not installed into .venv) or when h5py, numpy or matplotlib cannot be imported,
so that a missing package never passes silently.
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
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    spikesim, source, work, tool = sys.argv[1:]
    if not os.path.exists(tool):
        print(f"SKIPPED: {tool} does not exist: the Python package is not installed into .venv "
              "(bash tools/bootstrap.sh, or .venv/bin/pip install .)")
        return SKIP
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    check(os.access(tool, os.X_OK), f"{tool} is executable")

    run_h5 = os.path.join(work, "eif_fI.h5")
    model_h5 = os.path.join(work, "eif_model.h5")
    run([spikesim, "run", os.path.join(source, "examples", "eif_fI.toml"), "-o", run_h5,
         "--set", "run.tstop=200", "--backend", "cpu"])
    run([spikesim, "model", "--model", "eif", "--I", "6", "--h5", model_h5])

    out = os.path.join(work, "run_plots")
    p = run([tool, run_h5, "--out", out])
    expected = [os.path.join(out, f"eif_{k}.png") for k in RUN_PLOTS]
    listed = p.stdout.split()
    check(sorted(listed) == sorted(expected), f"the run's files are listed: {listed}")
    for path in expected:
        check_png(path)

    out = os.path.join(work, "model_plots")
    p = run([tool, model_h5, "--out", out])
    expected = [os.path.join(out, f"{k}.png") for k in MODEL_PLOTS]
    check(sorted(p.stdout.split()) == sorted(expected), "the model file's plots are listed")
    for path in expected:
        check_png(path)

    # --populations selects; an unknown one is a usage error.
    out = os.path.join(work, "selected")
    run([tool, run_h5, "--out", out, "--populations", "eif"])
    check(len(os.listdir(out)) == len(RUN_PLOTS), "--populations eif plots eif")
    run([tool, run_h5, "--out", out, "--populations", "nope"], expect_rc=2)
    run([tool, run_h5, "--format", "gif"], expect_rc=2)
    run([tool], expect_rc=2)

    # A sweep (the example's currents x two noise levels, shortened, over two tasks): from its
    # directory, from its files, and from the merged table; the per-population plots of a packed
    # population on request.
    sweep_dir = os.path.join(work, "sweep")
    for task in ("0", "1"):
        run([spikesim, "sweep", os.path.join(source, "examples", "sweep_fI.toml"), "-o", sweep_dir,
             "--set", "run.tstop=100", "--set", "population.eif.size=100", "--sweep",
             "population.eif.input.sigma=1,3", "--num-tasks", "2", "--task-id", task,
             "--backend", "cpu", "-q"])
    summary = os.path.join(work, "summary.csv")
    run([spikesim, "merge", sweep_dir, "-o", summary])
    sweep_files = sorted(os.path.join(sweep_dir, n) for n in os.listdir(sweep_dir))
    expected_sweep = ["sweep_rate", "sweep_cv"]
    for inputs, name in (([sweep_dir], "dir"), (sweep_files, "files"), ([summary], "csv")):
        out = os.path.join(work, f"sweep_plots_{name}")
        p = run([tool, *inputs, "--out", out])
        expected = [os.path.join(out, f"{k}.png") for k in expected_sweep]
        check(sorted(p.stdout.split()) == sorted(expected), f"sweep plots from the {name}")
        for path in expected:
            check_png(path)
    out = os.path.join(work, "sweep_pop")
    p = run([tool, sweep_dir, "--out", out, "--populations", "eif@1",
             "--x", "population.eif.input.sigma"])
    check(os.path.join(out, "eif@1_raster.png") in p.stdout.split(),
          "--populations draws a packed population of a sweep")
    run([tool, sweep_dir, "--x", "population.eif.size"], expect_rc=2)
    run([tool, sweep_dir, run_h5], expect_rc=2)
    run([tool, summary, "--populations", "eif@1"], expect_rc=2)

    # Files that are missing, not HDF5, or HDF5 without the magic attribute: exit 3.
    run([tool, os.path.join(work, "missing.h5")], expect_rc=3)
    junk = os.path.join(work, "junk.h5")
    with open(junk, "w") as fh:
        fh.write("not hdf5\n")
    run([tool, junk], expect_rc=3)
    other = os.path.join(work, "other.h5")
    with h5py.File(other, "w") as fh:
        fh.attrs["magic"] = np.uint32(0x1234)
    run([tool, other], expect_rc=3)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
