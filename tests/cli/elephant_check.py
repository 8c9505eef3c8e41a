#!/usr/bin/env python3
"""Cross-check of spikesim's /analysis against Elephant (the NeuralEnsemble spike-train toolkit).

Runs a small noisy LIF experiment with spikesim, reads the spikes back with h5py and compares
Elephant's isi, cv, lv, mean_firing_rate and time_histogram with what spikesim wrote to
/analysis/<pop>/. Spike times are on a dt = 1/16 ms grid and the bins on a 2 ms grid, all exact in
binary, so that both sides bin every spike identically.

    elephant_check.py SPIKESIM EXAMPLE_TOML WORK_DIR [VENV]

Elephant comes from PyPI into the virtual environment VENV (tools/bootstrap.sh installs it); when
it is not importable from this interpreter, the script runs itself again with VENV's python
(test_venv.py).

Exit status: 0 agreement, 1 disagreement, 77 (ctest: skipped) when numpy, h5py, neo, quantities
or elephant cannot be imported.
"""
import os
import subprocess
import sys

from test_venv import run_with

run_with(["h5py", "neo", "numpy", "quantities", "elephant"],
         sys.argv[4] if len(sys.argv) > 4 else None)

try:
    import h5py
    import neo
    import numpy as np
    import quantities as pq
    from elephant import statistics as es
except ImportError as e:  # the check is optional: report it as skipped, visibly
    print(f"skipped: {e} (tools/bootstrap.sh installs Elephant into the build's test-venv)")
    sys.exit(77)

RTOL = 1e-9  # our one-pass (Welford) ISI variance against numpy's two passes: rounding only


def main():
    spikesim, example, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "elephant_check.h5")
    t_start, tstop, rate_bin, cv_min = 100.0, 1000.0, 2.0, 3
    subprocess.run(
        [spikesim, "run", example, "-o", path, "--quiet",
         "--set", "population.lif.size=300", "--set", f"run.tstop={tstop}",
         "--set", "run.dt=0.0625", "--set", "run.precision=double",
         "--set", "population.lif.record.traces=[]",
         "--set", f"analysis.t_start={t_start}", "--set", f"analysis.rate_bin={rate_bin}",
         "--set", f"analysis.cv_min_spikes={cv_min}"],
        check=True, stdout=subprocess.DEVNULL)

    failures = []

    def check(name, ours, theirs, rtol=RTOL):
        ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=rtol, atol=0,
                                                         equal_nan=True):
            failures.append(name)
            print(f"MISMATCH {name}: ours {ours[:5]} ... elephant {theirs[:5]} ...")
        else:
            print(f"ok  {name} ({ours.size} values)")

    with h5py.File(path, "r") as f:
        times = f["spikes/lif/timestamps"][:]
        ids = f["spikes/lif/node_ids"][:]
        a = f["analysis/lif"]
        n = int(a.attrs["n_neurons"])
        t_stop = float(a.attrs["t_stop"])
        # Our window is [t_start, t_stop): the spikes of the last step, stamped at t_stop, are out.
        keep = (times >= t_start) & (times < t_stop)
        trains = [neo.SpikeTrain(times[keep & (ids == i)] * pq.ms, t_start=t_start * pq.ms,
                                 t_stop=t_stop * pq.ms) for i in range(n)]

        rates = [float(es.mean_firing_rate(st).rescale(pq.Hz).magnitude) for st in trains]
        check("rate_hz (mean_firing_rate)", a["rate_hz"][:], rates, rtol=1e-12)

        cv, lv, isi_mean = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        for i, st in enumerate(trains):
            intervals = es.isi(st).magnitude
            if len(st) >= 2:
                isi_mean[i] = np.mean(intervals)
            if len(st) >= cv_min:
                cv[i] = es.cv(intervals)
                lv[i] = es.lv(intervals)
        check("isi_mean (isi)", a["isi_mean"][:], isi_mean)
        check("cv_isi (cv of isi)", a["cv_isi"][:], cv)
        check("lv", a["lv"][:], lv)

        pop = a["population_rate"][:]
        hist = es.time_histogram(trains, bin_size=rate_bin * pq.ms, t_start=t_start * pq.ms,
                                 t_stop=(t_start + len(pop) * rate_bin) * pq.ms, output="rate")
        check("population_rate (time_histogram, output='rate')", pop,
              hist.rescale(pq.Hz).magnitude.ravel(), rtol=1e-12)

    if failures:
        print(f"{len(failures)} disagreement(s): {', '.join(failures)}")
        return 1
    print("spikesim's /analysis agrees with Elephant")
    return 0


if __name__ == "__main__":
    sys.exit(main())
