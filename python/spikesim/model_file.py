"""The reader of ``spikesim model --h5`` files (src/io/model_file.cpp): :func:`read_model` gives
the :class:`~spikesim.theory.NeuronAnalysis` that ``spikesim.neuron`` would have returned, as far
as the file holds it (it keeps no title, rheobase note, saddle table, noisy rate at I or printed
report)."""

import h5py
import numpy as np

from .errors import InputError
from .result import FILE_MAGIC, _plain, _text
from .theory import NeuronAnalysis, defaults

__all__ = ["is_model_file", "read_model"]

_FI_COLUMNS = ("I", "rate", "u_stable", "u_unstable", "rate_noise", "cv_noise")


def is_model_file(path):
    """Whether path is an HDF5 file of spikesim's with kind = "model"; False for anything else,
    unreadable files included."""
    try:
        with h5py.File(path, "r") as f:
            return (_plain(f.attrs.get("magic", 0)) == FILE_MAGIC
                    and _text(_plain(f.attrs.get("kind", ""))) == "model")
    except OSError:
        return False


def _scalar(group, name, default=float("nan")):
    return float(group[name][()]) if name in group else default


def _units(ds, default=""):
    return _text(_plain(ds.attrs.get("units", default)))


def _params(m, model):
    """{key: value}, {key: unit} of /model/parameters, in the order of the model's table."""
    g = m["parameters"]
    try:
        order = list(defaults(model))
    except ValueError:  # a model this build does not know: the file's order
        order = []
    keys = [k for k in order if k in g] + sorted(k for k in g if k not in order)
    return {k: float(g[k][()]) for k in keys}, {k: _units(g[k]) for k in keys}


def _fI(g):
    """The f-I table as spikesim.neuron gives it: columns the file lacks are NaN (spikes 0)."""
    n = g["I"].shape[0]
    out = {k: (g[k][()].astype(np.float64) if k in g else np.full(n, np.nan)) for k in _FI_COLUMNS}
    out["spikes"] = g["spikes"][()].astype(np.uint64) if "spikes" in g else np.zeros(n, np.uint64)
    return out


def _analysis(f):
    m = f["model"]
    model = _text(_plain(m.attrs.get("model", "")))
    fp, fi, pl = m["fixed_points"], m["fI"], m["phase_line"]
    params, units = _params(m, model)
    stable = fp["stable"][()].astype(bool)
    fixed = [(float(u), float(e), bool(s)) for u, e, s in zip(fp["u"][()], fp["eigenvalue"][()], stable)]
    return {
        "model": model, "title": "", "equation": _text(_plain(m.attrs.get("equation", ""))),
        "phase_units": _units(pl["f"], "mV"), "I_units": _units(pl["I"], "nA"),
        "params": params, "units": units, "I": _scalar(pl, "I"), "fixed_points": fixed,
        "rheobase": _scalar(fp, "rheobase"), "rheobase_numeric": _scalar(fp, "rheobase_numeric"),
        "threshold0": _scalar(fp, "effective_threshold"), "rheobase_note": "",
        "threshold_note": _text(_plain(fp.attrs.get("effective_threshold_note", ""))),
        "fI_method": _text(_plain(fi.attrs.get("method", ""))), "sigma": _scalar(fi, "sigma", 0.0),
        "noisy_at_I": (float("nan"), float("nan")), "fI": _fI(fi),
        "saddle": {k: np.zeros(0) for k in ("distance", "gap", "law")},
        "phase_u": pl["u"][()], "phase_f": pl["f"][()],
    }


def read_model(path):
    """The :class:`~spikesim.theory.NeuronAnalysis` of a ``spikesim model --h5`` file (fixed
    points in mV with eigenvalues in 1/ms, rheobase in nA or uA/cm^2, f-I table in Hz, phase
    line). InputError when the file is not one or lacks a group of the layout."""
    if not is_model_file(path):
        raise InputError(f"'{path}' is not a spikesim model file (no magic attribute or kind = model)")
    try:
        with h5py.File(path, "r") as f:
            d = _analysis(f)
    except (KeyError, OSError) as e:
        raise InputError(f"cannot read '{path}': {e}") from None
    a = NeuronAnalysis(d)
    d["text"] = f"{a!r}, read from {path} (the file keeps no printed report)"  # str(a)
    return a
