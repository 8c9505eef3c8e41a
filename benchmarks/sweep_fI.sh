#!/usr/bin/env bash
# The f-I curve of the reference EIF neuron at 1000 currents (5 to 9.995 nA) x 1000 neurons for
# 1 s (dt 0.1 ms, white noise sigma = 2 mV, as examples/sweep_fI.toml): 10^10 neuron-steps, run
#   packed    as one `spikesim sweep` (points packed side by side, as many as fit),
#   pack1     as one `spikesim sweep --pack 1` (one simulation and one file per point, one process),
#   separate  as 1000 `spikesim run` processes, one per point, from the points' own configs.
# Appends one JSON object per variant to OUT: wall time, neuron-steps per second, files and bytes
# written, peak memory, machine load before and after, backend, device, the repository's commit
# (+uncommitted when its working tree differs) and the git sha the binary was built from (from
# the output file; "unknown" for a build outside a git checkout), date, command.
#
#   benchmarks/sweep_fI.sh [SPIKESIM] [OUT]
#
# Environment: BACKEND (cpu | cuda | auto, default cpu), THREADS (default: all cores), POINTS
# (default 1000), NEURONS (1000), TSTOP (ms, 1000), VARIANTS (default "packed pack1 separate"),
# WORK (scratch directory, default a new one under /tmp; removed at the end unless KEEP=1), NOTE
# (free text recorded with each result, e.g. what the working tree holds besides the commit).
# The separate runs need python3 with h5py (to take the points' configs out of the packed files);
# the first, middle and last point of the separate runs are checked to equal the packed ones.
set -euo pipefail
exe=$(realpath "${1:-build/spikesim}")
out=${2:-benchmarks/results/sweep_fI_$(date -u +%F).jsonl}
backend=${BACKEND:-cpu}
threads=${THREADS:-$(nproc)}
points=${POINTS:-1000}
neurons=${NEURONS:-1000}
tstop=${TSTOP:-1000}
variants=${VARIANTS:-packed pack1 separate}
work=${WORK:-$(mktemp -d /tmp/spikesim_sweep_fI.XXXXXX)}
mkdir -p "$work" "$(dirname "$out")"
out=$(realpath "$out")

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then commit="$commit+uncommitted"; fi
machine=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
step=$(awk -v n="$points" 'BEGIN { printf "%.15g", 5.0 / n }')
to=$(awk -v n="$points" -v s="$step" 'BEGIN { printf "%.15g", 5.0 + (n - 1) * s }')

cat >"$work/sweep.toml" <<EOF
[run]
dt = 0.1
tstop = $tstop.0
random_seed = 1
precision = "double"

[population.eif]
size = $neurons
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, V_peak = -30.0, V_reset = -70.0, t_ref = 2.0 }
init = { V = { uniform = [-70.0, -50.0] } }
input = { I = 5.0, sigma = 2.0 }

[sweep]
"population.eif.input.I" = { from = 5.0, to = $to, step = $step }
EOF
n_points=$("$exe" sweep --count "$work/sweep.toml")
[[ "$n_points" == "$points" ]] || { echo "expected $points points, got $n_points" >&2; exit 1; }
neuron_steps=$(awk -v p="$points" -v n="$neurons" -v t="$tstop" 'BEGIN { printf "%.0f", p * n * t / 0.1 }')

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }

