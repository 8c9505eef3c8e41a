#!/usr/bin/env bash
# Every GPU check of spikesim in one call, for a machine with a GPU and a bundle made by
# ../shared/tools/gpu-bundle.sh (run from the repository root):
#   1. the device and the build (`spikesim info`),
#   2. the GPU-labelled tests (every backend test's /cuda instance and tests/gpu, the CUDA
#      backend over ranks in threads included: Gpu/cuda_ranks.*),
#   3. compute-sanitizer memcheck and racecheck on the CUDA backend tests,
#   4. benchmarks/gpu_populations.sh (neuron-steps/s, N = 1e5 ... 1e8),
#   5. benchmarks/gpu_network.sh (Brunel's model A, and N = 1e4 ... 1e6 with K = 1e3 and 1e4),
#   6. benchmarks/sweep_fI.sh (a packed sweep of 1000 points against 1000 separate runs).
# Logs go to OUT (default gpu-logs/). The steps go on after a failure; the exit code is the
# number of failed steps.
#
#   OUT=$OUT tools/gpu-check.sh [BUNDLE_DIR]      (BUNDLE_DIR default .gpu)
set -uo pipefail
bundle=${1:-.gpu}
out=${OUT:-gpu-logs}
mkdir -p "$out"
export LD_LIBRARY_PATH="$bundle/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin=$bundle/bundle/bin
failed=0
step() {  # step NAME COMMAND...: runs it with a time limit, logs to $out/NAME.log
  local name=$1
  shift
  echo "== $name: $*" | tee -a "$out/summary.txt"
  if timeout 900 "$@" >"$out/$name.log" 2>&1; then
    echo "   ok" | tee -a "$out/summary.txt"
  else
    echo "   FAILED (exit $?)" | tee -a "$out/summary.txt"
    failed=$((failed + 1))
  fi
}
# The /cuda instances and tests/gpu need no source tree; the other tests read files by the
# build machine's paths and run in CI instead.
gpu_filter='*/cuda'
step device nvidia-smi
step info "$bin/spikesim" info
step gpu_tests "$bin/spikesim_tests" --gtest_filter="$gpu_filter" --gtest_output="xml:$out/gpu_tests.xml"
if command -v compute-sanitizer >/dev/null; then
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 \
    "$bin/spikesim_tests" --gtest_filter='Gpu/cuda_backend.*:Gpu/cuda_ranks.*'
  step racecheck compute-sanitizer --tool racecheck --error-exitcode 1 \
    "$bin/spikesim_tests" --gtest_filter='Gpu/cuda_backend.inputs_traces*:Gpu/cuda_backend.spike_buffer*'
  # The network kernels' shared memory: Floyd's hash tables, the delivery's block count, the
  # population kernel with synaptic input.
  step racecheck_network compute-sanitizer --tool racecheck --error-exitcode 1 \
    "$bin/spikesim_tests" --gtest_filter='Gpu/cuda_backend.exp_synapses*'
fi
step bench benchmarks/gpu_populations.sh "$bin/spikesim" "$out/gpu_populations.jsonl"
step bench_network benchmarks/gpu_network.sh "$bin/spikesim" "$out/gpu_network.jsonl"
# A packed f-I sweep of 1000 points against --pack 1 and against 1000 separate runs (these need
# python3 with h5py to take the points' configs out of the packed file).
step bench_sweep env BACKEND=cuda VARIANTS="packed pack1" KEEP=1 WORK="$out/sweep_fI" \
  benchmarks/sweep_fI.sh "$bin/spikesim" "$out/sweep_fI.jsonl"
step bench_sweep_separate env BACKEND=cuda VARIANTS="separate" WORK="$out/sweep_fI" \
  benchmarks/sweep_fI.sh "$bin/spikesim" "$out/sweep_fI.jsonl"
echo "failed steps: $failed" | tee -a "$out/summary.txt"
exit "$failed"
