#!/usr/bin/env python3
"""A run spread over MPI ranks writes the file one process writes: spikes (node ids and
timestamps), per-step counts, traces and /analysis are compared bitwise with those of a run
without mpirun, for a reduced Brunel network on 1, 2 and 4 ranks and for a population-only
config (EIF with OU noise, a ramped current and a pulse, traces) on 3 ranks (an uneven split).
A run interrupted over 2 ranks and resumed from its checkpoint over 3 gives the file of one
uninterrupted process. A rank that fails must end the job with its rank and the cause; a
numerical failure on a rank other than 0 leaves rank 0's file marked failed.

A sweep under mpirun deals its packs round-robin to the ranks: on 2 ranks (and on 3, one of them
without a pack) it writes the files of a sweep without mpirun, whose spikes, counts, /analysis and
/sweep are compared bitwise, and which merge to the same table; rank r writes packs r, r + R, ....
A rank that fails ends the job; a signal ends every rank with 75 and files marked interrupted, and
the same command again resumes the interrupted packs. Exit 77 (skipped) without h5py.

usage: test_mpi.py SPIKESIM MPIRUN SOURCE_DIR WORK_DIR
"""
import os
import re
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


def spikesim(ranks, command, args, out, expect=0):
    """`spikesim COMMAND ARGS` on the CPU backend, under mpirun with RANKS ranks unless None."""
    cmd = [exe, command, *args, "--backend", "cpu", "--threads", "1", "-q", "-o", out]
    if ranks:
        cmd = [mpirun, "--oversubscribe", "-np", str(ranks), *cmd]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        print(" ".join(cmd))
        print(p.stdout, p.stderr)
        raise SystemExit(f"exit code {p.returncode}, expected {expect}")
    return p


def run(ranks, args, out, expect=0):
    return spikesim(ranks, "run", args, out, expect)


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

# The exchange of a piece overlaps the next piece's integration: every rank sends a fixed
# capacity of words, and the words beyond it follow in a second collective. A capacity forced to
# 1 and 5 words (the length alone, or a few spikes) sends (almost) every exchange through that
# path, and the file is still the one a process without mpirun writes.
ref = os.path.join(work, "brunel_serial.h5")
for words, ranks in (("1", 2), ("5", 3)):
    out = os.path.join(work, f"brunel_{ranks}ranks_{words}words.h5")
    env["SPIKESIM_EXCHANGE_WORDS"] = words
    p = run(ranks, BRUNEL, out)
    del env["SPIKESIM_EXCHANGE_WORDS"]
    m = re.search(r"ranks \d+: (\d+) exchanges.*; (\d+) exceeded", p.stdout)
    assert m, p.stdout
    exchanges, overflows = int(m.group(1)), int(m.group(2))
    assert overflows > 0.9 * exchanges, p.stdout
    d = same(ref, out)
    print(f"brunel: {ranks} ranks, capacity {words} words: {overflows} of {exchanges} exchanges "
          f"through the second collective, {len(d)} datasets identical")

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

# Without --threads, ranks that mpirun does not bind share the node's cores instead of each
# starting a thread per core.
cmd = [mpirun, "--oversubscribe", "--bind-to", "none", "-np", "2", exe, "run", *BRUNEL, "--set",
       "run.tstop=50.0", "--set", "analysis.t_start=0.0", "--backend", "cpu", "-q", "-o",
       os.path.join(work, "threads.h5")]
p = subprocess.run(cmd, env={k: v for k, v in env.items() if k != "OMP_NUM_THREADS"},
                   capture_output=True, text=True, timeout=600)
assert p.returncode == 0, p.stdout + p.stderr
cores = len(os.sched_getaffinity(0))
want = max(1, cores // 2)
assert f", {want} thread{'s' if want > 1 else ''})" in p.stdout, (want, p.stdout)
print(f"2 unbound ranks on {cores} cores: {want} thread(s) each")

# Sweeps: packs dealt round-robin to the ranks.
SWEEP = """
[run]
dt = 0.1
tstop = 200.0
random_seed = 3
[analysis]
t_start = 50.0
[population.eif]
size = 150
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, V_peak = -30.0, V_reset = -70.0, t_ref = 2.0 }
init = { V = { uniform = [-70.0, -50.0] } }
input = { I = 5.0, sigma = 2.0 }
record = { traces = [0, 149] }
[sweep]
"population.eif.input.I" = { from = 7.5, to = 9.5, step = 0.5 }
"""
sweep_config = os.path.join(work, "sweep.toml")
with open(sweep_config, "w") as f:
    f.write(SWEEP)


def sweep(ranks, out, *extra, expect=0):
    return spikesim(ranks, "sweep", [sweep_config, *extra], out, expect)


def as_bytes(v):
    """A value read by h5py as bytes: strings (variable-length ones are objects) joined by NUL,
    numbers as their bits with their type."""
    v = np.asarray(v)
    if v.dtype.kind in "OSU":
        return b"\0".join(x if isinstance(x, bytes) else str(x).encode() for x in np.ravel(v))
    return v.dtype.str.encode() + v.tobytes()


def sweep_group(path):
    """/sweep of a pack file: its attributes and datasets, as bytes."""
    out = {}
    with h5py.File(path, "r") as f:
        g = f["sweep"]
        for k, v in g.attrs.items():
            out["@" + k] = as_bytes(v)

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = as_bytes(obj[()])
        g.visititems(visit)
    return out


def h5_names(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".h5"))


