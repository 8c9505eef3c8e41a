#!/usr/bin/env bash
# Neuron-steps per second of the CPU backend: LIF and EIF with white noise, float and double,
# N = 1e5, 1e6, 1e7, spike recording on. Writes one JSON object per line to OUT (default stdout)
# preceded by a header line naming the machine, commit and date.
#
#   benchmarks/cpu_populations.sh [SPIKESIM] [OUT]
#
# The simulated time shrinks with N so that each point runs >= 5e9 neuron-steps (several seconds)
# and long enough for the neurons, which start at rest, to fire (>= 50 ms).
set -euo pipefail
exe=${1:-build/spikesim}
out=${2:-/dev/stdout}
threads=${THREADS:-$(nproc)}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  printf '{"suite": "cpu_populations", "machine": "%s", "cores": %s, "threads": %s, "commit": "%s", "date_utc": "%s"}\n' \
    "$host" "$(nproc)" "$threads" "$commit" "$(date -u +%FT%TZ)"
  for n in 1e5 1e6 1e7; do
    case $n in 1e5) tstop=5000 ;; 1e6) tstop=500 ;; 1e7) tstop=50 ;; esac
    for model in lif eif; do
      for prec in float double; do
        "$exe" bench --model "$model" --n "$n" --tstop "$tstop" --precision "$prec" \
          --threads "$threads" --backend cpu
      done
    done
  done
} >"$out"
