"""Plots of spikesim's results with matplotlib, and the ``spikesim-plot`` command (:func:`main`).

Each function takes a :class:`~spikesim.Result` and a population name, or plain arrays, draws on
``ax`` when given (else on a new figure) and returns the Axes. Run plots: :func:`raster`,
:func:`population_rate`, :func:`traces`, :func:`rate_histogram`, :func:`cv_histogram`,
:func:`fI`; single-neuron plots of a :class:`~spikesim.theory.NeuronAnalysis`
(``spikesim.neuron`` or a ``spikesim model --h5`` file): :func:`phase_line`, :func:`model_fI`;
sweeps: :func:`sweep`. Theory comes from :mod:`spikesim.theory`, files from ``spikesim.open`` and
``spikesim.sweep_table``. matplotlib is imported on first use; ``main`` selects its Agg backend.
"""

import argparse
import csv
import math
import os
import sys
import textwrap

import numpy as np

from . import theory
from .errors import InputError, OutputError, SpikesimError
from .result import Result

__all__ = ["raster", "population_rate", "traces", "rate_histogram", "cv_histogram", "fI",
           "phase_line", "model_fI", "sweep", "main"]

EXIT_INTERNAL, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT = 1, 2, 3, 4

# Limits that keep a plot of a large run fast and legible.
RASTER_MAX_NEURONS = 200
RASTER_MAX_DOTS = 100_000
TRACES_MAX = 8  # recorded neurons drawn in the traces plot
TRACE_MAX_POINTS = 4000  # per trace; longer ones are reduced to min/max envelopes
RATE_MAX_BINS = 2000  # population-rate bins drawn; more are merged
SWEEP_LEGEND_MAX = 12  # lines with a legend entry; more are drawn in a colour ramp without one

# The deterministic theory of the models that have one: rate (Hz) at I (nA), rheobase (nA).
_THEORY = {
    "lif": (theory.lif_rate, theory.lif_rheobase, "analytic (spikesim.theory.lif_rate)"),
    "eif": (theory.eif_rate, theory.eif_rheobase, "quadrature (spikesim.theory.eif_rate)"),
}


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _axes(width=8.0, height=4.5):
    return _pyplot().subplots(figsize=(width, height), layout="constrained")[1]


def _is_result(data):
    return isinstance(data, Result)


def _unit_label(u):
    """Units as printed on an axis: uA/cm^2 -> µA/cm², MOhm -> MΩ."""
    return u.replace("uA", "µA").replace("^2", "²").replace("MOhm", "MΩ")


def _empty_note(ax, msg):
    ax.text(0.5, 0.5, msg, transform=ax.transAxes, ha="center", va="center", color="0.4")


def _analysis_or_none(result, pop):
    try:
        return result.analysis(pop)
    except KeyError:
        return None


# ------------------------------------------------------------------------------ run plots


def _raster_selection(t, ids, n, max_neurons, max_dots):
    """Evenly spaced node ids (so that an ordering by id, a current ramp, stays visible), their
    spikes, and the time where the dot limit cut them (None: not cut)."""
    if n <= max_neurons:
        chosen = np.arange(n)
    else:
        chosen = np.unique(np.round(np.linspace(0, n - 1, max_neurons)).astype(np.int64))
    selected = np.zeros(max(n, 1), dtype=bool)
    selected[chosen] = True
    i = ids.astype(np.int64)
    keep = (i < selected.size) & selected[np.minimum(i, selected.size - 1)]
    t, i = t[keep], i[keep]
    t_cut = None
    if t.size > max_dots:
        # Cut at the time of the first dot over the limit, dropping its simultaneous ones, so that
        # the window shown is complete.
        t_cut = float(t[max_dots])
        whole = t[:max_dots] < t_cut
        t, i = t[:max_dots][whole], i[:max_dots][whole]
    return chosen, t, i, t_cut


def raster(data, pop=None, ax=None, *, n_neurons=None, t_stop=None,
           max_neurons=RASTER_MAX_NEURONS, max_dots=RASTER_MAX_DOTS):
    """Spike raster, time (ms) against node id. data: a Result (with pop) or (times_ms, node_ids);
    n_neurons (default: the population's size, else the largest id + 1) and t_stop (ms; default:
    the simulated time, else the last spike) for arrays. Of more neurons than max_neurons, that
    many evenly spaced ids are drawn; past max_dots dots the plot ends at the first dot over."""
    from matplotlib.ticker import MaxNLocator

    if _is_result(data):
        t, ids = data.spikes(pop)
        n, t_end = data.size(pop), data.simulated_ms
    else:
        t, ids = (np.asarray(a) for a in data)
        order = np.argsort(t, kind="stable")
        t, ids = t[order], ids[order]
        n = n_neurons or 0
        t_end = float(t_stop) if t_stop is not None else float(t.max()) if t.size else 1.0
    n = max(int(n), int(ids.max()) + 1 if ids.size else 0)
    chosen, t_sel, i_sel, t_cut = _raster_selection(t, ids, n, max_neurons, max_dots)
    ax = ax or _axes()
    if t_sel.size:
        # Marker size shrinks with the number of rows so that rows stay apart.
        size = float(np.clip(600.0 / max(len(chosen), 1), 0.5, 12.0))
        ax.scatter(t_sel, i_sel, s=size, marker="|", linewidths=0.6, color="k", rasterized=True)
    else:
        _empty_note(ax, "no spikes from these neurons")
    ax.set_xlim(0, t_cut if t_cut is not None else t_end)
    ax.set_ylim(-0.5, max(n - 0.5, 0.5))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (node id)")
    shown = f"all {n:,} neurons" if len(chosen) == n else f"{len(chosen)} of {n:,} neurons, evenly spaced"
    detail = f"{shown}, {t.size:,} spikes in all"
    if t_cut is not None:
        detail += f"; the first {t_cut:.6g} ms ({max_dots // 1000}k-dot limit)"
    ax.set_title(f"{pop + ': ' if pop else ''}spike raster\n{detail}", fontsize="medium")
    return ax