def merged(d):
    p = subprocess.run([exe, "merge", d], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    # The last column names the file, with its directory.
    return [line.rsplit(",", 1)[0] + "," + os.path.basename(line.rsplit(",", 1)[1])
            for line in p.stdout.splitlines()]


for ranks, pack, layout in ((2, 2, {"points_0-1.h5": 0, "points_2-3.h5": 1, "points_4-4.h5": 0}),
                            (3, 3, {"points_0-2.h5": 0, "points_3-4.h5": 1})):
    ref = os.path.join(work, f"sweep_pack{pack}_serial")
    out = os.path.join(work, f"sweep_pack{pack}_{ranks}ranks")
    for d in (ref, out):
        subprocess.run(["rm", "-rf", d], check=True)
    sweep(None, ref, "--pack", str(pack))
    p = sweep(ranks, out, "--pack", str(pack))
    if h5_names(out) != sorted(layout) or h5_names(ref) != sorted(layout):
        raise SystemExit(f"files {h5_names(out)} on {ranks} ranks and {h5_names(ref)} in one "
                         f"process; expected {sorted(layout)}")
    for name, rank in layout.items():
        d = same(os.path.join(ref, name), os.path.join(out, name))
        assert sum(len(v) for k, v in d.items() if k.endswith("node_ids")) > 0, name
        if sweep_group(os.path.join(ref, name)) != sweep_group(os.path.join(out, name)):
            raise SystemExit(f"{out}/{name}: /sweep differs from the one-process file")
        # Round-robin: rank r writes packs r, r + R, ...; each names its packs on its lines.
        if f"rank {rank}: {name}:" not in p.stdout:
            raise SystemExit(f"{name} should be written by rank {rank}:\n{p.stdout}")
    if merged(ref) != merged(out):
        raise SystemExit(f"merge of {out} differs from the merge of {ref}")
    print(f"sweep: {ranks} ranks, packs of {pack}: files {sorted(layout)} identical to one "
          "process, dealt round-robin, same merged table")

# --count prints once.
p = subprocess.run([mpirun, "--oversubscribe", "-np", "2", exe, "sweep", "--count", sweep_config],
                   env=env, capture_output=True, text=True, timeout=120)
assert p.returncode == 0 and p.stdout == "5\n", (p.returncode, p.stdout, p.stderr)

# Run again on 2 ranks: every pack is complete, nothing is rewritten.
out = os.path.join(work, "sweep_pack2_2ranks")
before = {n: os.stat(os.path.join(out, n)) for n in h5_names(out)}
p = sweep(2, out, "--pack", "2")
assert "3 complete files" in p.stdout and "--redo" in p.stdout, p.stdout
for n, st in before.items():
    now = os.stat(os.path.join(out, n))
    assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), n
print("sweep run again on 2 ranks:", p.stdout.strip().splitlines()[0][:100])

# A rank that fails ends the job: rank 1 cannot create its pack's file.
out = os.path.join(work, "sweep_fail")
subprocess.run(["rm", "-rf", out], check=True)
os.makedirs(os.path.join(out, "points_2-3.h5.partial", "x"))
p = sweep(2, out, "--pack", "2", "--set", "run.tstop=2000", expect=4)
assert "rank 1: cannot write partial output" in p.stderr, p.stderr
assert "points_2-3.h5.partial': it is a directory, not a regular file" in p.stderr, p.stderr
print("a failing rank 1 ends the sweep:",
      next(line for line in p.stderr.splitlines() if "rank 1:" in line)[:120])

# SIGUSR1 (what SLURM's --signal sends; mpirun forwards it): every rank ends its current pack,
# keeps its file marked interrupted beside a checkpoint, starts no other, and the job exits with
# 75. The same command again resumes both packs.
out = os.path.join(work, "sweep_signal")
subprocess.run(["rm", "-rf", out], check=True)
long_run = ["--pack", "2", "--set", "run.tstop=30000", "--set", "population.eif.size=300"]
cmd = [mpirun, "--oversubscribe", "-np", "2", exe, "sweep", sweep_config, "--backend", "cpu",
       "--threads", "1", "-q", "-o", out, *long_run]
proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
# A pack's file is FILE.tmp until its first chunk is written, then FILE.partial.
started = [os.path.join(out, f"points_{n}.h5") for n in ("0-1", "2-3")]
for _ in range(600):
    if all(os.path.exists(f + ".partial") or os.path.exists(f + ".tmp") for f in started):
        break
    time.sleep(0.05)
time.sleep(0.5)
proc.send_signal(signal.SIGUSR1)
stdout, stderr = proc.communicate(timeout=300)
if proc.returncode != 75:
    raise SystemExit(f"exit code {proc.returncode} after SIGUSR1, expected 75:\n{stdout}{stderr}")
if h5_names(out) != ["points_0-1.h5", "points_2-3.h5"]:
    raise SystemExit(f"after SIGUSR1: {h5_names(out)}")
for n in h5_names(out):
    with h5py.File(os.path.join(out, n), "r") as f:
        status = f.attrs["status"]
        assert (status.decode() if isinstance(status, bytes) else status) == "interrupted", n
    assert os.path.exists(os.path.join(out, n + ".ckpt")), n + ": no checkpoint"
print("SIGUSR1 on 2 ranks: exit 75, two files marked interrupted with their checkpoints, the third "
      "pack not started")
# The same command again: each rank resumes its interrupted pack from its checkpoint.
sweep(2, out, *long_run)
for n in ("points_0-1.h5", "points_2-3.h5"):
    with h5py.File(os.path.join(out, n), "r") as f:
        assert f.attrs["resumed_from_step"] > 0, n
    assert not os.path.exists(os.path.join(out, n + ".ckpt")), n
assert h5_names(out) == ["points_0-1.h5", "points_2-3.h5", "points_4-4.h5"], h5_names(out)
merged(out)
print("run again on 2 ranks: both interrupted packs resumed from their checkpoints, merged")
