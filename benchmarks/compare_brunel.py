#!/usr/bin/env python3
"""Brunel (2000) model A in the four states of his figure 8, spikesim against Brian2 and the mean
field: rate, mean ISI CV and synchrony chi of the excitatory population, side by side.

    python3 benchmarks/compare_brunel.py [--spikesim build/spikesim] [--tstop 2000]
                                         [--seeds 1 2] [--states SR AI SIfast SIslow]
                                         [--out benchmarks/results/brunel_brian2_DATE.jsonl]

For each state and seed it runs `spikesim run examples/brunel.toml --set ...` (the --set variants
of the file's header, plus run.tstop and run.random_seed) and reads /analysis/exc and /analysis/inh,
runs benchmarks/brian2_brunel.py with the same g, eta, duration and seed (its random numbers are
its own), and `spikesim theory brunel --g G --eta ETA --dt 0.1`. The two simulators run at the
same time, one thread each. As a check of the definitions, the statistics of spikesim's spikes
are also recomputed by brian2_brunel.statistics() and the largest relative difference from
spikesim's /analysis is recorded (it should be ~1e-12).

Writes one JSON line per (state, seed) plus a header line to --out, and prints a table.
`compare_brunel.py --summarize FILE...` prints the recorded rows as the Markdown table of
docs/validation.md (mean ± SD over the seeds).
A development check, not a test: it needs Brian2 (pip install brian2 "numpy<2.4"), h5py, and
about 25 minutes for the default four states, two seeds, 2 s each on a 2-core machine.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import brian2_brunel  # noqa: E402  (the statistics, as spikesim defines them)

# Brunel (2000) figure 8; the --set lines of examples/brunel.toml
STATES = {
    "SR": (3.0, 2.0),
    "AI": (5.0, 2.0),
    "SIfast": (6.0, 4.0),
    "SIslow": (4.5, 0.9),
}
J = 0.1
NU_THR = 10.0


def spikesim_sets(g, eta, tstop, seed):
    w = f"{-g * J:.12g}"          # -0.6, not -0.6000000000000001
    rate = f"{eta * NU_THR:.12g}"
    return [
        f"projection.ie.weight={w}", f"projection.ii.weight={w}",
        f"population.exc.input.poisson.rate={rate}",
        f"population.inh.input.poisson.rate={rate}",
        f"run.tstop={tstop:g}", f"run.random_seed={seed}",
    ]


def theory(exe, g, eta):
    out = subprocess.run([exe, "theory", "brunel", "--g", str(g), "--eta", str(eta),
                          "--dt", "0.1"], check=True, capture_output=True, text=True).stdout
    # first "rate"/"CV" lines: the diffusion approximation; the second pair: at dt = 0.1 ms
    rates = [float(x) for x in re.findall(r"^rate\s+([0-9.eE+-]+) Hz", out, re.M)]
    cvs = [float(x) for x in re.findall(r"^CV\s+([0-9.eE+-]+)", out, re.M)]
    return {"rate": rates[0], "cv": cvs[0],
            "rate_dt": rates[1] if len(rates) > 1 else None,
            "cv_dt": cvs[1] if len(cvs) > 1 else None}


ATTRS = ("n_neurons", "spikes", "t_start", "t_stop", "rate_mean", "silent_fraction", "cv_mean",
         "cv_median", "n_cv_nan", "lv_mean", "population_rate_mean", "population_rate_sd",
         "rate_bin", "chi_squared", "chi", "fano_factor", "fano_window", "cv_min_spikes")


def read_spikesim(path):
    pops, recheck = {}, 0.0
    with h5py.File(path, "r") as f:
        wall_s = float(f.attrs["wall_s"])
        for pop in ("exc", "inh"):
            a = f[f"analysis/{pop}"].attrs
            pops[pop] = {k: (a[k].item() if hasattr(a[k], "item") else a[k])
                         for k in ATTRS if k in a}
            # the same quantities from the spikes, by the Python definitions
            t = f[f"spikes/{pop}/timestamps"][:]
            ids = f[f"spikes/{pop}/node_ids"][:]
            py = brian2_brunel.statistics(ids, t, int(a["n_neurons"]), float(a["t_start"]),
                                          float(a["t_stop"]), float(a["rate_bin"]),
                                          float(a["fano_window"]), int(a["cv_min_spikes"]))
            pops[pop]["population_rate_peak_hz"] = py["population_rate_peak_hz"]  # Python only
            for k in ("rate_mean", "cv_mean", "lv_mean", "chi", "fano_factor",
                      "population_rate_sd"):
                x, y = float(pops[pop][k]), py[k]
                if np.isfinite(x) or np.isfinite(y):
                    recheck = max(recheck, abs(x - y) / max(abs(x), 1e-300))
    return pops, recheck, wall_s


def git(*a):
    try:
        return subprocess.run(["git", *a], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def summarize(paths):
    """Markdown table of the excitatory population: mean +- SD over seeds (SD ddof 1)."""
    rows = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if "state" in r:
                    rows.setdefault((r["state"], r["tstop_ms"]), []).append(r)

    def ms(vals, fmt):
        v = np.asarray(vals, dtype=float)
        if v.size < 2:
            return fmt.format(v.mean())
        return (fmt + " ± " + fmt).format(v.mean(), v.std(ddof=1))

    print("| state (g, η) | seeds × ms | quantity | spikesim | Brian2 | mean field (dt = 0.1 ms) |")
    print("|---|---|---|---|---|---|")
    for state in STATES:
        for (st, tstop), rs in sorted(rows.items()):
            if st != state:
                continue
            g, eta = rs[0]["g"], rs[0]["eta"]
            mf = rs[0]["mean_field"]
            lab = f"{state} ({g:g}, {eta:g})"
            n = f"{len(rs)} × {tstop:g}"
            for q, key, fmt, mfv in (("rate (Hz)", "rate", "{:.2f}",
                                      f"{mf['rate']:.2f} ({mf['rate_dt']:.2f})"),
                                     ("CV", "cv_mean", "{:.3f}",
                                      f"{mf['cv']:.3f} ({mf['cv_dt']:.3f})"),
                                     ("χ", "chi", "{:.3f}", "–")):
                print(f"| {lab} | {n} | {q} | {ms([r['spikesim'][key] for r in rs], fmt)} | "
                      f"{ms([r['brian2'][key] for r in rs], fmt)} | {mfv} |")
                lab, n = "", ""
            pk = [r for r in rs if "population_rate_peak_hz" in r["brian2"]["analysis"]["exc"]]
            if pk:
                a = [r["spikesim"]["analysis"]["exc"]["population_rate_peak_hz"] for r in pk]
                b = [r["brian2"]["analysis"]["exc"]["population_rate_peak_hz"] for r in pk]
                print(f"|  | {len(pk)} × {tstop:g} | spectral peak (Hz) | {ms(a, '{:.0f}')} | "
                      f"{ms(b, '{:.0f}')} | – |")


def main(argv=None):
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--summarize":
        return summarize(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spikesim", default=os.path.join(ROOT, "build", "spikesim"))
    p.add_argument("--config", default=os.path.join(ROOT, "examples", "brunel.toml"))
    p.add_argument("--tstop", type=float, default=2000.0, help="simulated ms (analysis from 200)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--states", nargs="+", choices=list(STATES), default=list(STATES))
    p.add_argument("--workdir", default="/tmp/compare_brunel",
                   help="HDF5 files and Brian2's build directory")
    p.add_argument("--out", default=None,
                   help="JSON lines (default benchmarks/results/brunel_brian2_DATE.jsonl)")
    args = p.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    date = datetime.date.today().isoformat()
    out = args.out or os.path.join(HERE, "results", f"brunel_brian2_{date}.jsonl")
    version = subprocess.run([args.spikesim, "--version"], capture_output=True,
                             text=True).stdout.strip()
    import brian2
    header = {
        "suite": "compare_brunel", "date_utc":
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine(), "spikesim": version, "brian2": brian2.__version__,
        "numpy": np.__version__, "h5py": h5py.__version__,
        "python": platform.python_version(), "tstop_ms": args.tstop,
        "analysis": {"t_start": 200.0, "rate_bin": 0.5, "cv_min_spikes": 3},
        "config": os.path.relpath(args.config, ROOT),
    }
    rows = []
    with open(out, "a") as fo:
        fo.write(json.dumps(header) + "\n")
        for state in args.states:
            g, eta = STATES[state]
            mf = theory(args.spikesim, g, eta)
            for seed in args.seeds:
                h5 = os.path.join(args.workdir, f"brunel_{state}_{seed}.h5")
                cmd = [args.spikesim, "run", args.config, "-o", h5, "-q", "--threads", "1"]
                for s in spikesim_sets(g, eta, args.tstop, seed):
                    cmd += ["--set", s]
                ss = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
                b2cmd = [sys.executable, os.path.join(HERE, "brian2_brunel.py"), "--g", str(g),
                         "--eta", str(eta), "--duration", str(args.tstop), "--seed", str(seed),
                         "--build-dir", os.path.join(args.workdir, "brian2_build")]
                b2 = json.loads(subprocess.run(b2cmd, check=True, capture_output=True,
                                               text=True).stdout)
                if ss.wait() != 0:
                    raise SystemExit(f"spikesim failed ({ss.returncode}): {' '.join(cmd)}")
                spk, recheck, ss_wall = read_spikesim(h5)
                row = {
                    "state": state, "g": g, "eta": eta, "seed": seed, "tstop_ms": args.tstop,
                    "spikesim": {"rate": spk["exc"]["rate_mean"], "cv_mean": spk["exc"]["cv_mean"],
                                 "chi": spk["exc"]["chi"], "analysis": spk,
                                 "python_recheck_max_rel_diff": recheck,
                                 "command": " ".join(os.path.relpath(c, ROOT)
                                                     if c.startswith(ROOT + os.sep) else c
                                                     for c in cmd),
                                 "wall_s": ss_wall},
                    "brian2": {k: b2[k] for k in ("rate", "cv_mean", "chi", "analysis", "target",
                                                  "threads", "loop_s", "wall_s")},
                    "mean_field": mf,
                    "commit": header["commit"], "date_utc": header["date_utc"],
                }
                fo.write(json.dumps(row) + "\n")
                fo.flush()
                rows.append(row)
                print(f"{state:7s} seed {seed}: spikesim rate {row['spikesim']['rate']:8.3f} "
                      f"CV {row['spikesim']['cv_mean']:.3f} chi {row['spikesim']['chi']:.3f} | "
                      f"brian2 rate {b2['rate']:8.3f} CV {b2['cv_mean']:.3f} chi {b2['chi']:.3f}"
                      f" | mean field {mf['rate']:.2f} Hz CV {mf['cv']:.3f}"
                      f" (recheck {recheck:.1e})", flush=True)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
