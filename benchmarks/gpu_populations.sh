#!/usr/bin/env bash
# Neuron-steps per second of the CUDA backend: LIF and EIF with white noise, float and double,
# N = 1e5 ... 1e8, spike recording on; then the CPU backend of the same machine at 1e6 and 1e7
# for comparison. One JSON object per line (header first: machine, GPU, commit, date).
#
#   benchmarks/gpu_populations.sh [SPIKESIM] [OUT]
#
# With a bundle from ../shared/tools/gpu-bundle.sh: SPIKESIM=".gpu/run spikesim".
# Each point runs >= 1e10 neuron-steps (N x steps), i.e. about 0.1-1 s at the target rate; the
# default chunk length (2^24 / N steps, at least 16) and a long one (run.chunk_steps = 1000)
# are both measured, since launch overhead shows at short chunks.
set -euo pipefail
exe=${1:-build/spikesim}
out=${2:-/dev/stdout}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
gpu=$(nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv,noheader 2>/dev/null | head -1 || echo none)
{
  printf '{"suite": "gpu_populations", "machine": "%s", "cores": %s, "gpu": "%s", "commit": "%s", "date_utc": "%s"}\n' \
    "$host" "$(nproc)" "$gpu" "$commit" "$(date -u +%FT%TZ)"
  for n in 1e5 1e6 1e7 1e8; do
    case $n in 1e5) tstop=10000 ;; 1e6) tstop=1000 ;; 1e7) tstop=100 ;; 1e8) tstop=20 ;; esac
    for model in eif lif; do
      for prec in float double; do
        $exe bench --backend cuda --model "$model" --n "$n" --tstop "$tstop" --precision "$prec"
        $exe bench --backend cuda --model "$model" --n "$n" --tstop "$tstop" --precision "$prec" \
          --set run.chunk_steps=1000
      done
    done
  done
  for n in 1e6 1e7; do
    case $n in 1e6) tstop=100 ;; 1e7) tstop=10 ;; esac
    for prec in float double; do
      $exe bench --backend cpu --model eif --n "$n" --tstop "$tstop" --precision "$prec"
    done
  done
} >"$out"
