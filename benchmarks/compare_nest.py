#!/usr/bin/env python3
"""spikesim beside NEST: the Potjans-Diesmann microcircuit or Brunel's model A, speed and spikes.

Both simulators run the same model for several seeds, interleaved on the same machine and thread
count. `--model microcircuit` (the default) is the model of examples/microcircuit.py (the same
numbers: sizes, fixed_total_number synapse counts, PSCs, delays, Poisson background, initial
potentials; NEST's iaf_psc_exp). `--model brunel` is examples/brunel.toml, read from the file and
run by spikesim as it is (--set run.tstop, run.random_seed, analysis.t_start), by NEST as
iaf_psc_delta neurons (the same tau_m, E_L, V_th, V_reset, t_ref; C_m = tau_m / R_m, which no
input here uses: weights are jumps in mV in both), fixed_indegree projections (same in-degree,
weight, delay, autapses and multapses), one poisson_generator per population at count x rate
(each target its own train, as spikesim's per-neuron Poisson input) and V uniform as the file's
init. Input arriving while a neuron is refractory is discarded by both (NEST's default
refractory_input = false, set explicitly; spikesim clamps V to V_reset for the t_ref steps).

Recorded per run: build time, simulation wall time, real-time factor, peak memory (the child
process's max RSS), spike counts, synaptic events and events per second of simulation wall time
(spikesim: the count its run summary prints, every spike times its row's length; NEST: each
population's spikes times its mean out-degree, the projections' synapse counts over the
population size), and the 1-minute load average before and after the run (timings beside other
work are not a quiet benchmark). OMP_WAIT_POLICY and GOMP_SPINCOUNT, which NEST's OpenMP threads
and spikesim's thread team both read, are recorded: on a machine busy with other work NEST's
default (libgomp's threads spin while they wait) made its 2-thread model A 3x slower than
`passive`. Then, per population, the distributions of single-neuron rates, ISI CVs (neurons with
at least 3 spikes) and pairwise spike-count correlations (2 ms bins, the first 200 neurons)
after the transient, compared by the Kolmogorov-Smirnov distance: spikesim's seed i against
NEST's seed i, and NEST's seeds against each other (its own seed-to-seed spread), as in Gutzen
et al. (2018). A population's statistic agrees when the mean spikesim-NEST distance is within
the range of the NEST-NEST distances.

    python3 -m venv .venv-nest && .venv-nest/bin/pip install nest-simulator numpy scipy h5py
    .venv-nest/bin/python benchmarks/compare_nest.py --spikesim build/spikesim \\
        --n-scaling 0.1 --k-scaling 0.1 --seeds 10 --threads 2
    .venv-nest/bin/python benchmarks/compare_nest.py --spikesim build/spikesim --model brunel \\
        --seeds 5 --threads 2

Writes OUT.json (every run and every distance) and OUT.png (the distributions of the first
seed and the distances) with OUT = benchmarks/results/compare_nest_<date> (microcircuit) or
compare_nest_brunel_<date> by default; never overwrites an existing result.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
sys.path.insert(0, EXAMPLES)
import microcircuit  # noqa: E402  (examples/microcircuit.py: the model as numbers)


def mean_out_degree(sizes, synapse_counts):
    """{population: synapses from it / its size} from (source, number of synapses) pairs."""
    total = dict.fromkeys(sizes, 0)
    for source, n in synapse_counts:
        total[source] += n
    return {p: total[p] / sizes[p] for p in sizes}


class Microcircuit:
    """PD14 of examples/microcircuit.py: spikesim runs the TOML that build() writes."""

    label = "potjans_diesmann_2014"
    out_prefix = "compare_nest_"

    def __init__(self, a):
        self.dt = 0.1
        self.n_scaling, self.k_scaling, self.v0 = a.n_scaling, a.k_scaling, a.v0
        self.net = dict(microcircuit.network(a.n_scaling, a.k_scaling, a.v0, self.dt),
                        model="microcircuit")
        self.sizes = {p["name"]: p["size"] for p in self.net["populations"]}
        self.out_degree = mean_out_degree(
            self.sizes, ((q["source"], q["N"]) for q in self.net["projections"]))
        self.settings = {"n_scaling": a.n_scaling, "k_scaling": a.k_scaling, "v0": a.v0}

    def spikesim_args(self, seed, tstop, t_start, work, out):
        cfg = os.path.join(work, f"mc_{seed}.toml")
        if os.path.exists(cfg):
            os.remove(cfg)
        with open(cfg, "w") as f:
            f.write(microcircuit.build(self.n_scaling, self.k_scaling, self.v0, tstop, t_start,
                                       seed, self.dt, out))
        return [cfg]


class BrunelA:
    """Brunel's model A as examples/brunel.toml writes it: spikesim runs the file itself."""

    label = "brunel_2000_model_A"
    out_prefix = "compare_nest_brunel_"
    config = os.path.join(EXAMPLES, "brunel.toml")

    def __init__(self, a):
        with open(self.config, "rb") as f:
            cfg = tomllib.load(f)
        self.dt = cfg["run"]["dt"]
        self.net = brunel_network(cfg)
        self.sizes = {p["name"]: p["size"] for p in self.net["populations"]}
        self.out_degree = mean_out_degree(
            self.sizes, ((q["source"], q["indegree"] * self.sizes[q["target"]])
                         for q in self.net["projections"]))
        self.settings = {"config": "examples/brunel.toml"}

    def spikesim_args(self, seed, tstop, t_start, work, out):
        return [self.config, "--set", f"run.tstop={tstop:g}", "--set", f"run.random_seed={seed}",
                "--set", f"analysis.t_start={t_start:g}"]


