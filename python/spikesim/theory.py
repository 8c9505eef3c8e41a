"""The theory of spikesim's models, from the library (the numbers ``spikesim theory`` and
``spikesim model`` print): Siegert's rate and CV of the noisy LIF, Brunel's mean field, the
deterministic LIF and EIF f-I curves and the EIF phase line. Every function takes NumPy arrays
where a scalar is shown and broadcasts them. Units: ms, mV, nA, MOhm, Hz."""

import numpy as np

from . import _spikesim

__all__ = ["siegert", "discrete_time_threshold", "brunel", "lif_rate", "lif_rheobase",
           "eif_rate", "eif_rheobase", "eif_phase", "eif_fixed_points", "defaults",
           "NeuronAnalysis"]


def _vectorised(f, *args):
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])
    out = [f(*[float(a[i]) for a in arrays]) for i in np.ndindex(arrays[0].shape)]
    return out, arrays[0].shape


def defaults(model):
    """{key: (value, unit)}: the model's default parameters (docs/models.md)."""
    return {k: (v, u) for k, u, v in _spikesim.default_parameters(model)}


def _params(model, given):
    d = {k: v for k, (v, _u) in defaults(model).items()}
    unknown = set(given) - set(d)
    if unknown:
        from .errors import ConfigError

        k = sorted(unknown)[0]
        raise ConfigError(f"{k}: not a parameter of the {model} model ({', '.join(d)})", k, None, None,
                          f"not a parameter of the {model} model")
    d.update({k: float(v) for k, v in given.items()})
    return d


def siegert(mu, sigma, tau_m=20.0, theta=20.0, v_reset=10.0, t_ref=2.0, dt=0.0):
    """(rate_hz, cv) of the LIF with white noise in the diffusion approximation (Brunel 2000):
    mean input mu and noise sigma (mV, relative to rest), threshold theta and reset v_reset (mV,
    relative to rest), tau_m and t_ref (ms). dt > 0: as a simulation at that step measures it (the
    threshold raised to the discrete-time threshold)."""
    out, shape = _vectorised(lambda *a: _spikesim.siegert(*a)[:2], mu, sigma, tau_m, theta, v_reset, t_ref, dt)
    rate = np.array([o[0] for o in out]).reshape(shape)
    cv = np.array([o[1] for o in out]).reshape(shape)
    return (rate[()], cv[()])


def discrete_time_threshold(theta, sigma, tau_m, dt):
    """The threshold (mV) that a simulation at step dt effectively has: theta + 0.5826 sigma
    sqrt(dt / tau_m)."""
    out, shape = _vectorised(_spikesim.discrete_time_threshold, theta, sigma, tau_m, dt)
    return np.array(out).reshape(shape)[()]


def brunel(g=5.0, eta=2.0, J=0.1, C_E=1000.0, gamma=0.25, tau_m=20.0, theta=20.0, v_reset=10.0,
           t_ref=2.0, dt=0.0):
    """Brunel (2000) model A's stationary state: {rate_hz, mu, sigma, cv, nu_thr_hz, nu_ext_hz}
    (mV, Hz), the self-consistent rate by bisection. dt > 0: at the discrete-time threshold."""
    return _spikesim.brunel_rate([g, eta, J, C_E, gamma, tau_m, theta, v_reset, t_ref], dt)


def lif_rate(I, **params):
    """Rate (Hz) of the deterministic LIF at constant current I (nA); params as docs/models.md
    (tau_m, E_L, R_m, V_th, V_reset, t_ref), the defaults otherwise."""
    p = _params("lif", params)
    out, shape = _vectorised(lambda i: _spikesim.lif_rate_hz(i, p["tau_m"], p["E_L"], p["R_m"], p["V_th"],
                                                             p["V_reset"], p["t_ref"]), I)
    return np.array(out).reshape(shape)[()]


def lif_rheobase(**params):
    """The smallest current (nA) that drives the LIF to threshold: (V_th - E_L) / R_m."""
    p = _params("lif", params)
    return _spikesim.lif_rheobase_nA(p["E_L"], p["R_m"], p["V_th"])


def eif_rate(I, **params):
    """Rate (Hz) of the deterministic EIF at constant current I (nA), by quadrature of the phase
    line from V_reset to V_peak."""
    p = _params("eif", params)
    out, shape = _vectorised(lambda i: _spikesim.eif_rate_hz(p, i), I)
    return np.array(out).reshape(shape)[()]


def eif_rheobase(**params):
    """The EIF's saddle-node current (nA): (V_T - E_L - delta_T) / R_m."""
    return _spikesim.eif_rheobase_nA(_params("eif", params))


def eif_phase(u, I, **params):
    """The EIF phase line f(u) = -(u - E_L) + delta_T exp((u - V_T) / delta_T) + R_m I (mV), so
    that tau_m du/dt = f(u)."""
    p = _params("eif", params)
    out, shape = _vectorised(lambda uu, i: _spikesim.eif_f(p, i, uu), u, I)
    return np.array(out).reshape(shape)[()]


def eif_fixed_points(I, **params):
    """The EIF's fixed points at current I (nA) in ascending order: [(u_mV, stable)], two below
    the rheobase, none above it."""
    return [(u, bool(s)) for u, s in _spikesim.eif_fixed_points(_params("eif", params), float(I))]


class NeuronAnalysis:
    """What ``spikesim.neuron`` found (the report of ``spikesim model``): ``model``, ``params``
    and ``units``, ``I``, ``fixed_points`` [(u_mV, eigenvalue_per_ms, stable)], ``rheobase``,
    ``threshold`` (the effective threshold at I = 0, mV), ``fI`` {I, rate, u_stable, u_unstable,
    rate_noise, cv_noise, spikes} as arrays, ``phase_u`` and ``phase_f`` (the phase line at I),
    ``str()``: the report as ``spikesim model`` prints it,
    ``saddle`` {distance, gap, law} (EIF), ``noisy_at_I`` (rate, CV with sigma > 0, LIF)."""

    def __init__(self, d):
        self._d = d
        self.model, self.title, self.equation = d["model"], d["title"], d["equation"]
        self.params, self.units, self.I = dict(d["params"]), dict(d["units"]), d["I"]
        self.I_units, self.phase_units = d["I_units"], d["phase_units"]
        self.fixed_points = [tuple(f) for f in d["fixed_points"]]
        self.rheobase, self.rheobase_numeric = d["rheobase"], d["rheobase_numeric"]
        self.threshold = d["threshold0"]
        self.notes = {k: d[k] for k in ("rheobase_note", "threshold_note", "fI_method") if d[k]}
        self.sigma, self.noisy_at_I = d["sigma"], tuple(d["noisy_at_I"])
        self.fI = {k: np.asarray(v) for k, v in d["fI"].items()}
        self.saddle = {k: np.asarray(v) for k, v in d["saddle"].items()}
        self.phase_u, self.phase_f = np.asarray(d["phase_u"]), np.asarray(d["phase_f"])

    def __str__(self):
        """The report as ``spikesim model`` prints it."""
        return self._d["text"]

    def __repr__(self):
        fps = ", ".join(f"{u:.4g} mV ({'stable' if s else 'unstable'})" for u, _e, s in self.fixed_points)
        return (f"<NeuronAnalysis {self.model} at I = {self.I:g} {self.I_units}: fixed points "
                f"[{fps or 'none'}], rheobase {self.rheobase:.6g} {self.I_units}, threshold "
                f"{self.threshold:.6g} mV>")
