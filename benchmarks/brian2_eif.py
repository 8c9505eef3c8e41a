#!/usr/bin/env python3
"""Brian2 reference benchmark: N uncoupled exponential integrate-and-fire
neurons with white noise, the same model and units as the spikesim CPU
benchmark, so the two can be run side by side.

Prints one JSON object (one line) per invocation to stdout; everything else
(Brian2 log, compiler chatter) goes to stderr.

Only the simulation loop is timed, never code generation or compilation:
  * runtime targets (cython, numpy): a short warm-up run() compiles and caches
    every code object; the timed figure is Brian2's own measurement of the
    second run()'s network loop (device._last_run_time).
  * cpp_standalone: the binary times its own Network::run() loop with
    omp_get_wtime() and writes it to results/last_run_info.txt, which Brian2
    exposes as device._last_run_time. Build (make) and process start-up are
    reported separately and are not part of wall_s.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import tempfile
import time

# Model parameters. They must stay identical to the spikesim benchmark.
TAU_M_MS = 10.0
E_L_MV = -70.0
V_RESET_MV = -70.0
R_M_MOHM = 4.0
DELTA_T_MV = 1.0
V_T_MV = -40.0
V_PEAK_MV = -30.0
I_MIN_NA = 6.0
I_MAX_NA = 9.0
SIGMA_MV = 2.0
DT_MS = 0.1

# Only needs to execute every runtime code object once so that it is
# generated and compiled before the timed run.
WARMUP_MS = 1.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="number of neurons")
    p.add_argument("--duration", type=float, default=1000.0,
                   help="simulated time of the timed run, in ms")
    p.add_argument("--target", choices=("cython", "cpp_standalone", "numpy"),
                   default="cython")
    p.add_argument("--threads", type=int, default=1,
                   help="cpp_standalone OpenMP threads; 0 = build without "
                        "OpenMP (then Brian2 times with CPU clock, not wall); "
                        "ignored by cython/numpy, which are single-threaded")
    p.add_argument("--record-spikes", dest="record_spikes",
                   action=argparse.BooleanOptionalAction, default=True,
                   help="attach a SpikeMonitor (default on, as spikesim "
                        "records spikes too)")
    p.add_argument("--build-dir", default=None,
                   help="cpp_standalone project directory (default: a "
                        "temporary directory, removed afterwards)")
    p.add_argument("--keep-build", action="store_true",
                   help="keep the cpp_standalone project directory")
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be >= 1")
    if args.duration <= 0:
        p.error("--duration must be > 0")
    if args.threads < 0:
        p.error("--threads must be >= 0")
    return args


def host_info():
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu_model": model, "nproc": os.cpu_count()}


def build_network(b2, n, record_spikes):
    eqs = """
    dv/dt = (-(v - E_L) + DeltaT*exp((v - VT)/DeltaT) + R*I)/tau
            + sigma*xi*tau**-0.5 : volt
    I : amp (constant)
    """
    namespace = {
        "tau": TAU_M_MS * b2.ms,
        "E_L": E_L_MV * b2.mV,
        "V_reset": V_RESET_MV * b2.mV,
        "R": R_M_MOHM * b2.Mohm,
        "DeltaT": DELTA_T_MV * b2.mV,
        "VT": V_T_MV * b2.mV,
        "V_peak": V_PEAK_MV * b2.mV,
        "sigma": SIGMA_MV * b2.mV,
        "I_min": I_MIN_NA * b2.nA,
        "I_span": (I_MAX_NA - I_MIN_NA) * b2.nA,
        # Inclusive ramp: neuron 0 at I_min, neuron N-1 at I_max; max() keeps
        # N = 1 from dividing by zero.
        "n_minus_1": max(n - 1, 1),
    }
    group = b2.NeuronGroup(n, eqs, threshold="v > V_peak", reset="v = V_reset",
                           method="euler", namespace=namespace, name="eif")
    group.v = "E_L"
    group.I = "I_min + I_span * i / n_minus_1"
    monitor = b2.SpikeMonitor(group, record=True) if record_spikes else None
    net = b2.Network(group)
    if monitor is not None:
        net.add(monitor)
    return group, monitor, net


def run_runtime(b2, args):
    b2.prefs.codegen.target = args.target
    group, monitor, net = build_network(b2, args.n, args.record_spikes)
    net.run(WARMUP_MS * b2.ms)
    # Start the timed run from the same state as cpp_standalone and spikesim
    # (all at rest), so the spike counts over the initial transient agree.
    group.v = E_L_MV * b2.mV
    spikes_before = int(monitor.num_spikes) if monitor is not None else 0
    t0 = time.perf_counter()
    net.run(args.duration * b2.ms)
    run_call_s = time.perf_counter() - t0
    wall_s = float(b2.device._last_run_time)
    spikes = (int(monitor.num_spikes) - spikes_before
              if monitor is not None else None)
    extra = {
        "run_call_s": run_call_s,
        "warmup_ms": WARMUP_MS,
        "timing_method": (
            "Brian2 device._last_run_time of the second run() (network loop, "
            "time.time()); a %.1f ms warm-up run() beforehand generated and "
            "compiled all code objects, then v was reset to E_L" % WARMUP_MS),
    }
    return wall_s, spikes, extra


def run_standalone(b2, args):
    build_dir = args.build_dir or tempfile.mkdtemp(prefix="brian2_eif_")
    b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    group, monitor, net = build_network(b2, args.n, args.record_spikes)
    net.run(args.duration * b2.ms)
    try:
        # with_output=False keeps the binary's output off our stdout, which
        # must carry nothing but the JSON line.
        b2.device.build(directory=build_dir, compile=True, run=True,
                        with_output=False)
        wall_s = float(b2.device._last_run_time)
        spikes = int(monitor.num_spikes) if monitor is not None else None
        timers = b2.device.timers
        clock = ("omp_get_wtime() (wall)" if args.threads > 0
                 else "std::clock() (CPU time, serial build)")
        extra = {
            "compile_s": timers["compile"].get("make"),
            "binary_s": timers.get("run_binary"),
            "timing_method": (
                "Brian2 cpp_standalone device._last_run_time: Network::run() "
                "loop timed inside the binary with " + clock + "; excludes "
                "code generation, make, process start-up and result writing"),
        }
    finally:
        if args.build_dir is None and not args.keep_build:
            shutil.rmtree(build_dir, ignore_errors=True)
    if args.keep_build or args.build_dir is not None:
        extra["build_dir"] = os.path.abspath(build_dir)
    return wall_s, spikes, extra


def main(argv=None):
    args = parse_args(argv)
    import brian2 as b2  # after argparse so --help is fast

    b2.defaultclock.dt = DT_MS * b2.ms
    b2.seed(12345)

    if args.target == "cpp_standalone":
        wall_s, spikes, extra = run_standalone(b2, args)
        threads = args.threads
    else:
        wall_s, spikes, extra = run_runtime(b2, args)
        threads = 1

    steps = int(round(args.duration / DT_MS))
    result = {
        "simulator": "brian2",
        "version": b2.__version__,
        "target": args.target,
        "threads": threads,
        "n": args.n,
        "dt_ms": DT_MS,
        "duration_ms": args.duration,
        "steps": steps,
        "wall_s": wall_s,
        "neuron_steps_per_s": args.n * steps / wall_s if wall_s > 0 else None,
        "spikes": spikes,
        "mean_rate_hz": (spikes / (args.n * args.duration * 1e-3)
                         if spikes is not None else None),
        "record_spikes": args.record_spikes,
        "timing_method": extra.pop("timing_method"),
        "date_utc": datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": host_info(),
        "python": platform.python_version(),
    }
    if args.target != "numpy":
        # Brian2 compiles with its own flags (-O3 -ffast-math -march=native by
        # default); record them since they matter when comparing with spikesim.
        result["cxx_flags"] = list(b2.prefs.codegen.cpp.extra_compile_args_gcc)
    if args.target == "cpp_standalone" and "OMP_WAIT_POLICY" in os.environ:
        result["omp_wait_policy"] = os.environ["OMP_WAIT_POLICY"]
    result.update(extra)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
