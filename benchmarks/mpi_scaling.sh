#!/usr/bin/env bash
# A network spread over MPI ranks on one machine (CPU backend, one thread per rank): strong
# scaling (Brunel's model A, 12 500 neurons, on 1 and 2 ranks) and weak scaling (6 250 neurons per
# rank, in-degrees fixed), with the exchange time and bytes per interval that `spikesim run`
# reports. Writes JSON lines (docs/scaling.md reads them).
#
#   benchmarks/mpi_scaling.sh build/spikesim results/mpi_scaling_DATE.jsonl [TSTOP_MS] [RANKS...]
set -euo pipefail
exe=$1
out=$2
tstop=${3:-500}
shift $(($# < 3 ? $# : 3))
ranks=("$@")
((${#ranks[@]})) || ranks=(1 2)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
machine=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')

measure() {  # kind ranks exc inh
  local kind=$1 n=$2 exc=$3 inh=$4
  local log=$work/log
  mpirun --oversubscribe --bind-to none -np "$n" "$exe" run "$root/examples/brunel.toml" -q \
    --backend cpu --threads 1 -o "$work/out.h5" --set run.tstop="$tstop" \
    --set population.exc.size="$exc" --set population.inh.size="$inh" \
    --set analysis.t_start=100.0 >"$log"
  python3 - "$log" "$kind" "$n" "$exc" "$inh" "$tstop" "$commit" "$machine" <<'PY'
import json, os, re, sys, time
log, kind, n, exc, inh, tstop, commit, machine = sys.argv[1:]
text = open(log).read()
wall = float(re.search(r"wall ([0-9.e+-]+) s", text).group(1))
summary = text.split("\nsteps ")[0]  # the run's table, not the analysis window's
spikes = sum(int(m.group(2)) for m in re.finditer(r"^(exc|inh)\s+\d+\s+(\d+)\s", summary, re.M))
rec = {"benchmark": "mpi_scaling", "scaling": kind, "ranks": int(n),
       "neurons": int(exc) + int(inh), "tstop_ms": float(tstop), "wall_s": wall,
       "real_time_factor": wall / (float(tstop) / 1000)}
m = re.search(r"ranks \d+: (\d+) exchanges, ([0-9.e+-]+) s in them.*the quickest ([0-9.e+-]+) us; "
              r"per exchange (\d+) bytes sent by all ranks, (\d+) received by each"
              r"(?:; (\d+) exceeded)?", text)
if m:
    rec.update(exchanges=int(m.group(1)), exchange_s=float(m.group(2)),
               exchange_us_per_interval=1e6 * float(m.group(2)) / int(m.group(1)),
               quickest_exchange_us=float(m.group(3)), bytes_sent_per_exchange=int(m.group(4)),
               bytes_received_per_rank_per_exchange=int(m.group(5)))
    if m.group(6):
        rec["exchanges_over_capacity"] = int(m.group(6))
rec["spikes"] = spikes
if "exchanges" in rec:
    rec["spikes_per_exchange"] = spikes / rec["exchanges"]
rec.update(machine=machine, cores=os.cpu_count(), load_avg_1min=os.getloadavg()[0],
           commit=commit, date_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
print(json.dumps(rec))
PY
}

{
  for n in "${ranks[@]}"; do measure strong "$n" 10000 2500; done
  for n in "${ranks[@]}"; do measure weak "$n" $((5000 * n)) $((1250 * n)); done
} | tee -a "$out"
