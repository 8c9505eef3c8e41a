"""spikesim.run and spikesim.open on real runs: configs as dict, TOML text and path, overrides,
the arrays against what h5py reads, the summary, the output file, errors with their data,
Ctrl-C, and the GIL released while it runs."""

import os
import signal
import subprocess
import threading
import time

import h5py
import numpy as np
import pytest

import spikesim
from spikesim._config import dict_to_toml


def test_dict_toml_and_path_give_the_same_run(small, tmp_path):
    a = spikesim.run(small, output=tmp_path / "a.h5", progress=False)
    b = spikesim.run(dict_to_toml(small), output=tmp_path / "b.h5", progress=False)
    cfg = tmp_path / "small.toml"
    cfg.write_text(dict_to_toml(small))
    c = spikesim.run(str(cfg), output=tmp_path / "c.h5", progress=False)
    for r in (a, b, c):
        assert r.status == "complete"
        assert r.populations == ["eif"]
    ta, ia = a.spikes("eif")
    assert ta.size > 100  # the ramp from 5 to 10 nA crosses the rheobase 7.25 nA
    for r in (b, c):
        t, i = r.spikes("eif")
        np.testing.assert_array_equal(t, ta)
        np.testing.assert_array_equal(i, ia)
    assert cfg.read_text() == dict_to_toml(small)  # the user's file is never written


def test_arrays_are_what_h5py_reads(small, tmp_path):
    out = tmp_path / "run.h5"
    r = spikesim.run(small, output=out, progress=False)
    t, ids = r.spikes("eif")
    assert t.dtype == np.float64 and ids.dtype == np.uint64
    assert not t.flags.writeable and r.spikes("eif")[0] is t  # kept, not copied again
    tt, nodes, v = r.traces("eif")
    with h5py.File(out) as f:
        np.testing.assert_array_equal(t, f["spikes/eif/timestamps"][:])
        np.testing.assert_array_equal(ids, f["spikes/eif/node_ids"][:])
        np.testing.assert_array_equal(v, f["report/eif/data"][:])
        np.testing.assert_array_equal(nodes, [0, 100, 199])
        start, stop, step = f["report/eif/mapping/time"][:]
        assert v.dtype == np.float32 and v.shape == (len(np.arange(start, stop, step)), 3)
        np.testing.assert_allclose(tt, start + step * np.arange(v.shape[0]))
        a = r.analysis("eif")
        np.testing.assert_array_equal(a["cv_isi"], f["analysis/eif/cv_isi"][:])
        assert a["rate_mean"] == f["analysis/eif"].attrs["rate_mean"]
        np.testing.assert_array_equal(a["rate_hist"]["counts"], f["analysis/eif/rate_hist/counts"][:])
    assert len(ids) == r.summary["populations"][0]["spikes"]
    bins, rate = r.population_rate("eif")
    assert rate.shape == bins.shape and rate.size > 0
    # The mean of the binned population rate is the number of spikes per neuron and second.
    window = (r.simulated_ms - a["t_start"]) / 1000.0
    assert rate.mean() == pytest.approx(a["spikes"] / (200 * window), rel=1e-9)


def test_set_overrides_and_the_summary(small, tmp_path):
    r = spikesim.run(small, output=tmp_path / "s.h5", progress=False,
                     set={"run.tstop": 100.0, "population.eif.size": 50,
                          "population.eif.record.traces": [0, 1]})
    s = r.summary
    assert r.simulated_ms == pytest.approx(100.0) and s["steps"] == 1000
    assert s["populations"][0]["neurons"] == 50 and r.size("eif") == 50
    assert s["backend"] == "cpu" and s["neuron_steps_per_s"] > 0
    assert "size = 50" in r.config.replace("size=50", "size = 50")
    reopened = spikesim.open(tmp_path / "s.h5")
    assert reopened.summary["populations"][0]["spikes"] == s["populations"][0]["spikes"]
    assert reopened.summary["steps"] == s["steps"]


def test_output_none_writes_a_temporary_file(small):
    r = spikesim.run(small, progress=False)
    assert os.path.exists(r.path) and "spikesim-" in r.path
    small["output"] = {"file": "named.h5"}
    # The config names a file: that one (relative to the working directory), not a temporary one.
    cwd = os.getcwd()
    try:
        os.chdir(os.path.dirname(r.path))
        named = spikesim.run(small, progress=False, set={"run.tstop": 10.0})
        assert os.path.basename(named.path) == "named.h5" and os.path.exists("named.h5")
    finally:
        os.chdir(cwd)


