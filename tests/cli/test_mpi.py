#!/usr/bin/env python3
"""A run spread over MPI ranks writes the file one process writes: spikes (node ids and
timestamps), per-step counts, traces and /analysis are compared bitwise with those of a run
without mpirun, for a reduced Brunel network on 1, 2 and 4 ranks and for a population-only
config (EIF with OU noise, a ramped current and a pulse, traces) on 3 ranks (an uneven split).
A rank that fails must end the job with its rank and the cause. Exit 77 (skipped) without h5py.

usage: test_mpi.py SPIKESIM MPIRUN SOURCE_DIR WORK_DIR
"""
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    print("h5py or numpy not installed: skipped")
    sys.exit(77)

exe, mpirun, source, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")

BRUNEL = [os.path.join(source, "examples", "brunel.toml"),
          "--set", "population.exc.size=2000", "--set", "population.inh.size=500",
          "--set", "projection.ee.indegree=200", "--set", "projection.ei.indegree=200",
          "--set", "projection.ie.indegree=50", "--set", "projection.ii.indegree=50",
          "--set", "run.tstop=300.0", "--set", "analysis.t_start=100.0"]

EIF = """
[run]
dt = 0.05
tstop = 200.0
random_seed = 7
[output]
file = "eif.h5"
[analysis]
t_start = 50.0
[population.eif]
size = 1001
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -50.0, V_peak = -30.0, V_reset = -70.0, t_ref = 1.0 }
init = { V = { uniform = [-70.0, -55.0] } }
input = { I = { from = 2.0, to = 8.0 }, sigma = 2.0, tau_noise = 5.0, pulses = [ { start = 50.0, stop = 80.0, amplitude = { from = 0.0, to = 1.0 } } ] }
record = { traces = [0, 336, 337, 673, 674, 1000], trace_every = 4 }
[population.lif]
size = 10
model = "lif"
params = { tau_m = 20.0, E_L = -65.0, R_m = 10.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0 }
input = { I = 1.8, sigma = 3.0, tau_noise = 0.0 }
record = { traces = [9] }
"""
eif_config = os.path.join(work, "eif.toml")
with open(eif_config, "w") as f:
    f.write(EIF)


def run(ranks, args, out, expect=0):
    cmd = [exe, "run", *args, "--backend", "cpu", "--threads", "1", "-q", "-o", out]
    if ranks:
        cmd = [mpirun, "--oversubscribe", "-np", str(ranks), *cmd]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        print(" ".join(cmd))
        print(p.stdout, p.stderr)
        raise SystemExit(f"exit code {p.returncode}, expected {expect}")
    return p


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in (
                    "spikes", "activity", "report", "analysis"):
                out[name] = obj[()]
        f.visititems(visit)
        status = f.attrs["status"]
        assert (status.decode() if isinstance(status, bytes) else status) == "complete", path
    return out


def same(reference, other):
    a, b = datasets(reference), datasets(other)
    if sorted(a) != sorted(b):
        raise SystemExit(f"{other}: datasets {sorted(set(a) ^ set(b))} differ from {reference}")
    for name, x in a.items():
        y = b[name]
        if np.asarray(x).dtype != np.asarray(y).dtype or np.shape(x) != np.shape(y) or \
                np.asarray(x).tobytes() != np.asarray(y).tobytes():
            raise SystemExit(f"{other}: {name} differs from {reference}")
    return a


failures = 0
for args, name, counts in ((BRUNEL, "brunel", (1, 2, 4)), ([eif_config], "eif", (3,))):
    ref = os.path.join(work, f"{name}_serial.h5")
    run(None, args, ref)
    for n in counts:
        out = os.path.join(work, f"{name}_{n}ranks.h5")
        run(n, args, out)
        d = same(ref, out)
        spikes = sum(len(v) for k, v in d.items() if k.endswith("node_ids"))
        print(f"{name}: {n} ranks: {len(d)} datasets identical to the run without mpirun "
              f"({spikes} spikes)")
        assert spikes > 0

# A rank that fails ends the job with its rank and the cause: rank 0 cannot create the output.
p = run(2, BRUNEL, os.path.join(work, "no_such_dir", "x.h5"), expect=4)
assert "rank 0: cannot create output" in p.stderr, p.stderr
print("a failing rank 0 ends the job:", p.stderr.strip().splitlines()[-1][:120])
# Checkpoints are refused over several ranks, naming the option.
p = run(2, [*BRUNEL, "--checkpoint-every", "50"], os.path.join(work, "ck.h5"), expect=2)
assert "--checkpoint-every" in p.stderr, p.stderr
print("checkpoints refused over ranks:", p.stderr.strip().splitlines()[-1][:120])
