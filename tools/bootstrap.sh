#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for spikesim, builds it, then either runs the default
# experiment (`run`) or the whole test suite (`test`). Installs only what is missing.
#
#   bash tools/bootstrap.sh run    # install, build, run the built-in experiment
#   bash tools/bootstrap.sh test   # install, build, run every test (GPU tests skip without a GPU),
#                                  # then the GPU tests emulated on the CPU (below)
#
# Environment: BUILD_DIR (default build), JOBS (default: all cores), CMAKE_ARGS (extra flags),
# SPIKESIM_CHIPSTAR_CACHE_DIR (where the emulated build keeps its compiled kernels; no capitals),
# CUDA_ON_CPU_KIT (the emulation kit, default ../shared/tools/cuda-on-cpu beside the clone).
set -euo pipefail
mode=${1:-run}
case "$mode" in run | test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

debs=(cmake g++ make pkg-config libhdf5-dev hdf5-tools librandom123-dev libtomlplusplus-dev
      libcli11-dev libgtest-dev python3 python3-numpy python3-h5py python3-matplotlib
      python3-scipy python3-pip python3-venv python3-dev python3-tqdm python3-pytest
      python3-pandas python3-nbclient python3-nbformat python3-ipykernel
      libopenmpi-dev openmpi-bin openssh-client strace)
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The test suite's Python checks (tests/cli/*.py: the PNGs of spikesim-plot, Elephant, SONATA)
# need h5py, NumPy and Matplotlib in the `python3` on PATH. The Debian
# packages above serve /usr/bin/python3; another python3 first on PATH (pyenv, a virtualenv) gets
# them from pip, without -U so that a NumPy already there (pinned for other tools) is kept; a pip
# of an externally managed Python (PEP 668) needs --break-system-packages. Not fatal: the plot
# test then reports as skipped.
if ! python3 -c "import h5py, numpy, matplotlib" 2>/dev/null; then
  pip_flags=(--quiet)
  # PEP 668: the marker in the stdlib directory, outside a virtual environment.
  python3 -c "import os, sys, sysconfig; sys.exit(sys.prefix != sys.base_prefix or not os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))" &&
    pip_flags+=(--break-system-packages)
  echo "installing h5py numpy matplotlib for $(command -v python3) with pip"
  python3 -m pip install "${pip_flags[@]}" h5py numpy matplotlib ||
    echo "bootstrap: could not install h5py, numpy and matplotlib with pip; the Python checks of the test suite will be skipped"
fi

# nvcc, where installed, is found on PATH or in the toolkit's default place: the CUDA backend is
# then compiled too (CMake's SPIKESIM_CUDA=AUTO).
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="$PATH:/usr/local/cuda/bin"

# Open MPI (installed above) is found by CMake's SPIKESIM_MPI=AUTO: `mpirun -np N spikesim run`
# then spreads a network over N ranks, and the test suite checks it (mpi_ranks). Open MPI's
# mpirun looks for an ssh or rsh launch agent at start even on one node: hence openssh-client.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"

# The Python package (docs/python.md) into the virtual environment .venv at the root of the clone:
# `import spikesim` with .venv/bin/python, and the programs .venv/bin/spikesim and
# .venv/bin/spikesim-plot. Made with --system-site-packages, so that it uses the NumPy, h5py,
# Matplotlib, SciPy, pandas, tqdm, pytest and Jupyter packages installed above (NumPy and SciPy
# pinned to those versions, so that pip replaces none of them); pip adds nanobind and
# scikit-build-core, which build the package with CMake in $build/wheel (kept, so that a second
# bootstrap rebuilds only what changed), and Neo for Result.to_neo().
py_venv=$root/.venv
pins=$(python3 -c "import numpy, scipy; print(f'numpy=={numpy.__version__} scipy=={scipy.__version__}')" 2>/dev/null || true)
[[ -x $py_venv/bin/python ]] || python3 -m venv --system-site-packages "$py_venv"
# shellcheck disable=SC2086  # the pins are two words
"$py_venv/bin/python" -m pip install --quiet $pins "scikit-build-core>=0.10" "nanobind>=2.4" \
  tqdm pytest nbclient nbformat ipykernel neo
# shellcheck disable=SC2086  # the pins are two words
CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$py_venv/bin/python" -m pip install --quiet $pins \
  --no-build-isolation -Cbuild-dir="$build/wheel" "$root"
echo "bootstrap: the Python package is installed in $py_venv (source $py_venv/bin/activate)"

