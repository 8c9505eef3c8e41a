#!/usr/bin/env bash
# Time and peak memory of `spikesim analyze` on a file of ~1e8 spikes: 1e5 LIF neurons (Brunel's
# neuron, examples/lif_noise.toml) at ~100 Hz (mu = 40 mV, sigma = 5 mV) for 10 s at dt = 0.1 ms.
# The file is made once with `spikesim run` (which analyses it too, as every run does) and kept
# in WORK_DIR; then `analyze` reads it back in chunks and rewrites /analysis. Prints one JSON
# object: spikes, file size, wall and CPU time, peak RSS (from /usr/bin/time -v), spikes per
# second, and the machine, commit, date and load average (the figure is only meaningful on a
# quiet machine).
#
#   benchmarks/analysis_bench.sh [SPIKESIM] [OUT]     (WORK_DIR: where the ~1 GB file goes)
set -euo pipefail
exe=$(realpath "${1:-build/spikesim}")
out=${2:-/dev/stdout}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK_DIR:-${TMPDIR:-/tmp}/spikesim_analysis_bench}
mkdir -p "$work"
file=$work/lif_1e8_spikes.h5
sets=(--set population.lif.size=100000 --set run.tstop=10000 --set population.lif.input.I=40.0
      --set population.lif.record.traces=[] --set analysis.t_start=0)
if [[ ! -f $file ]]; then
  /usr/bin/time -v "$exe" run "$root/examples/lif_noise.toml" -o "$file" "${sets[@]}" --quiet \
    >"$work/run.log" 2>"$work/run.time"
fi
/usr/bin/time -v "$exe" analyze "$file" >"$work/analyze.log" 2>"$work/analyze.time"

field() { grep -m1 "$1" "$2" | sed 's/.*: //'; }
# "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:12.34"
wall=$(field 'Elapsed (wall clock)' "$work/analyze.time" |
  awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
user=$(field 'User time' "$work/analyze.time")
sys=$(field 'System time' "$work/analyze.time")
rss_kb=$(field 'Maximum resident set size' "$work/analyze.time")
spikes=$(awk '$1 == "lif" { print $3; exit }' "$work/analyze.log")
bytes=$(stat -c %s "$file")
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
host=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
load=$(cut -d' ' -f1 /proc/loadavg)
printf '{"benchmark": "analysis", "command": "spikesim analyze FILE", "neurons": 100000, "spikes": %s, "file_bytes": %s, "wall_s": %s, "user_s": %s, "sys_s": %s, "peak_rss_mib": %.1f, "spikes_per_s": %.4g, "machine": "%s", "cores": %s, "load_avg_1min": %s, "commit": "%s", "date_utc": "%s"}\n' \
  "$spikes" "$bytes" "$wall" "$user" "$sys" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" \
  "$(awk -v n="$spikes" -v w="$wall" 'BEGIN { print n / w }')" "$host" "$(nproc)" "$load" "$commit" \
  "$(date -u +%FT%TZ)" >"$out"
