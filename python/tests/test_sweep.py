"""spikesim.sweep and spikesim.open on sweep files: one row per point with the swept value and the
statistics of its population in its file; a sweep run again runs nothing."""

import os

import numpy as np
import pytest

import spikesim


def _column(table, name):
    return np.asarray(table[name])


def test_sweep_table_and_pack_files(small, tmp_path):
    small["population"]["eif"]["input"] = {"I": 6.0, "sigma": 2.0}
    small["population"]["eif"].pop("record")
    out = tmp_path / "sw"
    table = spikesim.sweep(small, sweep={"population.eif.input.I": [6.0, 8.0, 10.0]},
                           output_dir=out, progress=False)
    I = _column(table, "population.eif.input.I")
    np.testing.assert_array_equal(I, [6.0, 8.0, 10.0])
    np.testing.assert_array_equal(_column(table, "point"), [0, 1, 2])
    rates = _column(table, "rate_mean")
    assert rates[0] < rates[1] < rates[2]  # more current, more spikes
    files = sorted(os.listdir(out))
    assert files and all(f.endswith(".h5") for f in files)
    for k, f in enumerate(_column(table, "file")):
        r = spikesim.open(os.path.join(out, os.path.basename(f)))
        assert r.sweep is not None and f"eif@{k}" in r.populations
        i = list(r.sweep["point"]).index(k)
        assert r.sweep["values"]["population.eif.input.I"][i] == I[k]
        assert r.analysis(f"eif@{k}")["rate_mean"] == pytest.approx(rates[k], rel=1e-12)
    again = spikesim.sweep(small, sweep={"population.eif.input.I": [6.0, 8.0, 10.0]},
                           output_dir=out, progress=False)
    np.testing.assert_array_equal(_column(again, "rate_mean"), rates)
    np.testing.assert_array_equal(_column(spikesim.sweep_table(out), "rate_mean"), rates)


def test_sweep_axis_forms_and_errors(small, tmp_path):
    small["population"]["eif"].pop("record")
    t = spikesim.sweep(small, sweep={"population.eif.input.sigma": "1:3:1"}, output_dir=tmp_path / "a",
                       progress=False, set={"run.tstop": 50.0})
    np.testing.assert_array_equal(_column(t, "population.eif.input.sigma"), [1.0, 2.0, 3.0])
    with pytest.raises(spikesim.ConfigError):
        spikesim.sweep(small, output_dir=tmp_path / "b", progress=False)  # nothing swept
    with pytest.raises(spikesim.InputError):
        spikesim.sweep_table(tmp_path / "nothing-here")
