#!/usr/bin/env python3
"""A run spread over MPI ranks writes the file one process writes: spikes (node ids and
timestamps), per-step counts, traces and /analysis are compared bitwise with those of a run
without mpirun, for a reduced Brunel network on 1, 2 and 4 ranks and for a population-only
config (EIF with OU noise, a ramped current and a pulse, traces) on 3 ranks (an uneven split).
A run interrupted over 2 ranks and resumed from its checkpoint over 3 gives the file of one
uninterrupted process. A rank that fails must end the job with its rank and the cause; a
numerical failure on a rank other than 0 leaves rank 0's file marked failed. Exit 77 (skipped)
without h5py.

usage: test_mpi.py SPIKESIM MPIRUN SOURCE_DIR WORK_DIR
"""
import os
import signal
import subprocess
import sys
import time

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

# A run over 2 ranks stopped by SIGUSR1 (what SLURM's --signal sends to mpirun, which forwards it)
# writes the checkpoint of the whole network; resumed over 3 ranks it completes the file that one
# process writes without interruption.
LONG = [*BRUNEL, "--set", "run.tstop=3000.0"]
ref = os.path.join(work, "long_serial.h5")
run(None, LONG, ref)
out = os.path.join(work, "long_2to3.h5")
for f in (out, out + ".partial", out + ".ckpt"):
    if os.path.exists(f):
        os.remove(f)
cmd = [mpirun, "--oversubscribe", "-np", "2", exe, "run", *LONG, "--backend", "cpu", "--threads",
       "1", "-q", "-o", out, "--checkpoint-every", "200"]
proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 300
while not os.path.exists(out + ".ckpt") and proc.poll() is None and time.monotonic() < deadline:
    time.sleep(0.02)
proc.send_signal(signal.SIGUSR1)
stdout, stderr = proc.communicate(timeout=300)
if proc.returncode != 75:
    print(stdout, stderr)
    raise SystemExit(f"interrupted run over 2 ranks: exit code {proc.returncode}, expected 75")
with h5py.File(out, "r") as f:
    status = f.attrs["status"]
    assert (status.decode() if isinstance(status, bytes) else status) == "interrupted"
p = subprocess.run([mpirun, "--oversubscribe", "-np", "3", exe, "run", "--resume", out + ".ckpt",
                    "--backend", "cpu", "--threads", "1"], env=env, capture_output=True,
                   text=True, timeout=600)
if p.returncode != 0:
    print(p.stdout, p.stderr)
    raise SystemExit(f"resume over 3 ranks: exit code {p.returncode}")
assert "resuming at t = " in p.stderr and p.stderr.count("resuming at") == 1, p.stderr
assert not os.path.exists(out + ".ckpt"), "the checkpoint of a completed run is removed"
d = same(ref, out)
print(f"interrupted on 2 ranks, resumed on 3 ({p.stderr.strip().splitlines()[1][:60]}): "
      f"{len(d)} datasets identical to the uninterrupted run without mpirun")

# A numerical failure on rank 1 (rate units that overflow at 20 ms, all on the last rank): every
# rank learns of it in the exchange, rank 0 keeps the output up to the failing chunk marked
# failed, and the job ends with exit code 6 and the failing rank's message.
FAIL = """
[run]
dt = 0.1
tstop = 50.0
chunk_steps = 50
[population.a]
size = 10
model = "lif"
params = { tau_m = 20.0, E_L = -65.0, R_m = 10.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0 }
input = { I = 1.8 }
[population.z]
size = 10
model = "rate"
params = { gain = 1e300, I_max = 1e300 }
input = { I = 0.0, pulses = [ { start = 20.0, stop = 30.0, amplitude = 1e300 } ] }
"""
fail_config = os.path.join(work, "fail.toml")
with open(fail_config, "w") as f:
    f.write(FAIL)
out = os.path.join(work, "fail.h5")
p = run(2, [fail_config], out, expect=6)
assert "rank 1: numerical failure" in p.stderr and "'z'" in p.stderr, p.stderr
with h5py.File(out, "r") as f:
    status = f.attrs["status"]
    assert (status.decode() if isinstance(status, bytes) else status) == "failed"
    rows = f["activity/a/spikes_per_step"].shape[0]
    assert rows == 200, f"{rows} steps recorded: the 4 chunks before the failing one expected"
print("a numerical failure on rank 1: exit 6, file marked failed with the 200 steps before it")
