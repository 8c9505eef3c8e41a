#!/usr/bin/env python3
"""Writes the Potjans & Diesmann (2014) cortical microcircuit as a spikesim config file.

The parameters are those of the reference PyNEST implementation (NEST's
pynest/examples/Potjans_2014, now INM-6/microcircuit-PD14-model): 77 169 current-based LIF
neurons (iaf_psc_exp) in 8 populations, fixed_total_number connectivity without autapses, exp
synaptic currents (tau_syn = 0.5 ms) integrated exactly, normal weights (CV 0.1) and delays
(CV 0.5) redrawn as NEST redraws them, Poisson background through the exp synapse, and normal
initial potentials. Only the Python standard library is needed.

    python3 examples/microcircuit.py                       # full scale -> stdout
    python3 examples/microcircuit.py -o mc.toml --n-scaling 0.1 --k-scaling 0.1

--n-scaling scales the population sizes, --k-scaling the in-degrees (synapses per neuron, the
Poisson sources too). With k-scaling < 1 the weights grow by 1/sqrt(k) and a DC current makes up
the mean input lost, as the reference implementation does, so that the rates stay close to the
full model's (the correlations do not).

--thalamus adds the reference's optional thalamic input (its stim_dict): 902 Poisson spike
sources firing at 120 Hz each from 700 to 710 ms, projecting onto L4 and L6 with
fixed_total_number synapses, PSPs of 0.15 mV (CV 0.1) and delays of 1.5 ms (CV 0.5). As in the
reference, the number of thalamic neurons and of their synapses does not follow --n-scaling;
--k-scaling scales the synapses and their weights as for the other projections.
"""

import argparse
import math
import sys

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL_NUM_NEURONS = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# mean rates of the full model (spikes/s), used only for the DC compensation of k-scaling
FULL_MEAN_RATES = [0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523]
# connection probabilities, [target][source]
CONN_PROBS = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]  # Poisson sources per neuron
BG_RATE = 8.0  # Hz per Poisson source
PSP_EXC = 0.15  # mV, peak of the mean excitatory PSP
WEIGHT_CV = 0.1
G = -4.0
DELAY_EXC, DELAY_INH, DELAY_CV = 1.5, 0.75, 0.5  # ms
V0_ORIGINAL = (-58.0, 10.0)  # mV: mean, SD for every population
V0_OPTIMIZED_MEAN = [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]
V0_OPTIMIZED_SD = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]
NEURON = {"E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "C_m": 250.0, "tau_m": 10.0,
          "t_ref": 2.0}  # mV, pF, ms
TAU_SYN = 0.5  # ms
# the thalamic input of the reference's stim_dict
TH_NEURONS = 902
TH_START, TH_DURATION, TH_RATE = 700.0, 10.0, 120.0  # ms, ms, Hz
TH_CONN_PROBS = [0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196]  # per target population
TH_PSP, TH_DELAY = 0.15, 1.5  # mV, ms (delay CV DELAY_CV, weight CV WEIGHT_CV)


