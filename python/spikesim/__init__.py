"""spikesim: spiking neuron populations and networks on GPUs and CPUs, from Python.

    import spikesim
    r = spikesim.run("examples/brunel.toml", set={"run.tstop": 500.0})
    t, ids = r.spikes("exc")
    spikesim.plot.raster(r, "exc")

The simulation runs in this process, in the same library as the ``spikesim`` program (the
extension module ``spikesim._spikesim``); docs/python.md shows every function.
"""

import atexit
import os
import shutil
import sys
import tempfile
import warnings

from . import _spikesim
from ._config import output_file_named, resolve
from ._progress import Progress
from .errors import (BackendError, ConfigError, InputError, InternalError, Interrupted,
                     NumericalError, OutOfMemoryError, OutputError, SpikesimError, _make)
from .result import Result, open  # noqa: A004

MemoryError = OutOfMemoryError  # noqa: A001: spikesim.MemoryError, a builtins.MemoryError
__version__ = _spikesim.__version__
git_sha = _spikesim.git_sha
cuda_built = _spikesim.cuda_built
_spikesim.set_error_factory(_make)

__all__ = ["run", "open", "sweep", "sweep_table", "neuron", "Result", "theory", "plot",
           "SpikesimError", "ConfigError", "InputError", "OutputError", "BackendError",
           "NumericalError", "MemoryError", "OutOfMemoryError", "Interrupted", "default_config"]

_temp_dirs = []


def _temporary(name):
    """A path in a directory of this process's, removed when Python exits."""
    if not _temp_dirs:
        d = tempfile.mkdtemp(prefix="spikesim-")
        _temp_dirs.append(d)
        atexit.register(shutil.rmtree, d, True)
    base = os.path.join(_temp_dirs[0], name)
    k = 0
    while os.path.exists(f"{base}-{k}.h5"):
        k += 1
    return f"{base}-{k}.h5"


def _reporter(quiet):
    return None if quiet else (lambda line: print(f"spikesim: {line}", file=sys.stderr))


def _check_backend(backend, threads, device):
    if backend not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"backend = {backend!r}: must be 'auto', 'cpu' or 'cuda'", "backend",
                          repr(backend), None, "must be 'auto', 'cpu' or 'cuda'")
    if threads is not None and (not isinstance(threads, int) or threads < 0):
        raise ConfigError(f"threads = {threads!r}: must be an integer >= 0 (0: from the work)",
                          "threads", repr(threads), None, "must be an integer >= 0")
    if not isinstance(device, int) or device < 0:
        raise ConfigError(f"device = {device!r}: must be a CUDA device ordinal >= 0", "device",
                          repr(device), None, "must be an integer >= 0")


def default_config():
    """The TOML text of the built-in experiment (what ``spikesim.run()`` runs without a config)."""
    return _spikesim.default_config_text()


def run(config=None, *, output=None, backend="auto", threads=None, set=None, progress=True,
        device=0, checkpoint_every_ms=0.0, checkpoint=None, resume=None, quiet=False):
    """Runs an experiment in this process and returns its :class:`Result`.

    config: a path to a TOML file, TOML text, a nested dict with the file's keys, or None (the
        built-in experiment; with ``resume``, the checkpoint's config).
    output: the HDF5 file to write (replaces output.file). None: the config's output.file when it
        names one, else a temporary file removed when Python exits (``Result.path``).
    backend: "auto" (CUDA when a GPU is usable, else CPU), "cpu" or "cuda"; threads: the most CPU
        threads (None: one per 2048 neurons, up to all cores); device: the CUDA device ordinal.
    set: {key.path: value} overrides, as ``spikesim run --set`` (a str value is TOML syntax or a
        bare string, any other value is converted).
    progress: a progress bar (tqdm in notebooks and terminals); quiet: no notices on stderr.
    checkpoint_every_ms, checkpoint, resume: as the CLI's --checkpoint-every, --checkpoint and
        --resume (docs/checkpoints.md).

    The GIL is released while it runs. Ctrl-C stops it after the current chunk as SIGINT stops
    ``spikesim run``: the file is kept, marked interrupted, a checkpoint is written, and
    :class:`Interrupted` (a KeyboardInterrupt) is raised with ``.result`` and ``.checkpoint``.
    Errors are :class:`ConfigError`, :class:`InputError`, :class:`OutputError`,
    :class:`BackendError`, :class:`NumericalError` or :class:`MemoryError`.
    """
    _check_backend(backend, threads, device)
    req = _spikesim.RunRequest()
    req.config, req.config_text, req.sets = resolve(config, set)
    if output is None and resume is None and output_file_named(config, set) is None:
        output = _temporary("run")
    if output is not None:
        req.output = os.fspath(output)
    if resume is not None:
        req.resume = os.fspath(resume)
    if checkpoint is not None:
        req.checkpoint = os.fspath(checkpoint)
    req.checkpoint_every_ms = float(checkpoint_every_ms)
    req.backend = backend
    bar = Progress(progress and not quiet)
    try:
        s = _spikesim.run(req, threads or 0, device, quiet, bar, _reporter(quiet))
    finally:
        bar.close()
    if not s["started"]:
        raise Interrupted("interrupted before the simulation started; no output")
    summary = {k: v for k, v in s.items() if k not in ("started", "interrupted")}
    if s["analysis_failure"]:
        warnings.warn(f"the spike-train statistics failed ({s['analysis_failure']}); the file has no "
                      f"/analysis: `spikesim analyze {s['output']}` computes it", RuntimeWarning, stacklevel=2)
    result = Result(s["output"], summary)
    if s["status"] == "interrupted":
        ck = s["checkpoint"] or None
        raise Interrupted(f"interrupted after {s['simulated_ms']} ms; {s['output']} is valid and "
                          f"marked interrupted" + (f"; resume with spikesim.run(resume={ck!r})" if ck else ""),
                          result, ck)
    return result


