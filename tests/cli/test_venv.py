"""The Python of the tests' virtual environment, for checks that need packages from PyPI
(libsonata, Elephant): tools/bootstrap.sh installs them into BUILD/test-venv, made with
--system-site-packages so that it sees the h5py and NumPy of the `python3` that made it, since an
externally managed Python (PEP 668) refuses pip outside a virtual environment."""
import importlib.util
import os
import sys


def run_with(modules, venv):
    """Returns when every module in `modules` can be imported here; otherwise runs this script
    again with VENV's python (argv unchanged) when that is another environment. The caller's own
    imports then decide, and report a skip, when the modules are missing from both."""
    if all(importlib.util.find_spec(m) is not None for m in modules):
        return
    if not venv:
        return
    python = os.path.join(venv, "bin", "python")
    # A venv's python is a link to the system one: which environment runs is told by sys.prefix.
    if os.path.exists(python) and os.path.realpath(sys.prefix) != os.path.realpath(venv):
        sys.stdout.flush()
        os.execv(python, [python] + sys.argv)
