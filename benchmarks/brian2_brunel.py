#!/usr/bin/env python3
"""Brunel (2000) model A in Brian2, as examples/brunel.toml describes it, with the spike-train
statistics that spikesim's analysis computes (rate, ISI CV, Golomb's chi), for a side-by-side
check of spikesim's network simulation (benchmarks/compare_brunel.py, docs/validation.md).

Prints one JSON object (one line) to stdout; Brian2's log and compiler output go to stderr.

The model, in potentials relative to rest (mV):
  N_E = 10000, N_I = 2500 LIF neurons, tau dv/dt = -v, tau = 20 ms, spike when v >= theta = 20,
  reset to V_r = 10 and held there for t_ref = 2 ms; V(0) uniform on [0, 20].
  Fixed in-degree C_E = 1000 excitatory and C_I = 250 inhibitory sources per neuron, drawn with
  replacement (multapses), no autapses within E->E and I->I; delta synapses J = 0.1 mV and -g J,
  delay D = 1.5 ms. External drive: 1000 Poisson sources of eta x 10 Hz per neuron, 0.1 mV each.
  dt = 0.1 ms.

spikesim's step conventions (docs/models.md), and how this script reproduces them in Brian2:
  * Exact leak: v <- v exp(-dt/tau) (method="exact"), the same update as spikesim's LIF.
  * Synaptic and Poisson jumps are added after the leak and before the threshold check of the
    same step, so a jump that carries v over theta fires in that step. Brian2's default schedule
    applies them after the threshold (slot "synapses"); here the synaptic pathways and the
    PoissonInput run in the slot "before_thresholds".
  * Delay: a spike in spikesim step s arrives in step s + 15 (1.5 ms). A pathway that runs
    before the threshold pushes the spikes of step s in step s + 1, so its delay is set to
    D - dt = 1.4 ms, which makes the jump land in step s + 15, before that step's threshold.
  * Refractoriness: spikesim sets v = V_r at the end of the spike's step and holds it for
    round(t_ref/dt) = 20 further steps, dropping every jump that arrives in them (NEST's
    convention). Brian2's refractory = 2 ms holds v for 19 steps after the spike's step
    (timestep(t - lastspike) >= timestep(refractory)), so refractory = t_ref + dt = 2.1 ms here,
    and the jumps are multiplied by int(not_refractory) so that they are dropped too.
  * Spike times: Brian2 stamps a spike with the start of its step, n dt; spikesim with the end,
    (n + 1) dt. The times are restamped as (n + 1) dt before the analysis.
Differences that remain: the random numbers (connectivity, initial potentials, Poisson counts)
are different streams; Brian2's PoissonInput draws Binomial(1000, rate dt) per step, spikesim
Poisson(1000 rate dt) (variance 1.996 instead of 2 at eta = 1); spikesim rounds the synaptic
weights to multiples of 2^-24 mV; Brian2's C++ is compiled with -ffast-math.

The statistics follow src/analysis/analysis.cpp and src/analysis/statistics.cpp over the window
[t_start, t_stop), t_stop = the simulated time; see statistics() below.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import numpy as np

N_E = 10000
N_I = 2500
C_E = 1000
C_I = 250
J_MV = 0.1
DELAY_MS = 1.5
TAU_MS = 20.0
THETA_MV = 20.0
V_RESET_MV = 10.0
T_REF_MS = 2.0
V_INIT_MV = (0.0, 20.0)
N_EXT = 1000          # Poisson sources per neuron (C_E)
NU_THR_HZ = THETA_MV / (J_MV * C_E * TAU_MS * 1e-3)   # 10 Hz
DT_MS = 0.1


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--g", type=float, default=5.0, help="relative inhibition g")
    p.add_argument("--eta", type=float, default=2.0, help="nu_ext / nu_thr")
    p.add_argument("--duration", type=float, default=2000.0, help="simulated time, ms")
    p.add_argument("--seed", type=int, default=1, help="seed of connectivity, V(0) and drive")
    p.add_argument("--t-start", type=float, default=200.0,
                   help="analysis window start, ms (spikesim analysis.t_start)")
    p.add_argument("--rate-bin", type=float, default=0.5,
                   help="population-rate bin for chi, ms (spikesim analysis.rate_bin)")
    p.add_argument("--fano-window", type=float, default=100.0,
                   help="Fano factor window, ms (spikesim analysis.fano_window)")
    p.add_argument("--cv-min-spikes", type=int, default=3,
                   help="neurons with fewer spikes have no CV (spikesim analysis.cv_min_spikes)")
    p.add_argument("--target", choices=("cpp_standalone", "cython"), default="cpp_standalone")
    p.add_argument("--threads", type=int, default=1,
                   help="cpp_standalone OpenMP threads (0: no OpenMP)")
    p.add_argument("--build-dir", default=None,
                   help="cpp_standalone project directory; reusing one across runs lets make "
                        "rebuild only what changed (default: a temporary directory, removed)")
    p.add_argument("--spikes-out", default=None,
                   help="also write the restamped spikes to this .npz (ids, t in ms, by pop)")
    args = p.parse_args(argv)
    if args.duration <= args.t_start:
        p.error("--duration must exceed --t-start")
    return args


# --------------------------------------------------------------------------------------------
# Statistics, as spikesim computes them (src/analysis/analysis.cpp, statistics.cpp)
# --------------------------------------------------------------------------------------------

def whole_bins(t_start, t_stop, width):
    # analysis.cpp whole_bins(): bins [t_start + k w, t_start + (k+1) w) that fit before t_stop
    return int(np.floor((t_stop - t_start) / width + 1e-9))


def statistics(ids, t, n_neurons, t_start, t_stop, rate_bin=0.5, fano_window=100.0,
               cv_min_spikes=3):
    """spikesim's /analysis/<pop> attributes from spike node ids and times (ms), plus the
    population rate's spectral peak (population_rate_peak_hz, not part of spikesim's analysis).

    * Only spikes with t_start <= t < t_stop count.
    * rate_mean: mean over all neurons of count / (t_stop - t_start).
    * cv_isi per neuron with >= cv_min_spikes spikes: ISI SD (ddof 0) / mean ISI, the mean from
      the end points (last - first) / (n - 1); cv_mean is the mean over those neurons.
    * lv (>= 3 spikes): 3/(n-1) sum ((I_k - I_{k+1})/(I_k + I_{k+1}))^2 over the n ISIs.
    * chi^2 = Var_t(population count) / (N sum_i Var_t(c_i)), c_i neuron i's count in bins of
      rate_bin, whole bins only, all N neurons included, variances ddof 0 (= Var_t(A) /
      mean_i Var_t(r_i) with A the population rate, r_i the neuron's rate; the bin width cancels).
    * fano_factor: per neuron Var/mean of the counts in windows of fano_window (ddof 0), averaged
      over the neurons with at least one spike in the whole windows.
    """
    ids = np.asarray(ids, dtype=np.int64)
    t = np.asarray(t, dtype=np.float64)
    keep = (t >= t_start) & (t < t_stop)
    ids, t = ids[keep], t[keep]
    order = np.lexsort((t, ids))
    ids, t = ids[order], t[order]
    seconds = (t_stop - t_start) * 1e-3
    counts = np.bincount(ids, minlength=n_neurons)
    rate_hz = counts / seconds

    # ISIs within each neuron's train
    same = ids[1:] == ids[:-1]
    isi = np.diff(t)[same]
    isi_owner = ids[1:][same]
    first = np.full(n_neurons, np.nan)
    last = np.full(n_neurons, np.nan)
    starts = np.r_[True, ~same]
    ends = np.r_[~same, True]
    if t.size:
        first[ids[starts]] = t[starts]
        last[ids[ends]] = t[ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        isi_mean = (last - first) / (counts - 1)
        dev = isi - isi_mean[isi_owner]
        m2 = np.bincount(isi_owner, weights=dev * dev, minlength=n_neurons)
        isi_sd = np.sqrt(m2 / (counts - 1))
        cv = np.where(counts >= max(cv_min_spikes, 2), isi_sd / isi_mean, np.nan)
        # LV over consecutive ISI pairs of the same neuron
        pair = isi_owner[1:] == isi_owner[:-1]
        a, b = isi[:-1][pair], isi[1:][pair]
        s = a + b
        r2 = np.where(s > 0, ((a - b) / np.where(s > 0, s, 1.0)) ** 2, 0.0)
        lv_sum = np.bincount(isi_owner[1:][pair], weights=r2, minlength=n_neurons)
        lv = np.where((counts >= max(cv_min_spikes, 3)), 3.0 * lv_sum / (counts - 2), np.nan)

    def binned_var(width):
        nb = whole_bins(t_start, t_stop, width)
        k = np.floor((t - t_start) / width).astype(np.int64)
        inb = k < nb
        key = ids[inb] * nb + k[inb]
        uniq, c = np.unique(key, return_counts=True)
        owner = uniq // nb
        s1 = np.bincount(owner, weights=c, minlength=n_neurons)
        s2 = np.bincount(owner, weights=c.astype(np.float64) ** 2, minlength=n_neurons)
        mean = s1 / nb
        var = np.maximum(0.0, s2 / nb - mean * mean)
        pop = np.bincount(k[inb], minlength=nb).astype(np.float64)
        return nb, s1, var, pop

    nb, _, var_i, pop = binned_var(rate_bin)
    pop_var = pop.var()
    chi_sq = pop_var / (n_neurons * var_i.sum()) if nb >= 2 and var_i.sum() > 0 else np.nan
    per_count_hz = 1000.0 / (n_neurons * rate_bin)

    nf, s1f, var_f, _ = binned_var(fano_window)
    used = s1f > 0
    fano = (float(np.mean(var_f[used] / (s1f[used] / nf)))
            if nf >= 2 and used.any() else float("nan"))

    # Not a spikesim statistic: the frequency of the largest peak above 5 Hz of the population
    # rate's power spectrum (Welch: Hann-windowed segments of 1024 bins, half overlapping).
    seg = min(1024, nb)
    if seg >= 16:
        win = np.hanning(seg)
        x = pop - pop.mean()
        psd = sum(np.abs(np.fft.rfft(win * x[k:k + seg])) ** 2
                  for k in range(0, nb - seg + 1, seg // 2))
        freq = np.fft.rfftfreq(seg, rate_bin * 1e-3)
        peak_hz = float(freq[freq > 5.0][np.argmax(psd[freq > 5.0])])
    else:
        peak_hz = float("nan")

    def nanmean(x):
        x = x[~np.isnan(x)]
        return float(x.mean()) if x.size else float("nan")

    return {
        "n_neurons": int(n_neurons),
        "spikes": int(counts.sum()),
        "t_start": float(t_start),
        "t_stop": float(t_stop),
        "rate_mean": float(rate_hz.mean()),
        "silent_fraction": float(np.mean(counts == 0)),
        "cv_mean": nanmean(cv),
        "cv_median": float(np.nanmedian(cv)) if np.any(~np.isnan(cv)) else float("nan"),
        "n_cv_nan": int(np.isnan(cv).sum()),
        "lv_mean": nanmean(lv),
        "population_rate_mean": float(pop.mean() * per_count_hz),
        "population_rate_sd": float(pop.std() * per_count_hz),
        "rate_bin": float(rate_bin),
        "chi_squared": float(chi_sq),
        "chi": float(np.sqrt(chi_sq)),
        "fano_factor": fano,
        "fano_window": float(fano_window),
        "cv_min_spikes": int(cv_min_spikes),
        "population_rate_peak_hz": peak_hz,
    }


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------

def fixed_indegree(rng, n_source, n_target, indegree, autapses):
    """Sources of each target drawn uniformly with replacement; without autapses (source and
    target the same population) a target never draws itself."""
    if autapses:
        src = rng.integers(0, n_source, size=(n_target, indegree), dtype=np.int64)
    else:
        src = rng.integers(0, n_source - 1, size=(n_target, indegree), dtype=np.int64)
        tgt = np.arange(n_target, dtype=np.int64)[:, None]
        src += src >= tgt
    tgt = np.repeat(np.arange(n_target, dtype=np.int64), indegree)
    return src.ravel().astype(np.int32), tgt.astype(np.int32)


def build(b2, args):
    ms, mV, Hz = b2.ms, b2.mV, b2.Hz
    b2.defaultclock.dt = DT_MS * ms
    b2.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ns = {"tau": TAU_MS * ms, "theta": THETA_MV * mV, "V_r": V_RESET_MV * mV,
          "J": J_MV * mV, "g": args.g}
    eqs = "dv/dt = -v / tau : volt (unless refractory)"
    # t_ref + dt: see the module docstring (Brian2 holds refractory - dt after the spike's step)
    G = b2.NeuronGroup(N_E + N_I, eqs, threshold="v >= theta", reset="v = V_r",
                       refractory=(T_REF_MS + DT_MS) * ms, method="exact", namespace=ns,
                       name="brunel")
    G.v = rng.uniform(V_INIT_MV[0], V_INIT_MV[1], size=N_E + N_I) * mV
    E = G[:N_E]
    I = G[N_E:]
    delay = (DELAY_MS - DT_MS) * ms   # the pathway runs before the threshold: see the docstring
    S_E = b2.Synapses(E, G, on_pre="v_post += J * int(not_refractory_post)", delay=delay,
                      namespace=ns, name="syn_exc")
    S_I = b2.Synapses(I, G, on_pre="v_post += -g * J * int(not_refractory_post)", delay=delay,
                      namespace=ns, name="syn_inh")
    # E -> E, E -> I, I -> E, I -> I: targets in G's numbering, sources in the subgroup's
    ee_s, ee_t = fixed_indegree(rng, N_E, N_E, C_E, autapses=False)
    ei_s, ei_t = fixed_indegree(rng, N_E, N_I, C_E, autapses=True)
    ie_s, ie_t = fixed_indegree(rng, N_I, N_E, C_I, autapses=True)
    ii_s, ii_t = fixed_indegree(rng, N_I, N_I, C_I, autapses=False)
    S_E.connect(i=np.concatenate([ee_s, ei_s]), j=np.concatenate([ee_t, ei_t + N_E]))
    S_I.connect(i=np.concatenate([ie_s, ii_s]), j=np.concatenate([ie_t, ii_t + N_E]))
    for S in (S_E, S_I):
        S.pre.when = "before_thresholds"
    P = b2.PoissonInput(G, "v", N=N_EXT, rate=args.eta * NU_THR_HZ * Hz,
                        weight="J * int(not_refractory)", when="before_thresholds")
    M = b2.SpikeMonitor(G, record=True, name="spikes")
    net = b2.Network(G, S_E, S_I, P, M)
    return net, M


def main(argv=None):
    args = parse_args(argv)
    import brian2 as b2

    t0 = time.perf_counter()
    tmp = None
    if args.target == "cpp_standalone":
        build_dir = args.build_dir or tempfile.mkdtemp(prefix="brian2_brunel_")
        tmp = None if args.build_dir else build_dir
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    else:
        b2.prefs.codegen.target = "cython"
    try:
        net, M = build(b2, args)
        net.run(args.duration * b2.ms)
        if args.target == "cpp_standalone":
            b2.device.build(directory=build_dir, compile=True, run=True, with_output=False)
        loop_s = float(b2.device._last_run_time)
        steps = int(round(args.duration / DT_MS))
        i = np.asarray(M.i[:], dtype=np.int64)
        step = np.rint(np.asarray(M.t[:] / b2.ms) / DT_MS).astype(np.int64)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    wall_s = time.perf_counter() - t0
    # spikesim's stamp: the end of the step, (n + 1) dt, computed as it does it (double)
    t = (step + 1).astype(np.float64) * DT_MS
    t_stop = steps * DT_MS
    exc = i < N_E
    pops = {
        "exc": statistics(i[exc], t[exc], N_E, args.t_start, t_stop, args.rate_bin,
                          args.fano_window, args.cv_min_spikes),
        "inh": statistics(i[~exc] - N_E, t[~exc], N_I, args.t_start, t_stop, args.rate_bin,
                          args.fano_window, args.cv_min_spikes),
    }
    if args.spikes_out:
        np.savez_compressed(args.spikes_out, exc_ids=i[exc], exc_t=t[exc],
                            inh_ids=i[~exc] - N_E, inh_t=t[~exc])
    result = {
        "simulator": "brian2",
        "version": b2.__version__,
        "target": args.target,
        "threads": args.threads if args.target == "cpp_standalone" else 1,
        "g": args.g,
        "eta": args.eta,
        "seed": args.seed,
        "duration_ms": args.duration,
        "dt_ms": DT_MS,
        "rate": pops["exc"]["rate_mean"],
        "cv_mean": pops["exc"]["cv_mean"],
        "chi": pops["exc"]["chi"],
        "analysis": pops,
        "loop_s": loop_s,
        "wall_s": wall_s,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
