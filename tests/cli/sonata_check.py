#!/usr/bin/env python3
"""libsonata reads spikesim's files as written: SpikeReader and ElementReportReader return exactly
what h5py reads from /spikes and /report, and the SONATA attributes they rely on (the `sorting`
enumeration, `units` on mapping/time and on data) are there.

    sonata_check.py SPIKESIM WORKDIR VENV

libsonata comes from PyPI into the virtual environment VENV (tools/bootstrap.sh installs it); when
it is not importable from this interpreter, the script runs itself again with VENV's python
(test_venv.py). Exit 77 (skipped) only when libsonata cannot be imported from either.
"""
import os
import subprocess
import sys

from test_venv import run_with

SKIP = 77


CONFIG = """
[run]
dt = 0.1
tstop = 100.1            # not a multiple of trace_every * dt: the last frame is a partial one
[output]
compression = "{compression}"
[population.lif]
size = 40
model = "lif"
input = {{ I = {{ from = 10.5, to = 14.0 }}, sigma = 1.0 }}
record = {{ traces = [7, 0, 31, 3], trace_every = 3 }}
[population.eif]
size = 25
model = "eif"
input = {{ I = {{ from = 7.0, to = 11.0 }} }}
record = {{ traces = [24] }}
"""


def run(spikesim, workdir, compression):
    cfg = os.path.join(workdir, f"sonata_{compression}.toml")
    out = os.path.join(workdir, f"sonata_{compression}.h5")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(compression=compression))
    subprocess.run([spikesim, "run", cfg, "-o", out, "-q"], check=True, stdout=subprocess.DEVNULL)
    return out


def check_file(path):
    """Every population's spikes and report, through libsonata and through h5py; raises on any
    difference."""
    import h5py
    import libsonata
    import numpy as np

    with h5py.File(path, "r") as f:
        assert list(f.attrs["version"]) == [0, 2], f.attrs["version"]
        spikes = libsonata.SpikeReader(path)
        assert sorted(spikes.get_population_names()) == sorted(f["spikes"].keys())
        for pop in f["spikes"]:
            g = f["spikes"][pop]
            t, ids = g["timestamps"][:], g["node_ids"][:]
            assert len(t) > 10, (pop, len(t))
            sorting = g.attrs["sorting"]
            assert h5py.check_enum_dtype(g.attrs.get_id("sorting").dtype) == {
                "none": 0, "by_id": 1, "by_time": 2}, pop
            assert int(sorting) == 2, sorting
            p = spikes[pop]
            assert p.sorting == "by_time", p.sorting
            assert p.time_units == "ms", p.time_units
            d = p.get_dict()
            assert np.array_equal(d["timestamps"], t), pop
            assert np.array_equal(d["node_ids"], ids), pop
            assert p.times == (t[0], t[-1]), (p.times, t[0], t[-1])
            assert [(int(i), float(x)) for i, x in p.get()] == list(zip(ids.tolist(), t.tolist()))
        reports = libsonata.ElementReportReader(path)
        assert sorted(reports.get_population_names()) == sorted(f["report"].keys())
        for pop in f["report"]:
            g = f["report"][pop]
            data = g["data"][:]
            nodes = g["mapping/node_ids"][:]
            start, stop, step = g["mapping/time"][:]
            r = reports[pop]
            units = g["data"].attrs["units"]
            units = units.decode() if isinstance(units, bytes) else units  # fixed-length string
            assert r.time_units == "ms" and r.data_units == units, (pop, r.data_units, units)
            assert r.times == (start, stop, step), (r.times, (start, stop, step))
            frame = r.get()
            assert np.asarray(frame.data).shape == data.shape, (np.asarray(frame.data).shape,
                                                                 data.shape)
            # libsonata orders the columns by node id; h5py has them in mapping order.
            columns = [int(n) for n, _ in frame.ids]
            order = [list(nodes).index(n) for n in columns]
            assert np.array_equal(np.asarray(frame.data), data[:, order]), pop
            assert np.allclose(frame.times, start + step * np.arange(data.shape[0])), pop
    return True


def main():
    spikesim, workdir, venv = sys.argv[1:4]
    run_with(["libsonata", "h5py", "numpy"], venv)
    try:
        import libsonata  # noqa: F401
    except ImportError:
        print(f"skipped: libsonata is not installed (tools/bootstrap.sh installs it into {venv})")
        sys.exit(SKIP)
    os.makedirs(workdir, exist_ok=True)
    plain = run(spikesim, workdir, "none")
    check_file(plain)
    print(f"libsonata reads {plain} (output.compression = \"none\") exactly as h5py does")
    # The default, deflate: h5py reads it; libsonata does when its HDF5 has zlib (not the wheel).
    packed = run(spikesim, workdir, "deflate")
    try:
        check_file(packed)
        print(f"this libsonata also reads {packed} (output.compression = \"deflate\")")
    except (RuntimeError, OSError) as e:
        print(f"this libsonata cannot read deflate-compressed data ({type(e).__name__}: {e});"
              " files for it need output.compression = \"none\"")


if __name__ == "__main__":
    main()