def brunel_network(cfg):
    """The TOML's model A for NEST's iaf_psc_delta; refuses what this translation does not cover
    (other models or inputs, other rules, distributed weights or delays)."""
    pops = []
    for name, p in cfg["population"].items():
        init, inp, prm = p.get("init", {}).get("V", {}), p.get("input", {}), p["params"]
        if p["model"] != "lif" or set(inp) != {"poisson"} or set(init) != {"uniform"} \
                or inp["poisson"].get("synapse", "delta") != "delta":
            sys.exit(f"compare_nest.py: population {name}: only lif with delta Poisson input and "
                     "a uniform initial V translate to NEST here")
        poisson = inp["poisson"]
        pops.append({"name": name, "size": p["size"], "v0_uniform": init["uniform"],
                     "poisson_rate": poisson["rate"] * poisson["count"],
                     "poisson_weight": poisson["weight"],
                     "params": {"tau_m": prm["tau_m"], "E_L": prm["E_L"], "V_th": prm["V_th"],
                                "V_reset": prm["V_reset"], "t_ref": prm["t_ref"],
                                "C_m": prm["tau_m"] / prm["R_m"] * 1000.0,  # pF
                                "refractory_input": False}})
    projs = []
    for name, q in cfg["projection"].items():
        if q["rule"] != "fixed_indegree" or q.get("synapse", "delta") != "delta" \
                or not all(isinstance(q[k], (int, float)) for k in ("weight", "delay")):
            sys.exit(f"compare_nest.py: projection {name}: only fixed_indegree delta synapses with "
                     "one weight and one delay translate to NEST here")
        projs.append({"source": q["source"], "target": q["target"], "indegree": q["indegree"],
                      "weight": q["weight"], "delay": q["delay"],
                      "autapses": q.get("autapses", True), "multapses": q.get("multapses", True)})
    return {"model": "brunel", "dt": cfg["run"]["dt"], "populations": pops, "projections": projs}


MODELS = {"microcircuit": Microcircuit, "brunel": BrunelA}