def _merge_bins(rate, per_bin):
    """Rates averaged over groups of per_bin bins (the last, incomplete group dropped)."""
    bins = rate.size // per_bin
    return rate[: bins * per_bin].reshape(bins, per_bin).mean(axis=1)


def population_rate(data, pop=None, ax=None, *, bin_ms=None, max_bins=RATE_MAX_BINS):
    """Population rate (Hz per neuron) over time (ms), with its mean. data: a Result (with pop:
    the rate of /analysis, else of the per-step spike counts in 1 ms bins) or (bin_start_ms,
    rate_hz) with bins of bin_ms (default: the spacing of the starts). More than max_bins bins
    are merged into max_bins wider ones."""
    if _is_result(data):
        start, rate = data.population_rate(pop)
        a = _analysis_or_none(data, pop)
        from_analysis = a is not None and "population_rate" in a
        source = "/analysis" if from_analysis else "spikes per step"
        width = a["rate_bin"] if from_analysis else max(1, round(1.0 / data.dt)) * data.dt
    else:
        start, rate = (np.asarray(x, np.float64) for x in data)
        source = None
        width = bin_ms or (float(start[1] - start[0]) if start.size > 1 else 1.0)
    if rate.size > max_bins:
        per_bin = math.ceil(rate.size / max_bins)
        rate, width = _merge_bins(np.asarray(rate, np.float64), per_bin), width * per_bin
    ax = ax or _axes()
    if rate.size:
        edges = float(start[0]) + width * np.arange(rate.size + 1)
        ax.stairs(rate, edges, color="C0", linewidth=0.8, label="population rate")
        mean = float(np.mean(rate))
        ax.axhline(mean, color="C3", linestyle="--", linewidth=1, label=f"mean {mean:.3g} Hz")
        ax.set_xlim(edges[0], edges[-1])
        ax.legend(loc="upper right")
    else:
        _empty_note(ax, "no whole bin in the analysis window")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz per neuron)")
    what = f"{source + ', ' if source else ''}{width:g} ms bins"
    ax.set_title(f"{pop + ': ' if pop else ''}population rate ({what})")
    return ax


