#!/usr/bin/env bash
# CPU threads that help and never hurt: wall time of 2 threads against 1 thread on three runs,
# on an idle machine and beside one busy process pinned to the last processor, interleaved, for
# this build and, when BASE is given, an older build (the same runs, in the same script run, so
# the two see the same machine). Runs (CPU backend, double precision):
#   brunel        examples/brunel.toml (model A, 12 500 neurons, delay 1.5 ms), TSTOP_BRUNEL ms
#   microcircuit  benchmarks/microcircuit_approx.toml (an approximation: 8 populations, 7 717
#                 neurons, normal delays, shortest delay one step), TSTOP_MC ms
#   eif_1e6       spikesim bench --model eif --n 1e6 (no synapses), TSTOP_EIF ms
# Appends one JSON object per (run, load, build, repetition) to OUT: both wall times, their ratio
# (2 threads / 1 thread), the load average before the pair, commit, date and machine.
#
#   benchmarks/cpu_threads.sh [SPIKESIM] [OUT]
#   BASE=/path/to/old/spikesim REPS=2 benchmarks/cpu_threads.sh build/spikesim
#   CASES="brunel" LOADS="idle" REPS=5 benchmarks/cpu_threads.sh build/spikesim   (a subset)
#
# About 3 minutes on an idle 2-core machine with REPS=1 and BASE set (half without BASE).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$root/build/spikesim}
out=${2:-$root/benchmarks/results/cpu_threads_$(date -u +%F).jsonl}
base=${BASE:-}
reps=${REPS:-1}
tstop_brunel=${TSTOP_BRUNEL:-500}
tstop_mc=${TSTOP_MC:-300}
tstop_eif=${TSTOP_EIF:-50}
work=$(mktemp -d)
busy=
cleanup() {
  [ -n "$busy" ] && kill "$busy" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
machine=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
cpus=$(nproc)
last_cpu=$((cpus - 1))

run_case() {  # exe case threads -> prints wall seconds
  local bin=$1 name=$2 t=$3 t0 t1
  t0=$(date +%s.%N)
  case $name in
    brunel)
      "$bin" run "$root/examples/brunel.toml" -q --backend cpu --threads "$t" -o "$work/o.h5" \
        --set run.tstop="$tstop_brunel" --set analysis.t_start=100.0 >/dev/null ;;
    microcircuit)
      "$bin" run "$root/benchmarks/microcircuit_approx.toml" -q --backend cpu --threads "$t" \
        -o "$work/o.h5" --set run.tstop="$tstop_mc" >/dev/null ;;
    eif_1e6)
      "$bin" bench --model eif --n 1e6 --tstop "$tstop_eif" --backend cpu --threads "$t" \
        >/dev/null ;;
  esac
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

builds=(new)
[ -n "$base" ] && builds+=(base)
mkdir -p "$(dirname "$out")"
for rep in $(seq 1 "$reps"); do
  for name in ${CASES:-brunel microcircuit eif_1e6}; do
    for load in ${LOADS:-idle busy}; do
      if [ "$load" = busy ]; then
        taskset -c "$last_cpu" sh -c 'while :; do :; done' &
        busy=$!
        sleep 0.5
      fi
      for build in "${builds[@]}"; do
        bin=$exe
        [ "$build" = base ] && bin=$base
        loadavg=$(cut -d' ' -f1 /proc/loadavg)
        if ((rep % 2)); then  # odd repetitions run 1 thread first, even ones 2 threads first
          w1=$(run_case "$bin" "$name" 1)
          w2=$(run_case "$bin" "$name" 2)
        else
          w2=$(run_case "$bin" "$name" 2)
          w1=$(run_case "$bin" "$name" 1)
        fi
        printf '{"suite": "cpu_threads", "case": "%s", "load": "%s", "build": "%s", "rep": %d, "wall_1_thread_s": %.3f, "wall_2_threads_s": %.3f, "ratio_2_over_1": %.3f, "loadavg_1min": %s, "commit": "%s", "machine": "%s", "cpus": %d, "date_utc": "%s"}\n' \
          "$name" "$load" "$build" "$rep" "$w1" "$w2" "$(echo "$w2 / $w1" | bc -l)" "$loadavg" \
          "$commit" "$machine" "$cpus" "$(date -u +%FT%TZ)" | tee -a "$out"
      done
      if [ -n "$busy" ]; then
        kill "$busy"
        wait "$busy" 2>/dev/null || true
        busy=
      fi
    done
  done
done