def timed_run(cmd, what):
    """Runs cmd; returns (completed process, wall seconds, peak RSS in MiB or None). The child's
    RSS alone is measured by /usr/bin/time when it is there."""
    timer = ["/usr/bin/time", "-f", "MAXRSS_KB %M"] if os.path.exists("/usr/bin/time") else []
    t0 = time.perf_counter()
    p = subprocess.run(timer + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"compare_nest.py: {what} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss = None
    for line in p.stderr.splitlines():
        if line.startswith("MAXRSS_KB"):
            rss = int(line.split()[1]) / 1024.0
    return p, wall, rss


def run_spikesim(exe, model, seed, threads, tstop, t_start, work):
    """One spikesim run; returns timings and {pop: (times, ids)}."""
    import h5py

    out = os.path.join(work, f"spikesim_{seed}.h5")
    if os.path.exists(out):
        os.remove(out)
    cmd = [exe, "run", *model.spikesim_args(seed, tstop, t_start, work, out),
           "--backend", "cpu", "--threads", str(threads), "-o", out]
    p, wall, rss = timed_run(cmd, "spikesim")
    build = sim = events = None
    for line in p.stdout.splitlines():
        if line.startswith("synapses ") and "built in" in line:
            build = float(line.split("built in")[1].split()[0])
            events = int(line.split("; ")[1].split()[0])
        if line.startswith("steps ") and "wall" in line:
            sim = float(line.split("wall")[1].split()[0])
    spikes = {}
    with h5py.File(out, "r") as f:
        for pop in model.sizes:
            spikes[pop] = (f[f"spikes/{pop}/timestamps"][:], f[f"spikes/{pop}/node_ids"][:])
    os.remove(out)
    return {"build_s": build, "sim_s": sim, "total_s": wall, "peak_rss_mib": rss,
            "syn_events": events}, spikes


NEST_CHILD = r'''
import json, sys, time, resource
import numpy as np
import nest


def build_microcircuit(net):
    nrn = net["neuron"]
    pops = {}
    for p in net["populations"]:
        pop = nest.Create("iaf_psc_exp", p["size"], params={
            "E_L": nrn["E_L"], "V_th": nrn["V_th"], "V_reset": nrn["V_reset"], "C_m": nrn["C_m"],
            "tau_m": nrn["tau_m"], "t_ref": nrn["t_ref"], "tau_syn_ex": net["tau_syn"],
            "tau_syn_in": net["tau_syn"], "I_e": p["dc_pA"]})
        pop.V_m = nest.random.normal(mean=p["v0_mean"], std=p["v0_sd"])
        pops[p["name"]] = pop
    # NEST refuses more than 2^27 - 2 connections per thread and synapse model: a copy per sign
    nest.CopyModel("static_synapse", "static_synapse_exc")
    for q in net["projections"]:
        exc = q["w_mean_pA"] >= 0
        nest.Connect(pops[q["source"]], pops[q["target"]],
                     conn_spec={"rule": "fixed_total_number", "N": q["N"],
                                "allow_autapses": False, "allow_multapses": True},
                     syn_spec={"synapse_model": "static_synapse_exc" if exc else "static_synapse",
                               "weight": nest.math.redraw(
                                   nest.random.normal(mean=q["w_mean_pA"], std=q["w_sd_pA"]),
                                   min=0.0 if exc else -np.inf, max=np.inf if exc else 0.0),
                               "delay": nest.math.redraw(
                                   nest.random.normal(mean=q["d_mean"], std=q["d_sd"]),
                                   min=q["d_min"], max=np.inf)})
    for p in net["populations"]:
        pg = nest.Create("poisson_generator", params={"rate": net["bg_rate"] * p["poisson_count"]})
        nest.Connect(pg, pops[p["name"]], syn_spec={"weight": p["poisson_weight_pA"], "delay": 1.5})
    return pops


def build_brunel(net):
    pops = {}
    for p in net["populations"]:
        pop = nest.Create("iaf_psc_delta", p["size"], params=p["params"])
        pop.V_m = nest.random.uniform(min=p["v0_uniform"][0], max=p["v0_uniform"][1])
        pops[p["name"]] = pop
    for q in net["projections"]:
        nest.Connect(pops[q["source"]], pops[q["target"]],
                     conn_spec={"rule": "fixed_indegree", "indegree": q["indegree"],
                                "allow_autapses": q["autapses"], "allow_multapses": q["multapses"]},
                     syn_spec={"weight": q["weight"], "delay": q["delay"]})
    # spikesim draws the Poisson input within the step: the shortest delay
    for p in net["populations"]:
        pg = nest.Create("poisson_generator", params={"rate": p["poisson_rate"]})
        nest.Connect(pg, pops[p["name"]], syn_spec={"weight": p["poisson_weight"],
                                                     "delay": net["dt"]})
    return pops


a = json.loads(sys.argv[1])
net = a["net"]
nest.set_verbosity("M_ERROR")
nest.ResetKernel()
nest.set(resolution=net["dt"], local_num_threads=a["threads"], rng_seed=a["seed"],
         print_time=False)
t0 = time.perf_counter()
pops = {"microcircuit": build_microcircuit, "brunel": build_brunel}[net["model"]](net)
recs = {}
for name, pop in pops.items():
    recs[name] = nest.Create("spike_recorder")
    nest.Connect(pop, recs[name])
nest.Prepare()
build = time.perf_counter() - t0
t1 = time.perf_counter()
nest.Run(a["tstop"])
sim = time.perf_counter() - t1
nest.Cleanup()
out = {"build_s": build, "sim_s": sim, "spikes": {}}
for name, pop in pops.items():
    ev = recs[name].get("events")
    first = pop.global_id if len(pop) == 1 else pop[0].global_id
    out["spikes"][name] = [list(map(float, ev["times"])),
                           [int(s) - first for s in ev["senders"]]]
json.dump(out, open(a["out"], "w"))
'''


def run_nest(python, model, seed, threads, tstop, work):
    """One NEST run; returns timings and {pop: (times, ids)}. Synaptic events: each population's
    spikes times its mean out-degree."""
    out = os.path.join(work, f"nest_{seed}.json")
    arg = json.dumps({"net": model.net, "seed": seed, "threads": threads, "tstop": tstop,
                      "out": out})
    _, wall, rss = timed_run([python, "-c", NEST_CHILD, arg], "NEST")
    with open(out) as f:
        r = json.load(f)
    os.remove(out)
    spikes = {k: (np.array(v[0]), np.array(v[1], dtype=np.int64)) for k, v in r["spikes"].items()}
    events = int(round(sum(len(spikes[p][0]) * model.out_degree[p] for p in spikes)))
    return {"build_s": r["build_s"], "sim_s": r["sim_s"], "total_s": wall, "peak_rss_mib": rss,
            "syn_events": events}, spikes


def statistics(times, ids, size, t_start, t_stop, n_corr=200, bin_ms=2.0):
    """Per-neuron rates (Hz), ISI CVs (>= 3 spikes) and pairwise count correlations."""
    keep = (times >= t_start) & (times < t_stop)
    times, ids = times[keep], ids[keep]
    T = (t_stop - t_start) * 1e-3
    counts = np.bincount(ids, minlength=size)
    rates = counts / T
    order = np.lexsort((times, ids))
    times, ids = times[order], ids[order]
    cvs = []
    starts = np.searchsorted(ids, np.arange(size))
    ends = np.searchsorted(ids, np.arange(size), side="right")
    for b, e in zip(starts, ends):
        if e - b >= 3:
            isi = np.diff(times[b:e])
            cvs.append(isi.std() / isi.mean())
    m = min(n_corr, size)
    bins = np.arange(t_start, t_stop + bin_ms / 2, bin_ms)
    sel = ids < m
    hist = np.zeros((m, len(bins) - 1))
    for n in range(m):
        hist[n], _ = np.histogram(times[sel][ids[sel] == n], bins)
    active = hist.std(axis=1) > 0
    cc = np.corrcoef(hist[active]) if active.sum() >= 2 else np.zeros((0, 0))
    corr = cc[np.triu_indices(len(cc), 1)] if len(cc) else np.array([])
    return {"rate": rates, "cv": np.array(cvs), "corr": corr}


def ks(a, b):
    from scipy.stats import ks_2samp

    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(ks_2samp(a, b).statistic)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spikesim", default="build/spikesim")
    ap.add_argument("--nest-python", default=sys.executable,
                    help="a Python with nest-simulator (default: this one)")
    ap.add_argument("--model", default="microcircuit", choices=sorted(MODELS))
    ap.add_argument("--n-scaling", type=float, default=0.1, help="microcircuit only")
    ap.add_argument("--k-scaling", type=float, default=0.1, help="microcircuit only")
    ap.add_argument("--v0", default="optimized", choices=["optimized", "original"],
                    help="microcircuit only")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tstop", type=float, default=1500.0, help="ms")
    ap.add_argument("--t-start", type=float, default=500.0, help="ms of transient discarded")
    ap.add_argument("--out", default=None, help="OUT.json and OUT.png")
    a = ap.parse_args()
    model = MODELS[a.model](a)
    out = a.out or os.path.join(HERE, "results",
                                model.out_prefix + datetime.date.today().isoformat())
    if os.path.exists(out + ".json"):
        sys.exit(f"compare_nest.py: {out}.json exists; not overwritten (choose --out)")
    names = list(model.sizes)
    runs, stats = {"spikesim": [], "nest": []}, {"spikesim": [], "nest": []}
    with tempfile.TemporaryDirectory() as work:
        for seed in range(1, a.seeds + 1):
            order = ["spikesim", "nest"] if seed % 2 else ["nest", "spikesim"]  # interleaved
            for sim in order:
                load_before = os.getloadavg()[0]
                if sim == "spikesim":
                    t, sp = run_spikesim(a.spikesim, model, seed, a.threads, a.tstop, a.t_start,
                                         work)
                else:
                    t, sp = run_nest(a.nest_python, model, seed, a.threads, a.tstop, work)
                t["rtf"] = t["sim_s"] / (a.tstop * 1e-3)
                t["events_per_s"] = t["syn_events"] / t["sim_s"]
                t["load_1min_before"], t["load_1min_after"] = load_before, os.getloadavg()[0]
                t["seed"] = seed
                t["spikes"] = int(sum(len(v[0]) for v in sp.values()))
                runs[sim].append(t)
                stats[sim].append({p: statistics(sp[p][0], sp[p][1], model.sizes[p], a.t_start,
                                                 a.tstop)
                                   for p in names})
                t["mean_rate_hz"] = {p: float(stats[sim][-1][p]["rate"].mean()) for p in names}
                print(f"{sim:8s} seed {seed}: build {t['build_s']:.2f} s, sim {t['sim_s']:.2f} s, "
                      f"RTF {t['rtf']:.2f}, {t['spikes']} spikes, "
                      f"{t['events_per_s']:.3g} events/s, peak {t['peak_rss_mib']} MiB, "
                      f"load {load_before:.1f}", flush=True)
    result = {"suite": "compare_nest", "model": model.label, **model.settings,
              "threads": a.threads, "tstop_ms": a.tstop, "t_start_ms": a.t_start,
              "seeds": a.seeds, "machine": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),  # both simulators read it
              "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
              "date_utc": datetime.datetime.utcnow().isoformat(timespec="seconds") + "Z",
              "syn_events": "spikesim: its run summary's count (each spike times its row's "
                            "length); NEST: each population's spikes times its mean out-degree",
              "mean_out_degree": model.out_degree, "runs": runs, "agreement": {}}
    try:
        result["commit"] = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"],
                                          capture_output=True, text=True, cwd=HERE
                                          ).stdout.strip()
    except OSError:
        result["commit"] = "unknown"
    all_ok = True
    print(f"\n{'population':10s} {'stat':5s} {'spikesim-NEST':>14s} {'NEST-NEST range':>18s}  agrees")
    for p in names:
        for key in ("rate", "cv", "corr"):
            sn = [ks(stats["spikesim"][i][p][key], stats["nest"][i][p][key])
                  for i in range(a.seeds)]
            nn = [ks(stats["nest"][i][p][key], stats["nest"][j][p][key])
                  for i in range(a.seeds) for j in range(i + 1, a.seeds)]
            sn_mean = float(np.nanmean(sn))
            lo, hi = float(np.nanmin(nn)), float(np.nanmax(nn))
            ok = bool(sn_mean <= hi)
            all_ok &= ok
            result["agreement"][f"{p}/{key}"] = {"spikesim_nest": sn, "nest_nest": nn,
                                                 "spikesim_nest_mean": sn_mean,
                                                 "nest_nest_min": lo, "nest_nest_max": hi,
                                                 "agrees": ok}
            print(f"{p:10s} {key:5s} {sn_mean:14.3f} {lo:8.3f} .. {hi:7.3f}  {'yes' if ok else 'NO'}")
    for sim in ("spikesim", "nest"):
        r = runs[sim]
        print(f"{sim:8s}: build {np.mean([x['build_s'] for x in r]):.2f} s, "
              f"RTF {np.mean([x['rtf'] for x in r]):.2f}, "
              f"{np.mean([x['events_per_s'] for x in r]):.3g} events/s, "
              f"peak {max((x['peak_rss_mib'] or 0) for x in r):.0f} MiB")
    result["all_agree"] = all_ok
    with open(out + ".json", "x") as f:
        json.dump(result, f, indent=1)
    plot(stats, names, result, out + ".png")
    print(f"wrote {out}.json and {out}.png")