# The test suite's packages from PyPI, into a virtual environment in the build directory
# (test-venv), since an externally managed Python (PEP 668) refuses pip outside one: Elephant,
# for the cross-check of /analysis (tests/cli/elephant_check.py), and libsonata, SONATA's reader,
# for the check that it reads our files (tests/cli/sonata_check.py). Made with
# --system-site-packages, so that it sees the h5py and NumPy of `python3`; NumPy and SciPy pinned
# to those versions so that none is replaced (Elephant 1.2 needs NumPy 2, which Debian's h5py and
# matplotlib cannot load). Allowed to fail: the checks then report as skipped.
venv=$build/test-venv
if [[ $mode == test ]] && ! "$venv/bin/python" -c "import elephant, libsonata" 2>/dev/null; then
  pins=$(python3 -c "import numpy, scipy; print(f'numpy=={numpy.__version__} scipy=={scipy.__version__}')" 2>/dev/null || true)
  # shellcheck disable=SC2086  # the pins are two words
  { python3 -m venv --system-site-packages "$venv" &&
    "$venv/bin/python" -m pip install --quiet "elephant<1.2" libsonata $pins; } ||
    echo "bootstrap: could not install elephant and libsonata with pip into $venv; their checks will be skipped"
fi

# The GPU tests emulated on the CPU (docs/validation.md): the CUDA backend compiled by chipStar's
# cucc in a build folder of its own, its */cuda and Gpu/* tests run by Intel's OpenCL CPU runtime
# (label gpu-emulated). The kit is the folder shared/tools/cuda-on-cpu beside the clone (CI has a
# read-only copy there); its setup.sh installs chipStar under /opt and writes nothing into it.
# Called in an || list, where `set -e` does not act: every step checks its own status.
emulated_gpu_tests() {
  local kit build_emu t0 rc=0
  kit=${CUDA_ON_CPU_KIT:-$(cd "$root/.." && pwd)/shared/tools/cuda-on-cpu}
  build_emu=${build}-emulated
  echo
  if [[ ! -f $kit/setup.sh ]]; then
    echo "bootstrap: no $kit/setup.sh: the emulated GPU tests did NOT run (the CUDA kernels were"
    echo "bootstrap: only compiled, if nvcc was found; nothing checked that they compute right)"
    return 0
  fi
  local cache_arg=()
  [[ -n ${SPIKESIM_CHIPSTAR_CACHE_DIR:-} ]] &&
    cache_arg=(-DSPIKESIM_CHIPSTAR_CACHE_DIR="$SPIKESIM_CHIPSTAR_CACHE_DIR")
  echo "== emulated GPU tests: chipStar on the CPU's OpenCL device ($kit)"
  t0=$SECONDS
  $sudo bash "$kit/setup.sh" || return 1
  echo "bootstrap: emulation kit set up in $((SECONDS - t0)) s"
  t0=$SECONDS
  # shellcheck disable=SC2086  # CMAKE_ARGS is a list of flags
  cmake -S "$root" -B "$build_emu" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} -DSPIKESIM_CUDA=OFF \
    -DSPIKESIM_CUDA_EMULATION=ON "${cache_arg[@]}" || return 1
  cmake --build "$build_emu" -j "$jobs" --target spikesim_tests_emulated || return 1
  echo "bootstrap: emulated build in $((SECONDS - t0)) s"
  t0=$SECONDS
  ctest --test-dir "$build_emu" -L gpu-emulated --output-on-failure -j "$jobs" || rc=$?
  echo "bootstrap: emulated GPU tests ran in $((SECONDS - t0)) s"
  echo "bootstrap: NOTE: the emulated GPU tests check the kernels' logic and their bitwise identity"
  echo "bootstrap: with the CPU backend on a CPU OpenCL device. They are NOT a GPU verification:"
  echo "bootstrap: warps run in lock-step, partial warp masks act as full masks, the memory model is"
  echo "bootstrap: OpenCL's; speed, occupancy and the NVIDIA toolchain are not checked at all."
  return $rc
}

if [[ $mode == run ]]; then
  cd "$root"
  "$build/spikesim" run
else
  rc=0
  ctest --test-dir "$build" --output-on-failure -j "$jobs" || rc=$?
  # The Python package's tests (python/tests), the tutorial notebook among them.
  (cd "$root" && SPIKESIM_EXE="$build/spikesim" "$py_venv/bin/python" -m pytest -q python/tests) || rc=$?
  emulated_gpu_tests || rc=$?
  exit $rc
fi
