"""spikesim.plot on small real runs, a single-neuron analysis, a model file and a sweep: every
function draws something (pixels inside its Axes, not only a frame) from a Result and from plain
arrays, keeps its limits, takes its theory from spikesim.theory, and phase_line marks exactly the
fixed points that spikesim.neuron finds; spikesim-plot's main() lists its files and exit codes."""

import io
import os
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import spikesim  # noqa: E402
from spikesim import plot  # noqa: E402

from conftest import ROOT  # noqa: E402

EIF_FI = os.path.join(ROOT, "examples", "eif_fI.toml")
SWEEP_FI = os.path.join(ROOT, "examples", "sweep_fI.toml")
MIN_INK = 0.004  # of the pixels inside the Axes; an empty Axes has none, one line 1%


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "eif_fI.h5"
    return spikesim.run(EIF_FI, output=out, backend="cpu", progress=False, quiet=True,
                        set={"run.tstop": 300.0, "population.eif.size": 200,
                             "population.eif.record.traces": [0, 100, 199]})


@pytest.fixture(scope="module")
def eif():
    return spikesim.neuron("eif", 6.0)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    import tomllib

    with open(SWEEP_FI, "rb") as fh:
        cfg = tomllib.load(fh)
    cfg["sweep"]["population.eif.input.I"] = {"from": 6.0, "to": 9.0, "step": 0.5}
    d = tmp_path_factory.mktemp("sweep")
    return spikesim.sweep(cfg, output_dir=d, backend="cpu", progress=False, quiet=True,
                          set={"run.tstop": 100.0, "population.eif.size": 50})


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def ink(ax):
    """The fraction of the pixels inside ax (its frame excluded) that are not the background,
    from the figure saved as PNG."""
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    pixels = matplotlib.image.imread(io.BytesIO(buf.getvalue()), format="png")[..., :3]
    x0, y0, x1, y1 = ax.get_window_extent().extents * 80 / fig.dpi
    h = pixels.shape[0]
    inside = pixels[int(h - y1) + 3 : int(h - y0) - 3, int(x0) + 3 : int(x1) - 3]
    assert float(np.var(pixels)) > 0  # not one colour
    return float(np.mean(np.any(np.abs(inside - inside[0, 0]) > 0.05, axis=-1)))


def assert_drawn(ax):
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.lines or ax.collections or ax.patches  # data drawn, not only text
    assert ink(ax) > MIN_INK


def test_an_empty_axes_fails_the_check():
    ax = plt.subplots()[1]
    ax.set_xlabel("time (ms)")
    with pytest.raises(AssertionError):
        assert_drawn(ax)


def test_run_plots_from_a_result(run):
    for f in (plot.raster, plot.population_rate, plot.traces, plot.rate_histogram,
              plot.cv_histogram, plot.fI):
        ax = f(run, "eif")
        assert_drawn(ax)
        assert "(" in ax.get_xlabel() or f is plot.cv_histogram  # units on the axis
    assert plot.raster(run, "eif").get_xlabel() == "time (ms)"


def test_run_plots_from_arrays(run):
    t, ids = run.spikes("eif")
    a = run.analysis("eif")
    p = run.parameters("eif")
    axes = [plot.raster((t, ids)), plot.population_rate(run.population_rate("eif")),
            plot.traces(run.traces("eif")), plot.rate_histogram(a["rate_hz"]),
            plot.cv_histogram(a["cv_isi"] + 0.1 * np.arange(200) / 200),
            plot.fI((p["input.I"], a["rate_hz"]), model="eif")]
    for ax in axes:
        assert_drawn(ax)


def test_plots_draw_on_the_axes_given(run, eif):
    fig, axes = plt.subplots(2, 2)
    assert plot.raster(run, "eif", ax=axes[0, 0]) is axes[0, 0]
    assert plot.traces(run, "eif", ax=axes[0, 1]) is axes[0, 1]
    assert plot.phase_line(eif, ax=axes[1, 0]) is axes[1, 0]
    assert plot.model_fI(eif, ax=axes[1, 1]) is axes[1, 1]
    assert len(fig.axes) == 4


def test_raster_limits():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 1000, 5000).astype(np.uint64)
    t = np.sort(rng.uniform(0, 1000, 5000))
    ax = plot.raster((t, ids), n_neurons=1000)
    rows = np.unique(ax.collections[0].get_offsets()[:, 1])
    assert 100 < rows.size <= plot.RASTER_MAX_NEURONS
    ax = plot.raster((t, ids), max_neurons=2000, max_dots=100)
    shown = ax.collections[0].get_offsets()
    assert len(shown) <= 100 and ax.get_xlim()[1] == pytest.approx(t[100])


