#!/usr/bin/env bash
# Networks on the CUDA backend, as `spikesim run` reports them:
#   1. Brunel's model A (examples/brunel.toml, 12 500 LIF neurons, 1.56e7 synapses, 1 s) in float
#      and double: real-time factor and synaptic events per second;
#   2. a scaling series of the same model, N = 1e4, 1e5, 1e6 neurons (80% excitatory) with
#      K = 1000 and 10 000 excitatory inputs per neuron (K/4 inhibitory, J = 0.1 mV x 1000/K so
#      that the mean-field state stays that of model A): construction time, bytes per synapse,
#      events per second and the peak device memory (nvidia-smi, sampled every 100 ms, minus
#      the memory used before the run).
# One JSON object per line, header first (machine, GPU, commit, date).
#
#   benchmarks/gpu_network.sh [SPIKESIM] [OUT]
#
# With a bundle from ../shared/tools/gpu-bundle.sh: SPIKESIM=".gpu/run spikesim". Spikes are
# written to a scratch file (WORK_DIR, default a temporary directory) as in any run; the
# spike-train analysis is off, since it is not what is measured. SCALING=0 runs model A alone
# (tools/gpu-check.sh).
set -euo pipefail
exe=${1:-build/spikesim}
out=${2:-/dev/stdout}
root=$(cd "$(dirname "$0")/.." && pwd)
config=$root/examples/brunel.toml
work=${WORK_DIR:-$(mktemp -d)}
mkdir -p "$work"
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
gpu=$(nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv,noheader 2>/dev/null | head -1 || echo none)

used_mib() {
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1 || echo 0
}

# run_case NAME N K PRECISION TSTOP [--set ...]: one `spikesim run`, one JSON line.
run_case() {
  local name=$1 n=$2 k=$3 prec=$4 tstop=$5
  shift 5
  local base sampler log peak
  base=$(used_mib)
  log=$work/$name.log
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$work/$name.mem" &
    sampler=$!
  fi
  $exe run "$config" -o "$work/$name.h5" --backend cuda --quiet --set run.precision="\"$prec\"" \
    --set run.tstop="$tstop" --set analysis.enabled=false --set analysis.t_start=0.0 "$@" >"$log"
  if [[ -n ${sampler:-} ]]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
  fi
  peak=$(sort -n "$work/$name.mem" 2>/dev/null | tail -1 || true)
  rm -f "$work/$name.h5"
  awk -v name="$name" -v n="$n" -v k="$k" -v prec="$prec" -v tstop="$tstop" \
    -v peak="${peak:-0}" -v base="${base:-0}" '
    /^steps / { for (i = 1; i <= NF; ++i) if ($i == "wall") wall = $(i + 1) }
    /^real-time factor/ { rtf = $3 }
    /^synapses / {
      syn = $2; bps = $3; sub(/\(/, "", bps)
      for (i = 1; i <= NF; ++i) {
        if ($i == "in") built = $(i + 1)
        if ($i == "synaptic") events = $(i - 1)
        if ($i == "per") per_s = $(i - 1)
      }
    }
    $1 == "exc" || $1 == "inh" { rate[$1] = $4 }
    END {
      printf "{\"suite\": \"gpu_network\", \"case\": \"%s\", \"n\": %d, \"k\": %d, \"precision\": \"%s\", ", name, n, k, prec
      printf "\"tstop_ms\": %s, \"synapses\": %s, \"bytes_per_synapse\": %s, \"construction_s\": %s, ", tstop, syn, bps, built
      printf "\"wall_s\": %s, \"real_time_factor\": %s, \"synaptic_events\": %s, \"events_per_s\": %s, ", wall, rtf, events, per_s
      printf "\"rate_exc_hz\": %s, \"rate_inh_hz\": %s, \"peak_device_mib\": %d}\n", rate["exc"], rate["inh"], peak - base
    }' "$log"
}

{
  printf '{"suite": "gpu_network", "machine": "%s", "cores": %s, "gpu": "%s", "commit": "%s", "date_utc": "%s"}\n' \
    "$host" "$(nproc)" "$gpu" "$commit" "$(date -u +%FT%TZ)"
  for prec in float double; do
    run_case "model_a_$prec" 12500 1000 "$prec" 1000.0
  done
  [[ ${SCALING:-1} == 0 ]] && exit 0
  for k in 1000 10000; do
    for n in 10000 100000 1000000; do
      case $n in 10000) tstop=1000.0 ;; 100000) tstop=300.0 ;; 1000000) tstop=100.0 ;; esac
      ne=$((n * 4 / 5)) ni=$((n / 5)) ki=$((k / 4))
      j=$(awk -v k="$k" 'BEGIN { printf "%.17g", 100.0 / k }')
      ji=$(awk -v k="$k" 'BEGIN { printf "%.17g", -500.0 / k }')
      run_case "scaling_n${n}_k${k}" "$n" "$k" float "$tstop" \
        --set population.exc.size="$ne" --set population.inh.size="$ni" \
        --set projection.ee.indegree="$k" --set projection.ei.indegree="$k" \
        --set projection.ie.indegree="$ki" --set projection.ii.indegree="$ki" \
        --set projection.ee.weight="$j" --set projection.ei.weight="$j" \
        --set projection.ie.weight="$ji" --set projection.ii.weight="$ji" \
        --set population.exc.input.poisson.count="$k" --set population.inh.input.poisson.count="$k" \
        --set population.exc.input.poisson.weight="$j" --set population.inh.input.poisson.weight="$j"
    done
  done
} >"$out"
