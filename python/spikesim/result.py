"""The output of a run or of a sweep's pack as NumPy arrays: :class:`Result` reads the file
(docs/output.md) that ``spikesim.run``, ``spikesim.sweep`` or the ``spikesim`` program wrote.

Arrays are read once, by HDF5 straight into NumPy, kept by the Result and handed out read-only
(every call returns the same arrays, without a copy). The file is opened for each read and closed
again, so that ``spikesim analyze`` can rewrite it meanwhile.
"""

import os

import h5py
import numpy as np

from .errors import InputError

FILE_MAGIC = 0x0A7A


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _plain(v):
    """An HDF5 attribute as a Python scalar, str or NumPy array."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "OS":
            return [_text(x) for x in v.tolist()]
        return v
    if isinstance(v, np.generic):
        return v.item()
    return v


def _frozen(a):
    a = np.asarray(a)
    a.setflags(write=False)
    return a


class Result:
    """A spikesim output file: ``Result.populations``, ``spikes(pop)``, ``traces(pop)``,
    ``population_rate(pop)``, ``analysis(pop)``, ``parameters(pop)``, ``config``, ``summary``,
    ``status``, ``sweep`` (the points of a sweep's pack) and ``to_neo()``."""

    def __init__(self, path, summary=None):
        self.path = os.fspath(path)
        self._cache = {}
        self._run_summary = summary
        try:
            with self._file() as f:
                if _plain(f.attrs.get("magic", 0)) != FILE_MAGIC or "status" not in f.attrs:
                    raise InputError(f"'{self.path}' is not a spikesim run file (no magic or status attribute)")
                self._attrs = {k: _plain(v) for k, v in f.attrs.items()}
                names = []
                for g in ("parameters", "spikes", "report", "activity"):
                    for n in f.get(g, {}):
                        if n not in names:
                            names.append(n)
                self.populations = names
                self._has_sweep = "sweep" in f
        except OSError as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"cannot read '{self.path}': {e}") from None

    def _file(self):
        # A file left `running` by a killed writer is SWMR-readable.
        try:
            return h5py.File(self.path, "r")
        except OSError:
            return h5py.File(self.path, "r", swmr=True)

    def __repr__(self):
        return f"<spikesim.Result {self.path!r}: {self.status}, populations {self.populations}>"

    def _check(self, pop):
        if pop not in self.populations:
            raise KeyError(f"no population {pop!r} in {self.path} (it has {', '.join(self.populations)})")

    def _cached(self, key, read):
        if key not in self._cache:
            with self._file() as f:
                self._cache[key] = read(f)
        return self._cache[key]

    # ---------------------------------------------------------------- the run
    @property
    def attrs(self):
        """The file's root attributes (docs/output.md), as Python values."""
        return dict(self._attrs)

    @property
    def status(self):
        """``complete``, ``interrupted``, ``failed`` or ``running`` (the writer died)."""
        return self._attrs["status"]

    @property
    def config(self):
        """The resolved config (TOML text, overrides included)."""
        return self._attrs.get("config", "")

    @property
    def config_dict(self):
        """The resolved config as a nested dict (needs Python >= 3.11's tomllib)."""
        import tomllib

        return tomllib.loads(self.config)

    @property
    def dt(self):
        return self._attrs["dt"]

    @property
    def simulated_ms(self):
        return self._attrs.get("simulated_ms", 0.0)

    @property
    def summary(self):
        """What the run reports: status, steps, simulated_ms, wall_s, backend, device and per
        population its neurons, spikes and mean rate (Hz). After ``spikesim.run`` also the
        throughput, real-time factor, synapses and synaptic events."""
        if self._run_summary is not None:
            return dict(self._run_summary)
        a = self._attrs
        pops = []
        for p in self.populations:
            n = self.size(p)
            spikes = self._cached(("count", p), lambda f: int(f[f"spikes/{p}/node_ids"].shape[0]) if f"spikes/{p}" in f else 0)
            sim_s = self.simulated_ms / 1000.0
            pops.append({"name": p, "neurons": n, "spikes": spikes,
                         "mean_rate_hz": spikes / (n * sim_s) if n and sim_s > 0 else 0.0})
        return {"status": a["status"], "steps": a.get("steps", 0), "simulated_ms": self.simulated_ms,
                "wall_s": a.get("wall_s", 0.0), "backend": a.get("backend", ""),
                "device": a.get("device", ""), "populations": pops}

    def size(self, pop):
        """The population's number of neurons."""
        self._check(pop)

        def read(f):
            if f"parameters/{pop}" in f:
                return int(_plain(f[f"parameters/{pop}"].attrs["size"]))
            if f"analysis/{pop}" in f:
                return int(_plain(f[f"analysis/{pop}"].attrs["n_neurons"]))
            return 0

        return self._cached(("size", pop), read)

    def model(self, pop):
        """The population's model name (lif, eif, hh, rate, source...)."""
        self._check(pop)
        return self._cached(("model", pop), lambda f: _text(_plain(f[f"parameters/{pop}"].attrs.get("model", ""))) if f"parameters/{pop}" in f else "")

    def parameters(self, pop):
        """The model parameters of a population: {key: value}, with ``units`` {key: unit};
        ``input`` holds its input (I, sigma, tau_noise)."""
        self._check(pop)

        def read(f):
            out, units = {}, {}
            g = f.get(f"parameters/{pop}")
            if g is None:
                return {"units": {}}

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    v = obj[()]
                    out[name.replace("/", ".")] = _frozen(v) if np.ndim(v) else _plain(v)
                    units[name.replace("/", ".")] = _text(obj.attrs.get("units", ""))

            g.visititems(visit)
            out["units"] = units
            return out

        return dict(self._cached(("params", pop), read))

    # ---------------------------------------------------------------- data
    def records_spikes(self, pop):
        """Whether the file holds the population's spikes (``spikes`` is then its record, which
        may be empty; otherwise the population records none)."""
        self._check(pop)
        return self._cached(("has_spikes", pop), lambda f: f"spikes/{pop}" in f)

    def spikes(self, pop):
        """(times_ms float64, node_ids uint64) of every recorded spike, sorted by time (ties by
        node id). Empty arrays when the population records none."""
        self._check(pop)

        def read(f):
            g = f.get(f"spikes/{pop}")
            if g is None:
                return _frozen(np.zeros(0, np.float64)), _frozen(np.zeros(0, np.uint64))
            return _frozen(g["timestamps"][:]), _frozen(g["node_ids"][:])

        return self._cached(("spikes", pop), read)

    def traces(self, pop):
        """(times_ms [T], node_ids [n], values [T, n] float32 in mV) of the recorded traces; raises
        KeyError when the population records none."""
        self._check(pop)

        def read(f):
            g = f.get(f"report/{pop}")
            if g is None:
                raise KeyError(f"population {pop!r} records no traces in {self.path}")
            data = g["data"][:]
            start, _stop, step = g["mapping/time"][:]
            t = start + step * np.arange(data.shape[0])
            return _frozen(t), _frozen(g["mapping/node_ids"][:]), _frozen(data)

        return self._cached(("traces", pop), read)

    def spikes_per_step(self, pop):
        """The population's spikes in each step (uint32 [steps]), where recorded."""
        self._check(pop)
        return self._cached(("activity", pop), lambda f: _frozen(f[f"activity/{pop}/spikes_per_step"][:]) if f"activity/{pop}" in f else None)

    def population_rate(self, pop):
        """(bin_start_ms [bins], rate_hz [bins]): the population rate of /analysis (bins of
        analysis.rate_bin), else from the per-step spike counts in bins of 1 ms, else from the
        spikes."""
        self._check(pop)

        def read(f):
            a = f.get(f"analysis/{pop}")
            if a is not None and "population_rate" in a:
                d = a["population_rate"]
                r = d[:]
                t = float(_plain(d.attrs["t_start"])) + float(_plain(d.attrs["bin"])) * np.arange(r.size)
                return _frozen(t), _frozen(r)
            return None

        got = self._cached(("rate", pop), read)
        if got is not None:
            return got
        n = max(1, self.size(pop))
        per_step = max(1, int(round(1.0 / self.dt)))
        steps = int(self._attrs.get("steps", 0))
        counts = self.spikes_per_step(pop)
        if counts is None:
            t, _ = self.spikes(pop)
            counts = np.bincount(np.floor(t / self.dt - 1e-9).astype(np.int64).clip(0), minlength=steps)
        bins = max(1, len(counts) // per_step)
        c = np.asarray(counts[: bins * per_step], np.float64).reshape(bins, per_step).sum(axis=1)
        width_s = per_step * self.dt / 1000.0
        return _frozen(np.arange(bins) * per_step * self.dt), _frozen(c / (n * width_s))

    def analysis(self, pop):
        """The spike-train statistics of /analysis/<pop> (docs/output.md): per-neuron arrays
        (rate_hz, cv_isi, lv, isi_mean, isi_sd, spike_count, population_rate), the histograms
        as ``rate_hist`` / ``cv_hist`` dicts of counts and bin_edges, and the scalar summaries
        (rate_mean, cv_median, fano_factor, chi, ...). KeyError when the file has none."""
        self._check(pop)

        def read(f):
            a = f.get(f"analysis/{pop}")
            if a is None:
                raise KeyError(f"no /analysis/{pop} in {self.path}: spikesim analyze computes it")
            out = {k: _plain(v) for k, v in a.attrs.items()}
            for k, v in a.items():
                if isinstance(v, h5py.Dataset):
                    out[k] = _frozen(v[:])
                else:
                    out[k] = {n: _frozen(d[:]) for n, d in v.items()}
                    out[k].update({n: _plain(x) for n, x in v.attrs.items()})
            return out

        return dict(self._cached(("analysis", pop), read))

    # ---------------------------------------------------------------- sweeps
    @property
    def sweep(self):
        """A sweep's pack: {keys, points, point [n], values {key: [n]}, seed [n], population [P],
        population_point [P], mode, seeds, id}; None for a run file."""
        if not self._has_sweep:
            return None

        def read(f):
            s = f["sweep"]
            out = {k: _plain(v) for k, v in s.attrs.items()}
            out["point"] = _frozen(s["point"][:])
            out["seed"] = _frozen(s["seed"][:])
            out["values"] = {k: _frozen(v[:]) for k, v in s["values"].items()}
            out["population"] = [_text(x) for x in s["population"][:]]
            out["population_point"] = _frozen(s["population_point"][:])
            return out

        return self._cached("sweep", read)

    # ---------------------------------------------------------------- Neo
    def to_neo(self):
        """A ``neo.Block`` with one Segment: a SpikeTrain per neuron of every population that
        records spikes (annotated population and node_id) and an AnalogSignal per population that
        records traces, all with units, so that Elephant works on it directly. Needs ``neo``."""
        try:
            import neo
            import quantities as pq
        except ImportError as e:
            raise ImportError("Result.to_neo() needs the packages neo and quantities: pip install neo") from e
        block = neo.Block(name=os.path.basename(self.path), file_origin=self.path)
        seg = neo.Segment(name="run")
        block.segments.append(seg)
        t_stop = self.simulated_ms * pq.ms
        for pop in self.populations:
            if self.records_spikes(pop):
                t, ids = self.spikes(pop)
                order = np.argsort(ids, kind="stable")
                bounds = np.searchsorted(ids[order], np.arange(self.size(pop) + 1))
                for n in range(self.size(pop)):
                    times = t[order[bounds[n]:bounds[n + 1]]]
                    seg.spiketrains.append(neo.SpikeTrain(times, units="ms", t_stop=t_stop,
                                                          name=f"{pop}[{n}]", population=pop, node_id=n))
            try:
                times, nodes, v = self.traces(pop)
            except KeyError:
                continue
            step = times[1] - times[0] if times.size > 1 else self.dt
            seg.analogsignals.append(neo.AnalogSignal(np.asarray(v), units="mV", sampling_period=step * pq.ms,
                                                      t_start=times[0] * pq.ms if times.size else 0 * pq.ms,
                                                      name=pop, population=pop, node_ids=np.asarray(nodes)))
        return block


def open(path):  # noqa: A001 (spikesim.open, as the issue names it)
    """The :class:`Result` of a file that ``spikesim run`` or ``spikesim sweep`` wrote; for a
    file of ``spikesim model --h5``, its :class:`~spikesim.theory.NeuronAnalysis`."""
    if not os.path.exists(os.fspath(path)):
        raise InputError(f"'{os.fspath(path)}' does not exist")
    from .model_file import is_model_file, read_model  # it imports this module

    if is_model_file(os.fspath(path)):
        return read_model(os.fspath(path))
    return Result(path)