def test_long_traces_become_envelopes_that_keep_the_peaks():
    t = np.arange(100_000) * 0.1
    v = np.full((t.size, 2), -70.0)
    v[12_345, 0] = 20.0  # one spike
    ax = plot.traces((t, np.array([0, 1]), v))
    y = ax.lines[0].get_ydata()
    assert len(y) <= plot.TRACE_MAX_POINTS and y.max() == 20.0


def test_population_rate_merges_bins_beyond_the_limit():
    start = np.arange(5000.0)
    ax = plot.population_rate((start, np.full(5000, 7.0)))
    rate_edges = ax.patches[0].get_data()
    assert rate_edges.values.size <= plot.RATE_MAX_BINS and np.all(rate_edges.values == 7.0)


def test_fI_theory_line_is_spikesim_theory(run):
    ax = plot.fI(run, "eif")
    line = next(l for l in ax.lines if l.get_label().startswith("theory"))
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y, spikesim.theory.eif_rate(x), rtol=1e-12)
    rheobase = next(l for l in ax.lines if l.get_label().startswith("rheobase"))
    assert rheobase.get_xdata()[0] == pytest.approx(spikesim.theory.eif_rheobase())


def marked(ax):
    """{"stable": u values, "unstable": u values} of the fixed points drawn on ax (mV)."""
    return {g: sorted(float(x) for l in ax.lines if l.get_gid() == g for x in l.get_xdata())
            for g in ("stable", "unstable")}


@pytest.mark.parametrize("model, I", [("eif", 6.0), ("eif", 7.2), ("eif", 8.0), ("lif", 5.0)])
def test_phase_line_marks_the_fixed_points_of_spikesim_neuron(model, I):
    a = spikesim.neuron(model, I)
    ax = plot.phase_line(a)
    assert_drawn(ax)
    want = {g: sorted(u for u, _e, s in a.fixed_points if s == (g == "stable")) for g in ("stable", "unstable")}
    got = marked(ax)
    for g in want:
        np.testing.assert_allclose(got[g], want[g], rtol=0, atol=1e-12)
    assert f"{a.rheobase:.4g}" in ax.get_title()
    assert ax.get_xlabel() == "u (mV)" and "mV" in ax.get_ylabel()
    # Close fixed points (7.2 nA, next to the rheobase 7.25) get a detail panel.
    assert len(ax.figure.axes) == (2 if (model, I) == ("eif", 7.2) else 1)


def test_phase_line_from_parameters_and_model_fI(eif):
    ax = plot.phase_line({"V_T": -40.0}, model="eif", I=6.0)
    assert marked(ax) == marked(plot.phase_line(eif))
    ax = plot.model_fI(eif)
    assert_drawn(ax)
    assert len(ax.figure.axes) == 2  # the fixed points against I
    assert ax.get_ylabel() == "firing rate (Hz)" and "nA" in ax.figure.axes[1].get_xlabel()


def test_model_file_reads_as_spikesim_neuron(spikesim_exe, tmp_path, eif):
    path = tmp_path / "eif.h5"
    subprocess.run([spikesim_exe, "model", "--model", "eif", "--I", "6", "--h5", str(path)],
                   check=True, capture_output=True)
    a = spikesim.open(path)
    assert isinstance(a, spikesim.theory.NeuronAnalysis)
    assert a.fixed_points == eif.fixed_points and a.params == eif.params
    assert a.rheobase == eif.rheobase and a.I == 6.0
    np.testing.assert_array_equal(a.phase_f, eif.phase_f)
    np.testing.assert_array_equal(a.fI["rate"], eif.fI["rate"])
    assert marked(plot.phase_line(a)) == marked(plot.phase_line(eif))
    assert_drawn(plot.model_fI(a))


def test_sweep_plots(table):
    for y in ("rate", "cv"):
        ax = plot.sweep(table, "population.eif.input.I", y)
        assert_drawn(ax)
        assert ax.get_xlabel() == "population.eif.input.I (nA)"
        x = ax.lines[0].get_xdata()
        np.testing.assert_array_equal(x, np.arange(6.0, 9.01, 0.5))
    with pytest.raises(KeyError):
        plot.sweep(table, "population.eif.size")


def test_main_writes_and_lists_the_plots(run, tmp_path, capsys):
    assert plot.main([run.path, "--out", str(tmp_path / "p")]) == 0
    listed = capsys.readouterr().out.split()
    names = ["raster", "rate", "traces", "rate_hist", "cv_hist", "fI"]
    assert sorted(listed) == sorted(str(tmp_path / "p" / f"eif_{n}.png") for n in names)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5\n")
    assert plot.main([str(junk)]) == 3
    assert plot.main([str(tmp_path / "missing.h5")]) == 3
    assert plot.main([run.path, "--populations", "nope"]) == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert plot.main([run.path, "--out", str(blocked / "sub")]) == 4
