#!/usr/bin/env bash
# Neuron-steps per second of the CUDA backend: LIF and EIF with white noise, float and double,
# N = 1e5 ... 1e8, spike recording on; then the CPU backend of the same machine at 1e6 and 1e7
# for comparison. One JSON object per line (header first: machine, GPU, commit, date).
#
#   benchmarks/gpu_populations.sh [SPIKESIM] [OUT]
#
# With a bundle from ../shared/tools/gpu-bundle.sh: SPIKESIM=".gpu/run spikesim".
# Each point runs >= 1e10 neuron-steps (N x steps), i.e. about 0.1-1 s at the target rate; the
# default chunk length (chunk_neuron_steps() / N steps, 16 to 1000) and a long one
# (run.chunk_steps = 1000) are both measured, since launch overhead shows at short chunks.
# A subset, as tools/gpu-check.sh runs it, through the environment:
#   SIZES="1e6 1e7"                 neuron counts (default 1e5 1e6 1e7 1e8)
#   CASES="eif:float lif:float"     model:precision pairs (default all four)
#   CHUNKS="16 auto 1000"           run.chunk_steps values, auto = the default (default auto 1000)
#   CPU=0                           leave out the CPU comparison
set -euo pipefail
exe=${1:-build/spikesim}
out=${2:-/dev/stdout}
sizes=${SIZES:-1e5 1e6 1e7 1e8}
cases=${CASES:-eif:float eif:double lif:float lif:double}
chunks=${CHUNKS:-auto 1000}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
gpu=$(nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv,noheader 2>/dev/null | head -1 || echo none)
{
  printf '{"suite": "gpu_populations", "machine": "%s", "cores": %s, "gpu": "%s", "commit": "%s", "date_utc": "%s"}\n' \
    "$host" "$(nproc)" "$gpu" "$commit" "$(date -u +%FT%TZ)"
  for n in $sizes; do
    case $n in 1e5) tstop=10000 ;; 1e6) tstop=1000 ;; 1e7) tstop=100 ;; *) tstop=20 ;; esac
    for c in $cases; do
      for chunk in $chunks; do
        set -- --backend cuda --model "${c%%:*}" --n "$n" --tstop "$tstop" --precision "${c#*:}"
        [[ $chunk == auto ]] || set -- "$@" --set run.chunk_steps="$chunk"
        $exe bench "$@"
      done
    done
  done
  if [[ ${CPU:-1} != 0 ]]; then
    for n in 1e6 1e7; do
      case $n in 1e6) tstop=100 ;; 1e7) tstop=10 ;; esac
      for prec in float double; do
        $exe bench --backend cpu --model eif --n "$n" --tstop "$tstop" --precision "$prec"
      done
    done
  fi
} >"$out"
