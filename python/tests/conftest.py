"""Shared pieces of the Python package's tests: small configs and the spikesim program."""

import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A small EIF population: 200 neurons on a current ramp with noise, 300 ms, traces of 3.
SMALL = {
    "run": {"dt": 0.1, "tstop": 300.0, "random_seed": 3, "precision": "double"},
    "population": {
        "eif": {
            "size": 200,
            "model": "eif",
            "params": {"tau_m": 10.0, "E_L": -70.0, "R_m": 4.0, "delta_T": 1.0, "V_T": -40.0,
                       "V_peak": -30.0, "V_reset": -70.0, "t_ref": 2.0},
            "init": {"V": {"uniform": [-70.0, -50.0]}},
            "input": {"I": {"from": 5.0, "to": 10.0}, "sigma": 2.0},
            "record": {"traces": [0, 100, 199], "trace_every": 10},
        }
    },
}


@pytest.fixture
def small():
    import copy

    return copy.deepcopy(SMALL)


@pytest.fixture(scope="session")
def spikesim_exe():
    """The spikesim program: $SPIKESIM_EXE, else the one installed beside this Python."""
    exe = os.environ.get("SPIKESIM_EXE") or os.path.join(os.path.dirname(sys.executable), "spikesim")
    if not os.path.exists(exe):
        exe = shutil.which("spikesim")
    if not exe:
        pytest.fail("no spikesim program: set SPIKESIM_EXE or install the package (pip install .)")
    return exe
