"""spikesim.theory and spikesim.neuron against closed forms, against independent quadrature
(SciPy) and against what the `spikesim model` program prints."""

import csv
import math
import subprocess

import numpy as np
import pytest
from scipy import integrate, special

import spikesim
from spikesim import theory

EIF = {k: v for k, (v, _u) in theory.defaults("eif").items()}


def test_lif_rate_and_rheobase_are_the_closed_forms():
    p = dict(tau_m=20.0, E_L=-65.0, R_m=10.0, V_th=-50.0, V_reset=-65.0, t_ref=2.0)
    I = np.linspace(0.0, 5.0, 11)
    drive = p["E_L"] + p["R_m"] * I
    expect = np.where(drive > p["V_th"],
                      1000.0 / (p["t_ref"] + p["tau_m"] * np.log(np.clip((drive - p["V_reset"]) / (drive - p["V_th"]), 1e-300, None))),
                      0.0)
    np.testing.assert_allclose(theory.lif_rate(I, **p), expect, rtol=1e-12)
    assert theory.lif_rheobase(**p) == pytest.approx(1.5, rel=1e-15)


def test_eif_phase_line_fixed_points_and_rheobase():
    assert theory.eif_rheobase() == pytest.approx((EIF["V_T"] - EIF["E_L"] - EIF["delta_T"]) / EIF["R_m"])
    assert theory.eif_rheobase() == pytest.approx(7.25)
    fps = theory.eif_fixed_points(6.0)
    assert [s for _u, s in fps] == [True, False]
    for u, stable in fps:
        assert abs(theory.eif_phase(u, 6.0)) < 1e-9
        slope = (theory.eif_phase(u + 1e-5, 6.0) - theory.eif_phase(u - 1e-5, 6.0)) / 2e-5
        assert (slope < 0) == stable
    assert theory.eif_fixed_points(8.0) == []  # above the rheobase the neuron fires


def test_eif_rate_against_quadrature():
    I = 9.0
    f = lambda u: theory.eif_phase(u, I)  # noqa: E731
    T = EIF["t_ref"] + EIF["tau_m"] * integrate.quad(lambda u: 1.0 / f(u), EIF["V_reset"], EIF["V_peak"],
                                                     epsabs=0, epsrel=1e-11, limit=200)[0]
    assert theory.eif_rate(I) == pytest.approx(1000.0 / T, rel=1e-8)
    assert theory.eif_rate(7.0) == 0.0


def _siegert_quad(mu, sigma, tau, theta, vr, tref):
    f = lambda x: special.erfcx(-x)  # exp(x^2)(1 + erf x)  # noqa: E731
    integral = integrate.quad(f, (vr - mu) / sigma, (theta - mu) / sigma, epsrel=1e-12)[0]
    return 1000.0 / (tref + tau * math.sqrt(math.pi) * integral)


@pytest.mark.parametrize("mu,sigma", [(15.0, 5.0), (25.0, 2.0), (10.0, 8.0)])
def test_siegert_rate_against_quadrature(mu, sigma):
    rate, cv = theory.siegert(mu, sigma, tau_m=20.0, theta=20.0, v_reset=10.0, t_ref=2.0)
    assert rate == pytest.approx(_siegert_quad(mu, sigma, 20.0, 20.0, 10.0, 2.0), rel=1e-8)
    assert 0.0 < cv < 1.5
    rates, _ = theory.siegert(np.array([mu, mu]), sigma)
    assert rates.shape == (2,) and rates[0] == pytest.approx(rate)


def test_brunel_rate_is_self_consistent():
    b = theory.brunel(g=5.0, eta=2.0)
    rate, _ = theory.siegert(b["mu"], b["sigma"], 20.0, 20.0, 10.0, 2.0)
    assert b["rate_hz"] == pytest.approx(rate, rel=1e-8)
    nu = b["rate_hz"] / 1000.0
    nu_ext = b["nu_ext_hz"] / 1000.0
    assert b["mu"] == pytest.approx(1000 * 0.1 * 20 * (nu_ext + nu * (1 - 5 * 0.25)), rel=1e-12)


def test_neuron_matches_the_model_program(tmp_path, spikesim_exe):
    n = spikesim.neuron("eif", 6.0)
    assert n.rheobase == pytest.approx(7.25) and len(n.fixed_points) == 2
    assert [fp[2] for fp in n.fixed_points] == [True, False]
    assert n.threshold == pytest.approx(n.fI["u_unstable"][0], abs=1e-9)  # unstable point at I = 0
    csv_path = tmp_path / "m.csv"
    subprocess.run([spikesim_exe, "model", "--model", "eif", "--I", "6", "--csv", str(csv_path)],
                   check=True, capture_output=True)
    rows = list(csv.DictReader(open(csv_path)))
    np.testing.assert_allclose(n.fI["I"], [float(r["I_nA"]) for r in rows], rtol=1e-9)
    np.testing.assert_allclose(n.fI["rate"], [float(r["rate_Hz"]) for r in rows], rtol=1e-9, atol=1e-9)
    assert n.phase_u.size == n.phase_f.size > 10


def test_neuron_parameters_and_noise():
    lif = spikesim.neuron("lif", 3.0, currents=[0.0, 5.0, 10.0], sigma=2.0, tau_m=20.0)
    assert lif.params["tau_m"] == 20.0 and lif.units["tau_m"] == "ms"
    assert np.all(np.isfinite(lif.fI["rate_noise"])) and lif.fI["rate"].shape == (3,)
    with pytest.raises(spikesim.ConfigError) as e:
        spikesim.neuron("eif", 6.0, tau=3.0)
    assert e.value.key == "tau"
    with pytest.raises(spikesim.ConfigError) as e:
        spikesim.neuron("eif", 6.0, tau_m=-1.0)
    assert e.value.key == "tau_m" and e.value.unit == "ms"


def test_the_report_text_is_what_the_model_program_prints(spikesim_exe):
    cli = subprocess.run([spikesim_exe, "model", "--model", "lif", "--I", "3", "--sigma", "2"],
                         check=True, capture_output=True, text=True).stdout
    assert str(spikesim.neuron("lif", 3.0, sigma=2.0)) == cli
