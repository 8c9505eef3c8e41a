#!/usr/bin/env bash
# What the emulated GPU tests add to CI (tools/bootstrap.sh test, docs/validation.md): the kit's
# setup.sh (installed already: its re-run), the emulated build from scratch, and the gpu-emulated
# tests with an empty kernel cache (cold: the first launch compiles the kernels for the CPU) and
# again with the cache filled (warm). Appends one JSON line per phase to OUT.
#
#   benchmarks/ci_emulated_lane.sh OUT [BUILD_DIR]     (run as root, or with sudo for setup.sh)
#
# BUILD_DIR (default /tmp/spikesim-ci-emulated-lane, no capitals: it holds the kernel cache) is
# built from scratch; JOBS (default: all cores) and CUDA_ON_CPU_KIT as in tools/bootstrap.sh.
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-/tmp/spikesim-ci-emulated-lane}
jobs=${JOBS:-$(nproc)}
kit=${CUDA_ON_CPU_KIT:-$(cd "$root/.." && pwd)/shared/tools/cuda-on-cpu}
[[ -f $kit/setup.sh ]] || { echo "no $kit/setup.sh" >&2; exit 1; }
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
commit=$(git -C "$root" rev-parse --short=12 HEAD)
git -C "$root" diff --quiet HEAD || commit="$commit+changes"
machine=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

# phase COMMAND...: runs it and appends its wall time with the load before it.
phase() {
  local name=$1 load t0
  shift
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$EPOCHREALTIME
  "$@"
  printf '{"benchmark": "ci_emulated_lane", "phase": "%s", "wall_s": %.1f, "jobs": %s, "machine": "%s", "cores": %s, "load_avg_1min_before": %s, "commit": "%s", "date_utc": "%s"}\n' \
    "$name" "$(awk "BEGIN { print $EPOCHREALTIME - $t0 }")" "$jobs" \
    "$machine" "$(nproc)" "$load" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$out"
}

setup_kit() { $sudo bash "$kit/setup.sh" >/dev/null; }
build_lane() {
  cmake --fresh -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSPIKESIM_CUDA=OFF \
    -DSPIKESIM_CUDA_EMULATION=ON -DSPIKESIM_CHIPSTAR_CACHE_DIR="$build/chipstar-jit-cache" >/dev/null
  cmake --build "$build" -j "$jobs" --clean-first --target spikesim_tests_emulated >/dev/null
}
run_tests() { ctest --test-dir "$build" -L gpu-emulated -j "$jobs" --output-on-failure >/dev/null; }

phase setup_rerun setup_kit
phase build build_lane
rm -rf "$build/chipstar-jit-cache"
phase tests_cold_cache run_tests
phase tests_warm_cache run_tests