def plot(stats, names, result, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare_nest.py: no matplotlib: no plot")
        return
    fig, axes = plt.subplots(4, len(names), figsize=(2.6 * len(names), 9), squeeze=False)
    for c, p in enumerate(names):
        for r, key in enumerate(("rate", "cv", "corr")):
            ax = axes[r][c]
            # Shared bins over the central 99 % of both simulators' values, so that a few
            # outlying pairs (correlations near 1) do not squeeze the distributions into one bin.
            both = np.concatenate([np.asarray(stats[sim][0][p][key], float)
                                   for sim in ("nest", "spikesim")])
            both = both[np.isfinite(both)]
            if len(both) == 0:
                continue
            lo, hi = np.percentile(both, [0.5, 99.5])
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
            for sim, colour in (("nest", "0.5"), ("spikesim", "C0")):
                x = np.asarray(stats[sim][0][p][key], float)
                if len(x):
                    ax.hist(x, bins=bins, histtype="step", density=True, color=colour, label=sim)
            if key == "corr":
                ax.set_yscale("log")  # the bulk near 0 and the tail of correlated pairs
            ax.set_title(f"{p} {key}", fontsize=8)
            ax.set_xlabel({"rate": "rate (Hz)", "cv": "ISI CV",
                           "corr": "spike-count correlation"}[key], fontsize=7)
        ag = [result["agreement"][f"{p}/{k}"] for k in ("rate", "cv", "corr")]
        ax = axes[3][c]
        for i, g in enumerate(ag):
            ax.plot([i] * len(g["nest_nest"]), g["nest_nest"], ".", color="0.6")
            ax.plot([i], [g["spikesim_nest_mean"]], "o", color="C0")
        ax.set_xticks([0, 1, 2], ["rate", "cv", "corr"], fontsize=7)
        ax.set_title(f"{p} KS distance", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
