#!/usr/bin/env bash
# spikesim's CPU backend and Brian2 side by side, in one run on one machine: the reference EIF
# with white noise (benchmarks/brian2_eif.py documents the model), dt = 0.1 ms, spike recording
# on, N = 1e5 and 1e6, Brian2's fastest targets (cython; cpp_standalone with 1 and 2 threads)
# and spikesim in float and double with 1 and 2 threads. Only the simulation loops are timed.
#
#   benchmarks/compare_brian2.sh [SPIKESIM] [OUT]      (needs: pip install brian2 "numpy<2.4")
#
# Run it on an otherwise idle machine: two OpenMP threads on two cores stall on any other load.
set -euo pipefail
exe=${1:-build/spikesim}
out=${2:-/dev/stdout}
here=$(cd "$(dirname "$0")" && pwd)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  printf '{"suite": "compare_brian2", "machine": "%s", "cores": %s, "commit": "%s", "date_utc": "%s"}\n' \
    "$host" "$(nproc)" "$commit" "$(date -u +%FT%TZ)"
  for n in 100000 1000000; do
    # Simulated time: 1 s at 1e5 neurons, 200 ms at 1e6 (Brian2 then runs ~10-60 s per point).
    if [[ $n == 100000 ]]; then ms=1000; else ms=200; fi
    for threads in 1 2; do
      for prec in float double; do
        "$exe" bench --model eif --n "$n" --tstop "$ms" --precision "$prec" --threads "$threads" \
          --backend cpu
      done
      python3 "$here/brian2_eif.py" --n "$n" --duration "$ms" --target cpp_standalone \
        --threads "$threads" 2>/dev/null
    done
    python3 "$here/brian2_eif.py" --n "$n" --duration "$ms" --target cython 2>/dev/null
  done
} >"$out"
