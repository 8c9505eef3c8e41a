#!/usr/bin/env python3
"""Check that benchmarks/brian2_brunel.py's Brian2 schedule reproduces spikesim's step
conventions exactly: a deterministic network of one LIF neuron (constant drive, t_ref = 0.5 ms)
projecting with a 1.5 ms delta synapse of 0.5 mV onto three LIF neurons (constant drives 19.8,
19.5 and 21 mV, t_ref = 2 ms; rest 0, theta 20, reset 10, tau 20 ms, dt 0.1 ms), run for 300 ms
in both simulators. The jumps arrive often during the targets' refractory periods and often carry
them over the threshold, so the arrival step, the threshold-after-jump order, the refractory
length and the loss of jumps during it all show in the spike steps.

    python3 benchmarks/brian2_conventions_check.py [SPIKESIM] [WORK_DIR]

Prints each train's agreement and exits 0 when every spike step is identical, 1 otherwise.
With --brian2-default it uses Brian2's default schedule instead (synapses after the threshold,
delay 1.5 ms, refractory t_ref, jumps during refractoriness kept), to show that the check can
tell the difference.
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

CONFIG = """
[run]
dt = 0.1
tstop = 300.0
random_seed = 1
precision = "double"
[population.a]
size = 1
model = "lif"
params = {{ tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 0.5 }}
init = {{ V = 0.0 }}
input = {{ I = [{drive_a}] }}
[population.b]
size = 3
model = "lif"
params = {{ tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }}
init = {{ V = 0.0 }}
input = {{ I = [19.8, 19.5, 21.0] }}
[projection.ab]
source = "a"
target = "b"
rule = "fixed_indegree"
indegree = 1
weight = 0.5
delay = 1.5
"""


def spikesim_steps(exe, work, drive_a):
    toml = os.path.join(work, f"conventions_{drive_a:g}.toml")
    h5 = os.path.join(work, f"conventions_{drive_a:g}.h5")
    with open(toml, "w") as f:
        f.write(CONFIG.format(drive_a=drive_a))
    subprocess.run([exe, "run", toml, "-o", h5, "-q", "--threads", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    out = {}
    with h5py.File(h5, "r") as f:
        for pop, n in (("a", 1), ("b", 3)):
            t = f[f"spikes/{pop}/timestamps"][:]
            i = f[f"spikes/{pop}/node_ids"][:]
            # stamp (n + 1) dt -> index n + 1
            out[pop] = [np.rint(t[i == k] / 0.1).astype(int).tolist() for k in range(n)]
    return out


def brian2_steps(drive_a, default_schedule):
    import brian2 as b2
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 0.1 * b2.ms
    ms, mV = b2.ms, b2.mV
    eqs = "dv/dt = (-v + RI) / (20*ms) : volt (unless refractory)\nRI : volt (constant)"
    extra = 0.0 if default_schedule else 0.1   # see brian2_brunel.py
    A = b2.NeuronGroup(1, eqs, threshold="v >= 20*mV", reset="v = 10*mV",
                       refractory=(0.5 + extra) * ms, method="exact")
    B = b2.NeuronGroup(3, eqs, threshold="v >= 20*mV", reset="v = 10*mV",
                       refractory=(2.0 + extra) * ms, method="exact")
    A.RI = drive_a * mV
    B.RI = [19.8, 19.5, 21.0] * mV
    if default_schedule:
        S = b2.Synapses(A, B, on_pre="v_post += 0.5*mV", delay=1.5 * ms)
    else:
        S = b2.Synapses(A, B, on_pre="v_post += 0.5*mV*int(not_refractory_post)",
                        delay=1.4 * ms)
        S.pre.when = "before_thresholds"
    S.connect(i=[0, 0, 0], j=[0, 1, 2])
    MA, MB = b2.SpikeMonitor(A), b2.SpikeMonitor(B)
    b2.run(300 * ms, namespace={})
    # Brian2 stamps the start of the step, n dt; spikesim the end: index n + 1
    idx = lambda M, k: (np.rint(np.asarray(M.t[M.i == k] / ms) / 0.1).astype(int) + 1).tolist()
    return {"a": [idx(MA, 0)], "b": [idx(MB, k) for k in range(3)]}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    default_schedule = "--brian2-default" in sys.argv
    exe = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "build", "spikesim")
    work = args[1] if len(args) > 1 else "/tmp/brian2_conventions_check"
    os.makedirs(work, exist_ok=True)
    ok = True
    for drive_a in (200.0, 60.0):   # the source fires every ~1.6 ms and every ~5.3 ms
        s = spikesim_steps(exe, work, drive_a)
        b = brian2_steps(drive_a, default_schedule)
        for pop in ("a", "b"):
            for k, (x, y) in enumerate(zip(s[pop], b[pop])):
                same = x == y
                ok &= same
                first = next(((u, v) for u, v in zip(x, y) if u != v), None)
                print(f"drive {drive_a:g} mV, {pop}[{k}]: spikesim {len(x)} spikes, "
                      f"Brian2 {len(y)}: " + ("identical steps" if same else
                                             f"differ, first at steps {first}"))
    print(json.dumps({"identical": bool(ok), "brian2_schedule":
                      "default" if default_schedule else "brian2_brunel.py"}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