def _envelope(values, max_points):
    """Rows reduced to at most max_points by keeping each block's minimum and maximum, so that
    spikes (single-sample peaks) survive the reduction; returns (row index, values)."""
    rows = values.shape[0]
    if rows <= max_points:
        return np.arange(rows), values
    block = math.ceil(rows / (max_points // 2))
    whole = rows // block
    v = values[: whole * block].reshape(whole, block, *values.shape[1:])
    idx = np.arange(whole) * block
    both = np.empty((2 * whole, *values.shape[1:]), dtype=values.dtype)
    both[0::2], both[1::2] = v.min(axis=1), v.max(axis=1)
    return np.repeat(idx, 2) + np.tile([0, block - 1], whole), both


def _trace_source(data, pop):
    """(t, node_ids, values, units, currents per neuron or None, (spike counts, window ms) or
    None) of a Result's traces."""
    t, ids, v = data.traces(pop)
    p = data.parameters(pop)
    I = p.get("input.I")
    per_neuron = isinstance(I, np.ndarray) and I.ndim == 1 and I.size > 1
    currents = (I, _unit_label(p["units"].get("input.I", "nA"))) if per_neuron else None
    a = _analysis_or_none(data, pop)
    counts = None
    if a is not None and "spike_count" in a:
        counts = (a["spike_count"], float(a["t_stop"]) - float(a["t_start"]))
    return t, ids, v, "Hz" if data.model(pop) == "rate" else "mV", currents, counts


def _zoom_window(t, ids, counts):
    """About ten periods of the fastest drawn neuron, from the middle of the run, when it fires
    more than 40 times (its trace is then a solid band); else None."""
    if counts is None or t.size < 2:
        return None
    spikes, window_ms = counts
    most = max((int(spikes[int(n)]) for n in ids if int(n) < spikes.size), default=0)
    if most <= 40:
        return None
    t0 = t[0] + 0.5 * (t[-1] - t[0])
    return t0, min(t0 + 10.0 * window_ms / most, t[-1])


def traces(data, pop=None, ax=None, *, units="mV", max_traces=TRACES_MAX,
           max_points=TRACE_MAX_POINTS, detail=True):
    """Recorded traces (V in mV, or r in Hz for rate units) over time (ms), at most max_traces,
    each reduced to a min/max envelope of max_points points. data: a Result (with pop) or (t_ms,
    node_ids, values[T, n]) in ``units``. detail: on a new figure, a second panel with about ten
    periods of the fastest neuron when it fires often (a Result's). Returns the main Axes."""
    if _is_result(data):
        t, ids, v, units, currents, counts = _trace_source(data, pop)
    else:
        t, ids, v = (np.asarray(x) for x in data)
        currents = counts = None
    k = min(v.shape[1], max_traces)
    values, ids = np.asarray(v[:, :k]), ids[:k]
    zoom = _zoom_window(t, ids, counts) if ax is None and detail else None
    if ax is None and zoom is not None:
        _, (ax, zx) = _pyplot().subplots(2, 1, figsize=(8.0, 6.5), layout="constrained")
    else:
        ax, zx = ax or _axes(), None
    rows, reduced = _envelope(values, max_points)
    step = float(t[1] - t[0]) if t.size > 1 else 0.0
    for j in range(k):
        label = f"node {int(ids[j])}"
        if currents is not None and int(ids[j]) < currents[0].size:
            label += f", I = {currents[0][int(ids[j])]:.3g} {currents[1]}"
        ax.plot(t[rows], reduced[:, j], linewidth=0.8, label=label)
    if zx is not None:
        inside = (t >= zoom[0]) & (t <= zoom[1])
        zx.plot(t[inside], values[inside], linewidth=1.0)
        zx.set_xlim(*zoom)
        zx.set_title(f"detail, {zoom[0]:g}–{zoom[1]:.4g} ms", fontsize="medium")
        ax.axvspan(*zoom, color="0.85", zorder=0)
    quantity = "r" if units == "Hz" else "V"
    for a in (ax, zx) if zx is not None else (ax,):
        a.set_xlabel("time (ms)")
        a.set_ylabel(f"{quantity} ({_unit_label(units)})")
    if t.size:
        ax.set_xlim(t[0], max(t[-1], t[0] + step))
    shown = f"{k} of {v.shape[1]} recorded" if k < v.shape[1] else f"{k} recorded"
    what = "rate" if quantity == "r" else "membrane potential"
    ax.set_title(f"{pop + ': ' if pop else ''}{what} traces ({shown}, sampled every {step:g} ms)")
    if k:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def _histogram_source(data, pop, which, bins):
    """(counts, bin_edges, outside, analysis attributes) from a Result's /analysis, or a
    histogram of per-neuron values (NaN: undefined)."""
    if _is_result(data):
        a = data.analysis(pop)
        h = a[which]
        return h["counts"], h["bin_edges"], int(h.get("outside", 0)), a
    x = np.asarray(data, np.float64)
    finite = x[np.isfinite(x)]
    counts, edges = np.histogram(finite, bins=bins)
    a = {"n_neurons": x.size, "n_silent": int(np.sum(finite == 0)), "n_cv_nan": int(x.size - finite.size),
         "rate_mean" if which == "rate_hist" else "cv_mean": float(np.mean(finite)) if finite.size else np.nan}
    return counts, edges, 0, a


def _histogram(data, pop, ax, which, bins):
    counts, edges, outside, a = _histogram_source(data, pop, which, bins)
    ax = ax or _axes(7.0, 4.5)
    ax.stairs(counts, edges, fill=True, color="C0", alpha=0.8)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylabel("neurons")
    if which == "rate_hist":
        ax.set_xlabel("firing rate (Hz)")
        mean, label = float(a.get("rate_mean", np.nan)), "mean {:.3g} Hz"
        extra, name = f"{int(a.get('n_silent', 0))} silent", "rates"
    else:
        ax.set_xlabel("ISI coefficient of variation (CV)")
        mean, label = float(a.get("cv_mean", np.nan)), "mean {:.3f}"
        extra = f"{int(a.get('n_cv_nan', 0))} without a CV (< {int(a.get('cv_min_spikes', 3))} spikes)"
        name = "ISI CVs"
        if np.sum(counts) == 0:
            _empty_note(ax, "no neuron has enough spikes for a CV")
    if np.isfinite(mean):
        ax.axvline(mean, color="C3", linestyle="--", linewidth=1, label=label.format(mean))
        ax.legend(loc="upper right")
    if outside:
        extra += f", {outside} beyond {edges[-1]:g}"
    ax.set_title(f"{pop + ': ' if pop else ''}{name} of {int(a.get('n_neurons', 0)):,} neurons ({extra})")
    return ax


def rate_histogram(data, pop=None, ax=None, *, bins=50):
    """Histogram of the neurons' firing rates (Hz) with their mean: a Result's /analysis/<pop>
    rate_hist, or per-neuron rates (Hz) in ``bins`` bins. Returns the Axes."""
    return _histogram(data, pop, ax, "rate_hist", bins)


def cv_histogram(data, pop=None, ax=None, *, bins=50):
    """Histogram of the neurons' ISI coefficients of variation with their mean: a Result's
    /analysis/<pop> cv_hist, or per-neuron CVs (NaN: too few spikes) in ``bins`` bins."""
    return _histogram(data, pop, ax, "cv_hist", bins)


def _pulses(result, pop):
    """The number of input pulses of a population, from the run's config (0 where unknown)."""
    try:
        return len(result.config_dict["population"][pop.split("@")[0]]["input"].get("pulses", []))
    except (KeyError, TypeError, AttributeError, ValueError):
        return 0


def _fI_source(data, pop):
    """(I, rate_hz, I units, model, params, title detail) of a Result's population."""
    p = data.parameters(pop)
    I = np.asarray(p["input.I"], np.float64)
    a = _analysis_or_none(data, pop)
    if a is not None and "rate_hz" in a:
        rate = a["rate_hz"]
    else:  # spikes per neuron over the whole simulated time
        _, ids = data.spikes(pop)
        rate = np.bincount(ids.astype(np.int64), minlength=I.size)[: I.size] / (data.simulated_ms * 1e-3)
    detail = f"{I.size:,} neurons, dt = {data.dt:g} ms, {data.simulated_ms:g} ms simulated"
    if float(p.get("input.sigma", 0.0)) > 0:
        detail += f"; noise σ = {p['input.sigma']:g} mV, not in the theory"
    pulses = _pulses(data, pop)
    if pulses:
        detail += f"; {pulses} input pulse(s), not in the theory"
    model = data.model(pop)
    return I, rate, _unit_label(p["units"].get("input.I", "nA")), model, p, detail


def _theory_params(model, params):
    """The model parameters that its theory takes, from params; None for a model without
    theory or with parameters missing."""
    if model not in _THEORY or not all(k in params for k in theory.defaults(model)):
        return None
    return {k: float(params[k]) for k in theory.defaults(model)}


def _theory_line(model, params, I_lo, I_hi):
    """Currents dense just above the rheobase (where the rate rises steeply from zero), the
    theory's rates there and the rheobase; None without a theory."""
    p = _theory_params(model, params)
    if p is None:
        return None
    rate_of, rheobase_of, _ = _THEORY[model]
    rh = rheobase_of(**p)
    I_line = np.linspace(I_lo, I_hi, 600)
    if I_lo < rh < I_hi:
        I_line = np.union1d(I_line, rh + (I_hi - rh) * np.geomspace(1e-6, 1e-2, 60))
    return I_line, rate_of(I_line, **p), rh


def fI(data, pop=None, ax=None, *, model=None, params=None):
    """Simulated rate (Hz) per neuron against its current (nA) over the deterministic theory of
    spikesim.theory (lif, eif) with the rheobase. data: a Result (with pop; its population has a
    current per neuron) or (I_nA, rate_hz) with model and params (default: the model's)."""
    if _is_result(data):
        I, rate, I_units, model, params, detail = _fI_source(data, pop)
    else:
        I, rate = (np.asarray(x, np.float64) for x in data)
        I_units, detail = "nA", f"{I.size:,} neurons"
        if params is None and model in _THEORY:
            params = {k: v for k, (v, _u) in theory.defaults(model).items()}
    ax = ax or _axes(7.0, 4.5)
    ax.plot(I, rate, "o", markersize=2.5, color="C0", alpha=0.7,
            label="simulated, one neuron per current", zorder=2)
    line = _theory_line(model, params or {}, float(I.min()), float(I.max())) if I.size else None
    if line is not None:
        I_line, rate_line, rh = line
        ax.plot(I_line, rate_line, color="C3", linewidth=1.2, label="theory, " + _THEORY[model][2], zorder=3)
        if I.min() <= rh <= I.max():
            ax.axvline(rh, color="0.5", linestyle=":", linewidth=1, label=f"rheobase {rh:.4g} {I_units}")
    ax.set_xlabel(f"input current I ({I_units})")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_ylim(bottom=0)
    title = f"{pop + ': ' if pop else ''}f–I curve" + (f", {model.upper()}" if model else "")
    ax.set_title(f"{title}\n{detail}", fontsize="medium")
    ax.legend(loc="upper left", fontsize="small")
    return ax


# ------------------------------------------------------------------------ single neurons


def _as_analysis(analysis_or_params, model, I):
    if isinstance(analysis_or_params, theory.NeuronAnalysis):
        return analysis_or_params
    from . import neuron

    return neuron(model, I, **dict(analysis_or_params or {}))


def _draw_phase_line(ax, u, y, us, stable, hh, annotate):
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.plot(u, y, color="C0", linewidth=1.8, label="f(V)" if hh else "f(u)")
    # Flow on the line: arrows right where f > 0, left where f < 0, kept off the fixed points.
    span = u[-1] - u[0]
    for x in np.linspace(u[0], u[-1], 23)[1:-1]:
        v = np.interp(x, u, y)
        if abs(v) > 1e-9 and (us.size == 0 or np.min(np.abs(us - x)) > 0.025 * span):
            ax.plot(x, 0, marker=">" if v > 0 else "<", color="0.55", markersize=6, zorder=2)
    if stable.any():
        ax.plot(us[stable], np.zeros(stable.sum()), "o", markersize=9, color="C2",
                markeredgecolor="k", zorder=4, label="stable fixed point", gid="stable")
    if (~stable).any():
        ax.plot(us[~stable], np.zeros((~stable).sum()), "o", markersize=9, markerfacecolor="white",
                markeredgecolor="C3", markeredgewidth=2, zorder=4, label="unstable fixed point",
                gid="unstable")
    for x, s in zip(us, stable):
        if annotate(x):
            ax.annotate(f"{x:.2f}", (x, 0), textcoords="offset points", xytext=(0, -16),
                        ha="center", fontsize="small", color="C2" if s else "C3")
    ax.set_xlim(u[0], u[-1])


def _close_fixed_points(us, span):
    """Fixed points closer than 5% of the plotted range to a neighbour (HH's rest and threshold;
    the EIF's pair near the rheobase)."""
    close = np.zeros(us.size, dtype=bool)
    if us.size > 1:
        near = np.diff(us) < 0.05 * span
        close[:-1] |= near
        close[1:] |= near
    return close


def _mark_voltages(ax, params, u):
    for key, label in (("V_reset", "reset"), ("V_th", "threshold"), ("V_peak", "spike"),
                       ("V_spike", "spike detection")):
        if key in params and u[0] <= params[key] <= u[-1]:
            ax.axvline(params[key], color="0.6", linestyle="--", linewidth=0.8)
            ax.annotate(f"{key} ({label})", (params[key], 1), xycoords=("data", "axes fraction"),
                        xytext=(-3, -4), textcoords="offset points", rotation=90, ha="right",
                        va="top", fontsize="small", color="0.4")


def _phase_detail(zx, a, us, stable, close, hh):
    """The second panel, zoomed onto the close fixed points; returns its u range."""
    u, y = a.phase_u, a.phase_f
    group = us[close]
    width = max(group[-1] - group[0], 1e-3 * (u[-1] - u[0]))
    lo, hi = group[0] - 0.6 * width, group[-1] + 0.6 * width
    if a.model == "eif":
        # The phase line's 801 samples are too coarse for a narrow window: f is evaluated anew.
        zu = np.linspace(lo, hi, 400)
        zy = theory.eif_phase(zu, a.I, **a.params)
    else:
        inside = (u >= lo) & (u <= hi)
        zu, zy = u[inside], y[inside]
    within = (us >= lo) & (us <= hi)
    _draw_phase_line(zx, zu, zy, us[within], stable[within], hh, lambda x: True)
    zx.set_xlim(lo, hi)
    if zy.size:
        z_lo, z_hi = min(float(np.min(zy)), 0.0), max(float(np.max(zy)), 0.0)
        z_pad = 0.1 * max(z_hi - z_lo, 1e-9)
        zx.set_ylim(z_lo - z_pad, z_hi + z_pad)
    zx.set_title(f"detail, {lo:.3g} to {hi:.3g} mV", fontsize="medium")
    return lo, hi


def phase_line(analysis_or_params, ax=None, *, model="eif", I=0.0, detail=True):
    """The phase line f(u) = τ_m du/dt (mV; HH: C_m dV/dt in µA/cm²) against u (mV) with its flow
    and fixed points (filled: stable, open: unstable), and the rheobase noted. analysis_or_params:
    a NeuronAnalysis, or {param: value} for spikesim.neuron(model, I). detail: on a new figure, a
    second panel on fixed points that lie close together. Returns the main Axes."""
    a = _as_analysis(analysis_or_params, model, I)
    u, y = a.phase_u, a.phase_f
    hh = a.model == "hh"
    us = np.array([fp[0] for fp in a.fixed_points], np.float64)
    stable = np.array([fp[2] for fp in a.fixed_points], bool)
    close = _close_fixed_points(us, u[-1] - u[0])
    zx = None
    if ax is None:
        if close.any() and detail:
            _, (ax, zx) = _pyplot().subplots(1, 2, figsize=(11.0, 4.8), layout="constrained", width_ratios=[3, 2])
        else:
            ax = _axes(7.5, 4.8)
    _draw_phase_line(ax, u, y, us, stable, hh, lambda x: zx is None or x not in us[close])
    # The exponential of the EIF dwarfs the region of the fixed points: show f up to the larger of
    # its value at the left end and three times its dip below zero.
    dip = max(-float(np.min(y)), 0.0)
    top = min(float(np.max(y)), max(float(y[0]), 3.0 * dip, 1.0))
    bottom = min(float(np.min(y)), 0.0)
    pad = 0.08 * (top - bottom)
    ax.set_ylim(bottom - pad, top + pad)
    _mark_voltages(ax, a.params, u)
    f_units = _unit_label(a.phase_units)
    xlabel = "V (mV, from rest)" if hh else "u (mV)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"f(V) = C_m dV/dt ({f_units})" if hh else f"f(u) = τ_m du/dt ({f_units})")
    what = "reduced phase line (h, n frozen at rest, m = m∞(V))" if hh else "phase line"
    I_units = _unit_label(a.I_units)
    rheobase = f"; rheobase {a.rheobase:.4g} {I_units}" if np.isfinite(a.rheobase) else ""
    ax.set_title(f"{a.model.upper()} {what} at I = {a.I:g} {I_units}{rheobase}", fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    if zx is not None:
        ax.axvspan(*_phase_detail(zx, a, us, stable, close, hh), color="0.88", zorder=0)
        zx.set_xlabel(xlabel)
    return ax


def _fixed_point_panel(ax2, a, I_units):
    """The stable and unstable fixed points (mV) against I: the library's, densely for lif and
    eif (spikesim.neuron over 600 currents), the table's points on them."""
    from . import neuron

    g, I = a.fI, a.fI["I"]
    I_line, s_line, u_line, style = I, g["u_stable"], g["u_unstable"], "o-"
    if a.model in _THEORY and I.size > 1:
        I_line = np.linspace(I.min(), I.max(), 600)
        rh = a.rheobase
        if np.isfinite(rh) and I.min() < rh < I.max():
            I_line = np.union1d(I_line, rh - (rh - I.min()) * np.geomspace(1e-6, 1e-2, 60))
        dense = neuron(a.model, a.I, currents=I_line, **a.params).fI
        s_line, u_line, style = dense["u_stable"], dense["u_unstable"], "-"
    # The LIF has no unstable fixed point: its threshold is imposed.
    for line, table, color, dash, label in ((s_line, g["u_stable"], "C2", "-", "stable fixed point"),
                                            (u_line, g["u_unstable"], "C3", "--", "unstable fixed point")):
        if np.isfinite(line).any() or np.isfinite(table).any():
            ax2.plot(I_line, line, style.replace("-", dash), color=color, linewidth=1.8, label=label)
            ax2.plot(I, table, "o", color=color, markersize=3.5)
    ax2.set_ylabel("u (mV)")
    ax2.legend(loc="best", fontsize="small")
    merge = " (they merge at the rheobase: saddle-node)" if a.model == "eif" else ""
    ax2.set_title("fixed points" + merge, fontsize="medium")
    ax2.set_xlabel(f"input current I ({I_units})")


def model_fI(analysis, ax=None, *, fixed_points=True):
    """The f-I curve of a NeuronAnalysis: rate (Hz) against I (nA; HH: µA/cm²), the theory line
    of spikesim.theory for lif and eif over the table's points, the noisy rate (Siegert) where
    computed, the rheobase; fixed_points: on a new figure, a second panel of the fixed points
    against I (lif, eif). Returns the rate Axes."""
    a, g = analysis, analysis.fI
    I, rate = g["I"], g["rate"]
    I_units = _unit_label(a.I_units)
    ax2 = None
    if ax is None and fixed_points and a.model != "hh":
        _, (ax, ax2) = _pyplot().subplots(2, 1, figsize=(7.5, 6.5), sharex=True, layout="constrained",
                                     height_ratios=[3, 2])
    elif ax is None:
        ax = _axes(7.5, 4.5)
    if a.model == "hh":
        # Dotted: HH's onset is discontinuous, the points are all that is known.
        ax.plot(I, rate, "o:", color="C0", markersize=4, linewidth=1.2, label="simulated, one neuron per current")
        ax.set_title("HH f–I curve\n" + textwrap.fill(a.notes.get("fI_method", ""), 95), fontsize="medium")
    else:
        line = _theory_line(a.model, a.params, float(I.min()), float(I.max())) if I.size else None
        if line is not None:
            ax.plot(line[0], line[1], color="C0", linewidth=1.5, label="theory, " + _THEORY[a.model][2])
        ax.plot(I, rate, "o", color="C0", markersize=4, label="the f–I table")
        ax.set_title(f"{a.model.upper()} f–I curve (deterministic)", fontsize="medium")
    if np.isfinite(g["rate_noise"]).any():
        ax.plot(I, g["rate_noise"], "s--", color="C1", markersize=3.5, linewidth=1.2,
                label=f"with white noise σ = {a.sigma:g} mV (Siegert)")
    for axis in (ax, ax2) if ax2 is not None else (ax,):
        if np.isfinite(a.rheobase):
            axis.axvline(a.rheobase, color="0.5", linestyle=":", linewidth=1,
                         label=f"rheobase {a.rheobase:.4g} {I_units}" if axis is ax else None)
    ax.set_ylabel("firing rate (Hz)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize="small")
    if ax2 is not None:
        _fixed_point_panel(ax2, a, I_units)
    else:
        ax.set_xlabel(f"input current I ({I_units})")
    return ax


# --------------------------------------------------------------------------------- sweeps


def _sweep_keys(table):
    """The swept keys: the columns between point and seed."""
    cols = list(table.keys())
    return cols[cols.index("point") + 1 : cols.index("seed")]


def _key_unit(table, key):
    """A swept key's unit, from the parameters of its population in the sweep's first file."""
    parts = key.split(".")
    path = str(np.asarray(table["file"])[0]) if "file" in table and len(table["file"]) else ""
    if len(parts) < 3 or parts[0] != "population" or not os.path.isfile(path):
        return ""
    rest = ".".join(parts[2:]).removeprefix("params.")
    try:
        r = Result(path)
        packed = next(p for p in r.populations if p.split("@")[0] == parts[1])
        return _unit_label(r.parameters(packed)["units"].get(rest, ""))
    except (StopIteration, InputError, OSError, KeyError):
        return ""


def _sweep_groups(table, x, others):
    """{(population, other keys' values): row indices sorted by x}."""
    pops = np.asarray(table["population"])
    groups = {}
    for i in range(len(pops)):
        groups.setdefault((str(pops[i]),) + tuple(float(table[k][i]) for k in others), []).append(i)
    xs = np.asarray(table[x], np.float64)
    return {g: np.array(sorted(rows, key=lambda i: xs[i])) for g, rows in sorted(groups.items())}


def sweep(table, x=None, y="rate", ax=None, *, unit=None):
    """A sweep's mean rate (Hz, band: 10th-90th percentile; y="rate") or mean ISI CV (y="cv")
    against one swept key x (default: the first), a line per population and per combination of
    the other keys. table: spikesim.sweep_table's dict or DataFrame, or what it reads (a
    directory or files). unit: x's unit (default: from the sweep's first file)."""
    if isinstance(table, (str, os.PathLike, list, tuple)):
        from . import sweep_table

        table = sweep_table(table)
    keys = _sweep_keys(table)
    x = x or keys[0]
    if x not in keys:
        raise KeyError(f"{x}: not a swept key (the sweep's keys: {', '.join(keys)})")
    others = [k for k in keys if k != x]
    groups = _sweep_groups(table, x, others)
    unit = _key_unit(table, x) if unit is None else unit
    legend = len(groups) <= SWEEP_LEGEND_MAX
    colours = _pyplot().cm.viridis(np.linspace(0.0, 0.9, max(len(groups), 1)))
    col = {k: np.asarray(table[k], np.float64) for k in (x, "rate_mean", "rate_p10", "rate_p90", "cv_mean")}
    ax = ax or _axes()
    for colour, (group, rows) in zip(colours, groups.items()):
        label = group[0] + "".join(f", {k.split('.')[-1]} = {v:g}" for k, v in zip(others, group[1:]))
        if y == "rate":
            ax.fill_between(col[x][rows], col["rate_p10"][rows], col["rate_p90"][rows],
                            color=colour, alpha=0.2, linewidth=0)
        ax.plot(col[x][rows], col["rate_mean" if y == "rate" else "cv_mean"][rows], "o-", color=colour,
                markersize=3 if len(rows) < 200 else 0, linewidth=1.2, label=label if legend else None)
    ax.set_xlabel(f"{x} ({unit})" if unit else x)
    ax.set_ylabel("firing rate (Hz)" if y == "rate" else "mean ISI CV")
    ax.set_ylim(bottom=0)
    title = ("mean rate over the neurons (band: 10th–90th percentile)" if y == "rate"
             else "mean ISI CV over the neurons that have one")
    ax.set_title(f"sweep of {len(set(np.asarray(table['point']).tolist()))} points: {title}", fontsize="medium")
    if legend and len(groups) > 1:
        ax.legend(loc="best", fontsize="small")
    return ax


# ------------------------------------------------------------------------ spikesim-plot


class UsageError(Exception):
    """A bad command-line argument (exit 2)."""


def _note(msg):
    sys.stderr.write(f"spikesim-plot: {msg}\n")


class _Writer:
    """Saves figures into the output directory and remembers what it wrote."""

    def __init__(self, out_dir, fmt):
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create output directory '{out_dir}': {e.strerror}") from None
        if not os.access(out_dir, os.W_OK):
            raise OutputError(f"output directory '{out_dir}' is not writable")
        self.out_dir, self.fmt, self.written = out_dir, fmt, []

    def save(self, ax, name):
        path = os.path.join(self.out_dir, f"{name}.{self.fmt}")
        try:
            ax.figure.savefig(path, dpi=100)
        except OSError as e:
            raise OutputError(f"cannot write '{path}': {e.strerror or e}") from None
        finally:
            _pyplot().close(ax.figure)
        self.written.append(path)


def _has_traces(result, pop):
    try:
        result.traces(pop)
        return True
    except KeyError:
        return False


def _plot_population(r, pop, out):
    """The run plots of one spiking population, with a note for each one its data lacks."""
    spikes = r.records_spikes(pop)
    a = _analysis_or_none(r, pop) or {}
    if spikes:
        out.save(raster(r, pop), f"{pop}_raster")
    else:
        _note(f"{pop}: no /spikes/{pop} (spikes not recorded): no raster")
    if "population_rate" in a or (spikes and r.spikes_per_step(pop) is not None):
        out.save(population_rate(r, pop), f"{pop}_rate")
    else:
        _note(f"{pop}: no spikes recorded: no population rate")
    if _has_traces(r, pop):
        out.save(traces(r, pop), f"{pop}_traces")
    else:
        _note(f"{pop}: no /report/{pop} (no traces recorded): no traces plot")
    for which, plot in (("rate_hist", rate_histogram), ("cv_hist", cv_histogram)):
        if which in a:
            out.save(plot(r, pop), f"{pop}_{which}")
        else:
            _note(f"{pop}: no /analysis/{pop}/{which}: no {which} plot")
    I = r.parameters(pop).get("input.I")
    if isinstance(I, np.ndarray) and I.ndim == 1 and I.size > 1:
        if "rate_hz" in a or spikes:
            if _theory_params(r.model(pop), r.parameters(pop)) is None:
                _note(f"{pop}_fI: no theory line for model '{r.model(pop)}' (simulated points only)")
            out.save(fI(r, pop), f"{pop}_fI")
        else:
            _note(f"{pop}: the current varies per neuron but no spikes are recorded: no f–I plot")


def _plot_run(r, out, pops):
    if r.status == "interrupted":
        _note(f"the run was interrupted: plotting its first {r.simulated_ms:g} ms")
    elif r.status == "running":
        _note("status = running: the run never finished, the file may be incomplete")
    for pop in pops:
        if r.model(pop) != "rate":
            _plot_population(r, pop, out)
        elif _has_traces(r, pop):  # rate units do not spike: their traces are all there is
            out.save(traces(r, pop), f"{pop}_traces")
        else:
            _note(f"{pop}: a rate population without recorded traces: nothing to plot")


def _plot_model(a, out):
    if a.phase_u.size:
        out.save(phase_line(a), "phase_line")
    else:
        _note("no /model/phase_line: no phase line plot")
    if a.fI["I"].size:
        out.save(model_fI(a), "model_fI")
    else:
        _note("no /model/fI: no f–I plot")


def _table_from_csv(path):
    """A `spikesim merge` CSV as sweep_table's dict (its columns without the _hz/_ms unit
    suffixes)."""
    try:
        with open(path, newline="") as fh:
            header, *rows = list(csv.reader(fh))
        cols = {}
        for j, name in enumerate(header):
            name = {"fano_factor": "fano"}.get(name, name.removesuffix("_hz").removesuffix("_ms"))
            values = [r[j] for r in rows]
            text = name in ("population", "file")
            cols[name] = np.array(values, dtype=object) if text else np.array(values, np.float64)
        if not all(k in cols for k in ("point", "seed", "population", "rate_mean", "cv_mean")):
            raise ValueError("missing columns")
    except (OSError, ValueError, IndexError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read '{path}': not a `spikesim merge` table ({e})") from None
    return cols


def _is_sweep_input(path):
    if path.endswith(".csv") or os.path.isdir(path):
        return True
    try:
        return Result(path).sweep is not None
    except (InputError, OSError, KeyError):
        return False


def _sweep_files(inputs):
    """The .h5 files named, and those in the directories named, each a sweep's."""
    paths = []
    for p in inputs:
        if os.path.isdir(p):
            found = sorted(os.path.join(p, n) for n in os.listdir(p) if n.endswith(".h5"))
            if not found:
                raise InputError(f"cannot read '{p}': no sweep files (*.h5) in the directory")
            paths.extend(found)
        else:
            paths.append(p)
    for p in paths:
        if not os.path.isfile(p) or Result(p).sweep is None:
            raise InputError(f"cannot read '{p}': no /sweep group (not a sweep's file)")
    return paths


def _plot_sweep_inputs(args, out_dir):
    csvs = [p for p in args.files if p.endswith(".csv")]
    if csvs and len(args.files) > 1:
        raise UsageError("a `spikesim merge` table (.csv) is plotted alone")
    if csvs and args.populations is not None:
        raise UsageError("--populations: a merge table has no spikes to plot (give the .h5 files)")
    if csvs and not os.path.isfile(csvs[0]):
        raise InputError(f"cannot read '{csvs[0]}': no such file")
    from . import sweep_table

    paths = [] if csvs else _sweep_files(args.files)
    table = _table_from_csv(csvs[0]) if csvs else sweep_table(paths)
    if args.x is not None and args.x not in _sweep_keys(table):
        raise UsageError(f"--x {args.x}: not a swept key (the sweep's keys: {', '.join(_sweep_keys(table))})")
    out = _Writer(out_dir, args.format)
    if not len(table["point"]):
        _note("no population of the sweep has /analysis: nothing to plot")
    else:
        for y in ("rate", "cv"):
            out.save(sweep(table, args.x, y), f"sweep_{y}")
    if args.populations is not None:
        wanted, found = set(args.populations), set()
        for path in paths:
            r = Result(path)
            pops = [p for p in r.populations if p in wanted]
            found.update(pops)
            _plot_run(r, out, pops)
        if wanted - found:
            raise UsageError(f"--populations: no population {', '.join(repr(p) for p in sorted(wanted - found))} "
                             "in the files (a sweep's populations are named like eif@3)")
    return out


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="spikesim-plot",
        description="Plot a spikesim HDF5 file (from `spikesim run` or `spikesim model --h5`), or "
        "a sweep (its files, their directory, or the table of `spikesim merge`), into image "
        "files, one per plot, and print their paths.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="spikesim output file (.h5); for a sweep also several files, a "
                        "directory of them, or a `spikesim merge` table (.csv)")
    parser.add_argument("--out", metavar="DIR", help="directory for the images (created if missing); "
                        "default: the first FILE without .h5 (or .csv), plus _plots")
    parser.add_argument("--populations", metavar="A,B",
                        help="comma-separated populations to plot (run files; in a sweep's file "
                        "the packed names such as eif@3); default: all, or none for a sweep")
    parser.add_argument("--x", metavar="KEY", help="sweeps: the swept key on the x axis (default: the first key)")
    parser.add_argument("--format", default="png", choices=("png", "svg", "pdf"),
                        help="image format (default png)")
    args = parser.parse_args(argv)
    if args.populations is not None:
        args.populations = [p.strip() for p in args.populations.split(",")]
        if not all(args.populations):
            parser.error(f"--populations = '{','.join(args.populations)}': an empty population name")
    return args, parser


def _plot_file(args, out_dir):
    """The plots of one run or model file."""
    from . import open as open_file

    if args.x is not None:
        raise UsageError("--x applies to sweeps only")
    path = args.files[0]
    if not os.path.exists(path):
        raise InputError(f"cannot read '{path}': no such file")
    if os.path.isdir(path):
        raise InputError(f"cannot read '{path}': it is a directory")
    data = open_file(path)
    if isinstance(data, theory.NeuronAnalysis):
        if args.populations is not None:
            raise UsageError("--populations: a `spikesim model` file has no populations")
        out = _Writer(out_dir, args.format)
        _plot_model(data, out)
        return out
    pops = data.populations
    if args.populations is not None:
        unknown = [p for p in args.populations if p not in pops]
        if unknown:
            raise UsageError(f"--populations: no population {', '.join(repr(p) for p in unknown)} "
                             f"in the file (it has: {', '.join(pops) or 'none'})")
        pops = [p for p in pops if p in args.populations]
    out = _Writer(out_dir, args.format)
    _plot_run(data, out, pops)
    return out


def main(argv=None):
    """The ``spikesim-plot`` command: plots of a run, model or sweep file into image files, their
    paths on stdout, notes on stderr. Exit codes: 0, 2 bad arguments, 3 input, 4 output, 1 else."""
    args, parser = _parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError as e:
        _note(f"needs the Python package matplotlib ({e}): pip install matplotlib")
        return EXIT_INTERNAL
    first = args.files[0].rstrip("/") or args.files[0]
    out_dir = args.out or (os.path.splitext(first)[0] + "_plots")
    try:
        sweeps = [p for p in args.files if _is_sweep_input(p)]
        if sweeps and len(sweeps) != len(args.files):
            raise UsageError("a sweep's files cannot be plotted together with other files")
        if not sweeps and len(args.files) > 1:
            raise UsageError("several files are plotted together only when they are one sweep's")
        out = _plot_sweep_inputs(args, out_dir) if sweeps else _plot_file(args, out_dir)
    except UsageError as e:
        parser.print_usage(sys.stderr)
        _note(str(e))
        return EXIT_USAGE
    except OutputError as e:
        _note(str(e))
        return EXIT_OUTPUT
    except (InputError, KeyError, OSError) as e:
        # A file that is not spikesim's, or lacks a dataset that its layout promises.
        _note(str(e) if isinstance(e, InputError) else f"cannot read '{args.files[0]}': {e}")
        return EXIT_INPUT
    except SpikesimError as e:
        _note(str(e))
        return EXIT_INTERNAL
    for path in out.written:
        print(path)
    if not out.written:
        _note("nothing to plot in this file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