# record VARIANT WALL DIR PEAK_KIB COMMAND LOAD_BEFORE LOAD_AFTER
record() {
  local files bytes device
  files=$(find "$3" -name '*.h5' | wc -l)
  bytes=$(find "$3" -name '*.h5' -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
  device=$(python3 - "$3" <<'EOF' 2>/dev/null || echo "unknown unknown"
import glob, sys, h5py
f = h5py.File(sorted(glob.glob(sys.argv[1] + "/*.h5"))[0], "r")
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
print(text(f.attrs["git_sha"]), text(f.attrs["device"]))
EOF
)
  binary_sha=${device%% *}
  device=${device#* }
  printf '{"benchmark": "sweep_fI", "variant": "%s", "points": %s, "neurons_per_point": %s, "tstop_ms": %s, "dt_ms": 0.1, "neuron_steps": %s, "wall_s": %.3f, "neuron_steps_per_s": %.4g, "files": %s, "bytes": %s, "peak_rss_kib": %s, "backend": "%s", "device": "%s", "threads": %s, "machine": "%s", "cores": %s, "load_before": "%s", "load_after": "%s", "commit": "%s", "binary_git_sha": "%s", "date_utc": "%s", "command": "%s", "note": "%s"}\n' \
    "$1" "$points" "$neurons" "$tstop" "$neuron_steps" "$2" "$(awk -v a="$neuron_steps" -v b="$2" 'BEGIN { print a / b }')" \
    "$files" "$bytes" "$4" "$backend" "$device" "$threads" "$machine" "$(nproc)" "$6" "$7" "$commit" "$binary_sha" \
    "$(date -u +%FT%TZ)" "$5" "${NOTE:-}" | tee -a "$out"
}

timed() {  # runs "$@" under /usr/bin/time; sets wall and peak (KiB)
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%M' -o "$work/time" "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  t1=$(now)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  peak=$(tail -1 "$work/time")
}

for v in $variants; do
  case $v in
    packed | pack1)
      dir="$work/$v"
      rm -rf "$dir"
      extra=()
      [[ $v == pack1 ]] && extra=(--pack 1)
      cmd=("$exe" sweep "$work/sweep.toml" -o "$dir" --backend "$backend" --threads "$threads" -q "${extra[@]}")
      before=$(load)
      timed "${cmd[@]}"
      record "$v" "$wall" "$dir" "$peak" "spikesim sweep sweep.toml -o $v --backend $backend --threads $threads -q ${extra[*]}" "$before" "$(load)"
      ;;
    separate)
      [[ -d "$work/packed" ]] || { echo "the separate runs take their configs from the packed variant: run it first" >&2; exit 1; }
      dir="$work/separate"
      rm -rf "$dir" "$work/configs"
      mkdir -p "$dir" "$work/configs"
      python3 - "$work/packed" "$work/configs" <<'EOF'
import glob, os, sys, h5py
for path in sorted(glob.glob(sys.argv[1] + "/*.h5")):
    s = h5py.File(path, "r")["sweep"]
    for k, text in zip(s["point"][:], s["config"].asstr()[:]):
        with open(os.path.join(sys.argv[2], f"point_{k:06d}.toml"), "w") as fh:
            fh.write(text)
EOF
      before=$(load)
      t0=$(now)
      peak=0
      for cfg in "$work"/configs/point_*.toml; do
        name=$(basename "$cfg" .toml)
        /usr/bin/time -f '%M' -o "$work/time" "$exe" run "$cfg" -o "$dir/$name.h5" --backend "$backend" \
          --threads "$threads" -q >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
        p=$(tail -1 "$work/time")
        (( p > peak )) && peak=$p
      done
      t1=$(now)
      wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
      record separate "$wall" "$dir" "$peak" "for each point k: spikesim run point_k.toml -o point_k.h5 --backend $backend --threads $threads -q" "$before" "$(load)"
      python3 - "$work/packed" "$dir" "$points" <<'EOF'
import glob, sys, h5py, numpy as np
packed = sorted(glob.glob(sys.argv[1] + "/*.h5"))
n = int(sys.argv[3])
for k in (0, n // 2, n - 1):
    for path in packed:
        f = h5py.File(path, "r")
        if f"spikes/eif@{k}" in f:
            a = f[f"spikes/eif@{k}"]
    b = h5py.File(f"{sys.argv[2]}/point_{k:06d}.h5", "r")["spikes/eif"]
    same = np.array_equal(a["timestamps"][:], b["timestamps"][:]) and np.array_equal(a["node_ids"][:], b["node_ids"][:])
    print(f"point {k}: {b['timestamps'].shape[0]} spikes, packed == alone: {same}", file=sys.stderr)
    if not same:
        sys.exit(1)
EOF
      ;;
    *) echo "unknown variant '$v' (packed, pack1, separate)" >&2; exit 2 ;;
  esac
done
[[ "${KEEP:-}" == 1 ]] || rm -rf "$work"