def psc_over_psp(tau_m, tau_syn, c_m):
    """PSC amplitude (pA) per mV of PSP peak for iaf_psc_exp (the reference's conversion)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def full_synapses(c, n_post, n_pre):
    """Synapses between two populations of the full model for connection probability c."""
    if c == 0.0:
        return 0.0
    n = n_post * n_pre
    return math.log(1.0 - c) / math.log((n - 1.0) / n)


def network(n_scaling=1.0, k_scaling=1.0, v0="optimized", dt=0.1):
    """The model as numbers (pA, mV, ms, Hz), for this file's TOML and for other simulators."""
    psc = psc_over_psp(NEURON["tau_m"], TAU_SYN, NEURON["C_m"]) * PSP_EXC  # pA
    n = len(POPULATIONS)
    weights = [[psc * (G if s % 2 else 1.0) for s in range(n)] for _ in range(n)]
    weights[0][2] *= 2.0  # L4E -> L23E doubled
    full_syn = [[full_synapses(CONN_PROBS[t][s], FULL_NUM_NEURONS[t], FULL_NUM_NEURONS[s])
                 for s in range(n)] for t in range(n)]
    # k-scaling: weights / sqrt(k), the lost mean input as DC (pA), as the reference does
    dc = [0.0] * n
    if k_scaling != 1.0:
        for t in range(n):
            rec = sum(weights[t][s] * full_syn[t][s] / FULL_NUM_NEURONS[t] * FULL_MEAN_RATES[s]
                      for s in range(n))
            ext = psc * K_EXT[t] * BG_RATE
            dc[t] = 0.001 * TAU_SYN * (1.0 - math.sqrt(k_scaling)) * (rec + ext)
    w_scale = 1.0 / math.sqrt(k_scaling)
    pops = []
    for t, name in enumerate(POPULATIONS):
        mean, sd = (V0_ORIGINAL if v0 == "original"
                    else (V0_OPTIMIZED_MEAN[t], V0_OPTIMIZED_SD[t]))
        pops.append({"name": name, "size": round(FULL_NUM_NEURONS[t] * n_scaling),
                     "v0_mean": mean, "v0_sd": sd, "dc_pA": dc[t],
                     "poisson_count": round(K_EXT[t] * k_scaling),
                     "poisson_weight_pA": psc * w_scale})
    projs = []
    for t, target in enumerate(POPULATIONS):
        for s, source in enumerate(POPULATIONS):
            syn = round(full_syn[t][s] * n_scaling * k_scaling)
            if syn == 0:
                continue
            d = DELAY_INH if s % 2 else DELAY_EXC
            w = weights[t][s] * w_scale
            projs.append({"source": source, "target": target, "N": syn, "w_mean_pA": w,
                          "w_sd_pA": abs(w) * WEIGHT_CV, "d_mean": d, "d_sd": d * DELAY_CV,
                          "d_min": dt / 2})
    return {"neuron": dict(NEURON), "tau_syn": TAU_SYN, "bg_rate": BG_RATE, "dt": dt,
            "populations": pops, "projections": projs}


def thalamus(k_scaling=1.0, dt=0.1):
    """The reference's thalamic input: its source population and its projections."""
    w = psc_over_psp(NEURON["tau_m"], TAU_SYN, NEURON["C_m"]) * TH_PSP / math.sqrt(k_scaling)
    projs = []
    for t, target in enumerate(POPULATIONS):
        syn = round(full_synapses(TH_CONN_PROBS[t], FULL_NUM_NEURONS[t], TH_NEURONS) * k_scaling)
        if syn == 0:
            continue
        projs.append({"source": "TH", "target": target, "N": syn, "w_mean_pA": w,
                      "w_sd_pA": w * WEIGHT_CV, "d_mean": TH_DELAY, "d_sd": TH_DELAY * DELAY_CV,
                      "d_min": dt / 2})
    return {"size": TH_NEURONS, "rate": TH_RATE, "start": TH_START,
            "stop": TH_START + TH_DURATION, "projections": projs}