def _axis(key, values):
    if isinstance(values, str):
        return f"{key}={values}"
    if isinstance(values, dict):  # {"from": a, "to": b, "step": c}
        return f"{key}={values['from']}:{values['to']}:{values['step']}"
    return f"{key}=" + ",".join(repr(float(v)) if not isinstance(v, str) else v for v in values)


def sweep(config, sweep=None, *, output_dir=None, backend="auto", threads=None, set=None,
          pack=0, redo=False, progress=True, device=0, quiet=False, checkpoint_every_ms=0.0,
          task_id=None, num_tasks=None):
    """Runs a parameter sweep in this process (docs/sweeps.md) and returns its merged table.

    config: as for :func:`run`; its [sweep] table and ``sweep`` = {key: values} (a list of
        values, "v1,v2", "start:stop:step" or {"from", "to", "step"}) give the points.
    output_dir: where the packs' files go (None: the config file's name with _sweep, or a
        temporary directory for TOML text or a dict). task_id, num_tasks: this task's share of the
        points (None: SLURM's array variables where set, else all points). A sweep run again skips the points whose
        files are complete (``redo=True`` runs them all) and resumes an interrupted pack.
    Returns :func:`sweep_table` of the directory: a pandas DataFrame when pandas is installed,
    else a dict of NumPy arrays; one row per point and population, with the swept keys, seed,
    rate and CV statistics and the file. Ctrl-C raises :class:`Interrupted`.
    """
    _check_backend(backend, threads, device)
    req = _spikesim.SweepRequest()
    req.config, req.config_text, req.sets = resolve(config, set)
    if not req.config:
        raise ConfigError("config: a sweep needs a config (a path, TOML text or a dict)", "config")
    req.sweeps = [_axis(k, v) for k, v in (sweep or {}).items()]
    if output_dir is None and req.config_text:
        output_dir = _temporary("sweep")[:-3]
    if output_dir is not None:
        req.output_dir = os.fspath(output_dir)
    req.pack, req.redo = int(pack), bool(redo)
    req.checkpoint_every_ms = float(checkpoint_every_ms)
    # None: from SLURM's array variables where set, else the whole sweep (as the CLI).
    req.task_id = -1 if task_id is None else int(task_id)
    req.num_tasks = -1 if num_tasks is None else int(num_tasks)
    bar = Progress(False)

    def starting(name):
        nonlocal bar
        bar.close()
        bar = Progress(progress and not quiet, name)

    try:
        s = _spikesim.sweep(req, backend, threads or 0, device, quiet, lambda d, t: bar(d, t),
                            _reporter(quiet), starting)
    finally:
        bar.close()
    if s["interrupted"]:
        raise Interrupted(f"sweep interrupted: {s['interrupted_file'] or 'no pack had started'}; "
                          "run the same sweep again to continue it")
    return sweep_table(s["directory"])


def sweep_table(inputs):
    """The merged per-point statistics of a sweep's files (a directory, a file or a list of them),
    as ``spikesim merge`` writes them: a pandas DataFrame when pandas is installed, else a dict
    of NumPy arrays. Missing points are an :class:`InputError` naming them."""
    import numpy as np

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    m = _spikesim.merge([os.fspath(p) for p in inputs],
                        lambda w: print(f"spikesim: warning: {w}", file=sys.stderr))
    cols = {k: (np.asarray(v) if k not in ("population", "file") else np.asarray(v, dtype=object))
            for k, v in m["columns"].items()}
    try:
        import pandas as pd
    except ImportError:
        return cols
    df = pd.DataFrame(cols)
    df.attrs["keys"], df.attrs["points"] = list(m["keys"]), m["points"]
    return df


def neuron(model="eif", I=0.0, *, currents=None, sigma=0.0, hh_dt=0.01, hh_duration=1000.0,
           **params):
    """The single-neuron analysis of ``spikesim model`` (docs/model-command.md): the phase line at
    the current I (nA; HH: uA/cm^2) with its fixed points and their stability, the rheobase, the
    effective threshold, and the f-I curve over ``currents`` (an array; None: 0 to twice the
    rheobase), from theory for lif and eif (LIF with ``sigma`` > 0 mV adds the noisy rate and CV)
    and simulated for hh. ``params`` replace the model's defaults (key=value in the units of
    docs/models.md). Returns a :class:`NeuronAnalysis`."""
    from .theory import NeuronAnalysis

    cur = None if currents is None else [float(x) for x in currents]
    return NeuronAnalysis(_spikesim.analyse_neuron(model, params, float(I), cur, float(sigma),
                                                   float(hh_dt), float(hh_duration)))


from . import theory  # noqa: E402
from . import plot  # noqa: E402