def test_config_error_carries_key_value_unit_and_reason(small):
    with pytest.raises(spikesim.ConfigError) as e:
        spikesim.run(small, progress=False, set={"population.eif.params.tau_m": -1.0})
    assert e.value.key == "population.eif.params.tau_m"
    assert e.value.value == "-1" and e.value.unit == "ms"
    assert e.value.reason and "tau_m" in str(e.value)
    assert isinstance(e.value, ValueError)
    with pytest.raises(spikesim.ConfigError) as e:
        spikesim.run(small, progress=False, set={"run.dtt": 0.1})
    assert e.value.key == "run.dtt" and "unknown key" in e.value.reason
    with pytest.raises(spikesim.ConfigError) as e:
        spikesim.run(small, progress=False, set={"run.dt": "fast"})
    assert e.value.key == "run.dt" and e.value.value == '"fast"'
    with pytest.raises(spikesim.ConfigError, match="backend"):
        spikesim.run(small, backend="gpu")


def test_file_and_backend_errors(small, tmp_path):
    with pytest.raises(spikesim.InputError, match="nothere.toml"):
        spikesim.run(str(tmp_path / "nothere.toml"))
    with pytest.raises(spikesim.OutputError):
        spikesim.run(small, output=tmp_path / "no" / "such" / "dir.h5", progress=False)
    assert not (tmp_path / "no").exists()
    with pytest.raises(spikesim.InputError):
        spikesim.open(tmp_path / "missing.h5")
    (tmp_path / "not.h5").write_bytes(b"not an HDF5 file")
    with pytest.raises(spikesim.InputError):
        spikesim.open(tmp_path / "not.h5")
    if not spikesim.cuda_built:
        with pytest.raises(spikesim.BackendError, match="CUDA"):
            spikesim.run(small, backend="cuda", output=tmp_path / "c.h5", progress=False)
        assert not (tmp_path / "c.h5").exists()


def test_ctrl_c_stops_cleanly_and_the_run_resumes_bitwise(small, tmp_path):
    small["run"]["tstop"] = 20000.0
    small["population"]["eif"]["size"] = 2000
    out = tmp_path / "long.h5"
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(spikesim.Interrupted) as e:
        spikesim.run(small, output=out, progress=False, threads=1)
    timer.cancel()
    assert time.monotonic() - t0 < 60
    r = e.value.result
    assert isinstance(e.value, KeyboardInterrupt)
    assert r.status == "interrupted" and 0 < r.simulated_ms < 20000.0
    assert e.value.checkpoint and os.path.exists(e.value.checkpoint)
    done = spikesim.run(resume=e.value.checkpoint, progress=False, threads=1)
    assert done.status == "complete" and done.simulated_ms == pytest.approx(20000.0)
    assert not os.path.exists(e.value.checkpoint)  # a complete run removes what it resumed from
    small["run"]["tstop"] = 20000.0
    whole = spikesim.run(small, output=tmp_path / "whole.h5", progress=False, threads=1)
    np.testing.assert_array_equal(done.spikes("eif")[0], whole.spikes("eif")[0])
    np.testing.assert_array_equal(done.spikes("eif")[1], whole.spikes("eif")[1])


def test_the_gil_is_released_while_it_runs(small, tmp_path):
    small["run"]["tstop"] = 10000.0
    small["population"]["eif"]["size"] = 5000
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    th = threading.Thread(target=count)
    th.start()
    t0 = time.monotonic()
    spikesim.run(small, output=tmp_path / "g.h5", progress=False, threads=1)
    t1 = time.monotonic()
    done.set()
    th.join()
    during = [t for t in ticks if t0 + 0.1 < t < t1 - 0.1]
    # A thread that sleeps 10 ms between ticks ticks about every 10 ms while the run goes on.
    assert t1 - t0 > 0.5 and len(during) > 0.3 * (t1 - t0 - 0.2) / 0.01


def test_progress_bar_reaches_the_end(small, tmp_path, capsys):
    spikesim.run(small, output=tmp_path / "p.h5", progress=True)
    err = capsys.readouterr().err
    assert "3000" in err or "100" in err  # tqdm's total steps, or the fallback's percentage


def test_cli_and_module_write_the_same_file(small, tmp_path, spikesim_exe):
    cfg = tmp_path / "small.toml"
    cfg.write_text(dict_to_toml(small))
    subprocess.run([spikesim_exe, "run", str(cfg), "-o", str(tmp_path / "cli.h5"), "-q"], check=True)
    r = spikesim.run(str(cfg), output=tmp_path / "py.h5", progress=False)
    cli = spikesim.open(tmp_path / "cli.h5")
    for a, b in zip(cli.spikes("eif"), r.spikes("eif")):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cli.traces("eif")[2], r.traces("eif")[2])