def build(n_scaling, k_scaling, v0, tstop, t_start, seed, dt, output, with_thalamus=False):
    net = network(n_scaling, k_scaling, v0, dt)
    th = thalamus(k_scaling, dt) if with_thalamus else None
    sizes = [p["size"] for p in net["populations"]]
    r_m = NEURON["tau_m"] / NEURON["C_m"] * 1000.0  # MOhm (ms / pF = GOhm)

    out = []
    w = out.append
    w("# The Potjans & Diesmann (2014) cortical microcircuit, written by examples/microcircuit.py")
    w(f"# (n-scaling {n_scaling}, k-scaling {k_scaling}, initial potentials '{v0}'): "
      f"{sum(sizes)} LIF neurons,")
    w("# fixed_total_number synapses, exp currents (tau_syn 0.5 ms), Poisson background through the")
    w("# synapse. Parameters of the reference PyNEST implementation; weights in nA (PSC / 1000).")
    w("")
    w("[run]")
    w(f"dt = {dt}")
    w(f"tstop = {tstop}")
    w(f"random_seed = {seed}")
    w('precision = "double"')
    w("")
    w("[output]")
    w(f'file = "{output}"')
    w("")
    w("[analysis]")
    w(f"t_start = {t_start}")
    for p in net["populations"]:
        w("")
        w(f"[population.{p['name']}]")
        w(f"size = {p['size']}")
        w('model = "lif"')
        w(f"params = {{ tau_m = {NEURON['tau_m']}, E_L = {NEURON['E_L']}, R_m = {r_m}, "
          f"V_th = {NEURON['V_th']}, V_reset = {NEURON['V_reset']}, t_ref = {NEURON['t_ref']} }}")
        w(f"init = {{ V = {{ normal = [{p['v0_mean']}, {p['v0_sd']}] }} }}")
        w(f"input = {{ I = {p['dc_pA'] / 1000.0!r}, poisson = {{ rate = {BG_RATE}, "
          f"count = {p['poisson_count']}, weight = {p['poisson_weight_pA'] / 1000.0!r}, "
          f"synapse = \"exp\", tau_syn = {TAU_SYN} }} }}")
    if th:
        w("")
        w("[population.TH]  # the thalamic input: Poisson spike sources (Hz per neuron, ms)")
        w(f"size = {th['size']}")
        w(f"source = {{ poisson = {{ rate = {th['rate']}, start = {th['start']}, "
          f"stop = {th['stop']} }} }}")
    for q in net["projections"] + (th["projections"] if th else []):
        mean_w = q["w_mean_pA"] / 1000.0
        w("")
        w(f"[projection.{q['source']}_to_{q['target']}]")
        w(f'source = "{q["source"]}"')
        w(f'target = "{q["target"]}"')
        w('rule = "fixed_total_number"')
        w(f"N = {q['N']}")
        if q["source"] != "TH":
            w("autapses = false")
        w('synapse = "exp"')
        w(f"tau_syn = {TAU_SYN}")
        w(f"weight = {{ normal = [{mean_w!r}, {abs(mean_w) * WEIGHT_CV!r}] }}")
        # NEST redraws delays below dt / 2 (so the shortest rounds to one step), no maximum;
        # spikesim's default maximum, mean + 5 SD, cuts 3e-7 of the draws
        w(f"delay = {{ normal = [{q['d_mean']}, {q['d_sd']}], min = {q['d_min']} }}")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", help="config file to write (default: stdout); never "
                    "overwrites an existing file")
    ap.add_argument("--n-scaling", type=float, default=1.0, help="population sizes (0, 1]")
    ap.add_argument("--k-scaling", type=float, default=1.0, help="in-degrees (0, 1]")
    ap.add_argument("--v0", choices=["optimized", "original"], default="optimized",
                    help="initial potentials: per-population normals (optimized) or N(-58, 10)")
    ap.add_argument("--tstop", type=float, default=1500.0, help="ms (default 1500)")
    ap.add_argument("--t-start", type=float, default=500.0,
                    help="ms: the analysis ignores the transient before it (default 500)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dt", type=float, default=0.1, help="ms")
    ap.add_argument("--h5", default="microcircuit.h5", help="output.file of the config")
    ap.add_argument("--thalamus", action="store_true",
                    help="add the thalamic input (902 Poisson sources, 120 Hz, 700-710 ms)")
    a = ap.parse_args()
    for key in ("n_scaling", "k_scaling"):
        v = getattr(a, key)
        if not 0.0 < v <= 1.0:
            sys.exit(f"microcircuit.py: --{key.replace('_', '-')} = {v} is invalid: must be in (0, 1]")
    text = build(a.n_scaling, a.k_scaling, a.v0, a.tstop, a.t_start, a.seed, a.dt, a.h5,
                 a.thalamus)
    if not a.output:
        sys.stdout.write(text)
        return
    try:
        with open(a.output, "x") as f:
            f.write(text)
    except FileExistsError:
        sys.exit(f"microcircuit.py: {a.output} exists; not overwritten (remove it or choose -o)")


if __name__ == "__main__":
    main()
