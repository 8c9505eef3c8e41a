#!/usr/bin/env python3
"""Why the ISI CV of Brunel's model A differs from the mean field's (docs/validation.md): two
one-off checks on a spikesim run of the network (a file written by compare_brunel.py).

1. Input variance: for 40 random neurons' worth of inputs (C_E = 1000 excitatory and C_I = 250
   inhibitory sources drawn with replacement, as fixed_indegree does), the recorded spikes of
   those sources, weighted J and -g J, are low-pass filtered as the membrane does
   (u <- e^{-dt/tau} u + x, exactly), over [200 ms + 200 ms of filter start-up, t_stop). The
   variance of that recurrent input is divided by its value for Poisson trains of the measured
   rates, w^2 lambda / (1 - a^2) summed over the sources: the ratio the mean field takes as 1.
   It prints the input mean mu and sigma (diffusion convention) with and without the ratio, for
   `spikesim theory lif --mu MU --sigma SIGMA ...`.
2. Open loop (--open-loop, needs Brian2): 5000 unconnected neurons driven by independent Poisson
   trains at the network's measured rates (1000 x eta nu_thr and 1000 x nu_E at J, 250 x nu_I at
   -g J), with brian2_brunel.py's conventions, for 2 s: the rate and CV that Poisson input of the
   same rates gives.

    python3 benchmarks/brunel_input_check.py FILE.h5 --g 5 --eta 2 [--open-loop]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import brian2_brunel as bb  # noqa: E402

J, TAU, DT, T0 = 0.1, 20.0, 0.1, 200.0


def input_variance(path, g, eta, draws=40, seed=0):
    from scipy.signal import lfilter
    with h5py.File(path, "r") as f:
        t_stop = float(f["analysis/exc"].attrs["t_stop"])
        n_steps = int(round((t_stop - T0) / DT))
        spikes, rates = {}, {}
        for pop, n in (("exc", bb.N_E), ("inh", bb.N_I)):
            t = f[f"spikes/{pop}/timestamps"][:]
            i = f[f"spikes/{pop}/node_ids"][:]
            keep = (t >= T0) & (t < t_stop)
            spikes[pop] = (i[keep], np.floor((t[keep] - T0) / DT + 1e-6).astype(np.int64))
            rates[pop] = keep.sum() / n / ((t_stop - T0) * 1e-3)
    rng = np.random.default_rng(seed)
    a = np.exp(-DT / TAU)
    ratios = []
    for _ in range(draws):
        w = {"exc": np.bincount(rng.integers(0, bb.N_E, bb.C_E), minlength=bb.N_E) * J,
             "inh": np.bincount(rng.integers(0, bb.N_I, bb.C_I), minlength=bb.N_I) * (-g * J)}
        x = sum(np.bincount(spikes[p][1], weights=w[p][spikes[p][0]], minlength=n_steps)
                for p in ("exc", "inh"))
        u = lfilter([1.0], [1.0, -a], x)[int(round(200.0 / DT)):]
        poisson = sum(np.sum(w[p] ** 2) * rates[p] * DT * 1e-3 for p in w) / (1 - a * a)
        ratios.append(u.var() / poisson)
    ratio = float(np.mean(ratios))
    tau_s = TAU * 1e-3
    s2_ext = J ** 2 * tau_s * bb.C_E * eta * bb.NU_THR_HZ
    s2_rec = J ** 2 * tau_s * (bb.C_E * rates["exc"] + g * g * bb.C_I * rates["inh"])
    mu = J * tau_s * (bb.C_E * eta * bb.NU_THR_HZ + bb.C_E * rates["exc"]
                      - g * bb.C_I * rates["inh"])
    return {"nu_E": rates["exc"], "nu_I": rates["inh"], "recurrent_variance_ratio": ratio,
            "ratio_sd_over_draws": float(np.std(ratios)), "mu": mu,
            "sigma_poisson": float(np.sqrt(s2_ext + s2_rec)),
            "sigma_measured": float(np.sqrt(s2_ext + ratio * s2_rec))}


def open_loop(g, eta, nu_e, nu_i, n=5000, duration=2000.0, seed=7):
    import brian2 as b2
    build_dir = tempfile.mkdtemp(prefix="brunel_open_loop_")
    try:
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 1
        b2.defaultclock.dt = DT * b2.ms
        b2.seed(seed)
        ms, mV, Hz = b2.ms, b2.mV, b2.Hz
        G = b2.NeuronGroup(n, "dv/dt = -v / (20*ms) : volt (unless refractory)",
                           threshold="v >= 20*mV", reset="v = 10*mV",
                           refractory=(bb.T_REF_MS + DT) * ms, method="exact")
        G.v = np.random.default_rng(seed).uniform(0, 20, n) * mV
        gate = "*int(not_refractory)"
        inputs = [b2.PoissonInput(G, "v", bb.N_EXT, eta * bb.NU_THR_HZ * Hz,
                                  weight=f"{J}*mV" + gate, when="before_thresholds"),
                  b2.PoissonInput(G, "v", bb.C_E, nu_e * Hz, weight=f"{J}*mV" + gate,
                                  when="before_thresholds"),
                  b2.PoissonInput(G, "v", bb.C_I, nu_i * Hz, weight=f"{-g * J}*mV" + gate,
                                  when="before_thresholds")]
        M = b2.SpikeMonitor(G)
        b2.Network(G, M, *inputs).run(duration * ms)
        b2.device.build(directory=build_dir, compile=True, run=True, with_output=False)
        step = np.rint(np.asarray(M.t / ms) / DT).astype(np.int64)
        s = bb.statistics(np.asarray(M.i), (step + 1) * DT, n, T0, duration)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    return {k: s[k] for k in ("rate_mean", "cv_mean", "fano_factor", "chi")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file")
    p.add_argument("--g", type=float, required=True)
    p.add_argument("--eta", type=float, required=True)
    p.add_argument("--open-loop", action="store_true")
    args = p.parse_args()
    r = {"file": args.file, "g": args.g, "eta": args.eta,
         "input": input_variance(args.file, args.g, args.eta)}
    if args.open_loop:
        r["open_loop_brian2"] = open_loop(args.g, args.eta, r["input"]["nu_E"],
                                          r["input"]["nu_I"])
    print(json.dumps(r))


if __name__ == "__main__":
    main()
