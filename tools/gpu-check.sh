#!/usr/bin/env bash
# Every GPU check of spikesim in one device call with a hard deadline, for a machine with a GPU
# and a bundle made by ../shared/tools/gpu-bundle.sh (run from the repository root):
#
#   OUT=$OUT tools/gpu-check.sh [BUNDLE_DIR [BUDGET_S]]      (defaults: .gpu, 520)
#
# Steps, cheapest information first; each gets min(its own limit, time left - 15 s), a step that
# no longer fits is recorded as skipped, and the last one (the report) is always reached:
#   env           nvidia-smi (clocks, driver, MIG, ECC), glibc, CPU flags, ldd of the bundle,
#                 `spikesim info`
#   smoke         a 1e5-neuron benchmark on the device
#   gpu_tests     every */cuda and Gpu/* test in one process, XML to gpu_tests.xml
#   failed_alone  each failed test again alone (up to 6), with CUDA_LAUNCH_BLOCKING=1 and
#                 SPIKESIM_CUDA_SYNC=1, then under compute-sanitizer memcheck
#   bench_populations  EIF float and double, LIF float at N = 1e6, 1e7, 1e8
#   bench_long_chunk   EIF float at 1e6 in chunks of 16 steps (the CPU's bound of 2^24
#                 neuron-steps), the CUDA backend's default (2^28: 268 steps) and 1000
#   bench_model_a Brunel's model A in float and double (benchmarks/gpu_network.sh)
#   ncu           one EIF-float launch: instructions, issue-slot use, top warp stall reasons
#   memcheck      the spike-buffer, inputs/traces, Brunel and connectivity tests
#   racecheck, synccheck   the spike-buffer test
#   initcheck     the CUDA backend over ranks (trace columns of other ranks' neurons)
#   report        summary.txt and gpu-check.json
# What comes back, under OUT (at most 6 files; summary, JSON and logs are rewritten after every
# step, so a run killed at its limit still returns them): summary.txt, gpu-check.json,
# gpu_tests.xml, bench.jsonl, ncu.txt, logs.tgz (every step's log). SPIKESIM_REQUIRE_GPU=1 is
# set: without a usable device every GPU test fails instead of skipping, and so does every GPU
# step. Needs bash, coreutils, awk, sed, tar; nothing else (no python3).
# The exit code is the number of steps that failed.
set -uo pipefail
bundle=${1:-.gpu}
budget=${2:-520}
bundle=$(cd "$bundle" 2>/dev/null && pwd || echo "$bundle")
out=${OUT:-gpu-logs}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/{summary.txt,gpu-check.json,gpu_tests.xml,bench.jsonl,ncu.txt,logs.tgz}
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
logs=$work/logs
mkdir -p "$logs"
bin=$bundle/bundle/bin
[[ -d $bin ]] || bin=$bundle/bin # a plain directory of programs
bin=$(cd "$bin" 2>/dev/null && pwd || echo "$bin")
export LD_LIBRARY_PATH="$bundle/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[[ -d /usr/local/cuda/bin ]] && export PATH="$PATH:/usr/local/cuda/bin"
export SPIKESIM_REQUIRE_GPU=1
spikesim=$bin/spikesim
tests=$bin/spikesim_tests
reserve=15 # seconds kept for the report
t0=$(date +%s%N)
deadline=$((t0 / 1000000000 + budget))

names=() status=() walls=() limits=() notes=()
failed_tests=()

elapsed() { awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
left() { echo $((deadline - $(date +%s))); }

json_str() { # a JSON string literal of $1 (pure bash: the report runs after every step)
  local v=${1//\\/\\\\}
  v=${v//\"/\\\"}
  v=${v//$'\n'/\\n}
  v=${v//$'\t'/ }
  v=${v//$'\r'/}
  printf '"%s"' "$v"
}

# limited SECONDS LOG COMMAND...: runs COMMAND with at most SECONDS (and never past the deadline
# minus the reserve), its output appended to LOG. Returns its exit code; 124 when stopped.
limited() {
  local t=$1 log=$2
  shift 2
  local room=$(($(left) - reserve))
  ((room < t)) && t=$room
  if ((t < 3)); then
    echo "## not run, no time left: $*" >>"$log"
    return 124
  fi
  echo "## [$(elapsed) s] (limit ${t} s) $*" >>"$log"
  timeout -k 5 "$t" "$@" >>"$log" 2>&1
  local rc=$?
  echo "## exit $rc" >>"$log"
  return $rc
}

# step NAME LIMIT FUNCTION: runs FUNCTION (which sets `note` and returns 0 for passed) unless
# fewer than 5 s are left for it; records status and wall time, then rewrites the report.
step() {
  local name=$1 limit=$2 fn=$3
  local room=$(($(left) - reserve)) st s0 rc
  note=""
  s0=$(date +%s%N)
  if ((room < 5)); then
    st=skipped
    note="no time left (${room} s)"
  else
    ((room < limit)) && limit=$room
    step_end=$(($(date +%s) + limit))
    "$fn" "$logs/$name.log"
    rc=$?
    if ((rc == 0)); then st=passed; else st=failed; fi
    ((rc == 124)) && note="${note:+$note; }stopped at its time limit"
    # A failure without a note: the last line its log has from the program.
    [[ $st == failed && -z $note && -s $logs/$name.log ]] &&
      note=$(grep -v '^## ' "$logs/$name.log" | grep -v '^[[:space:]]*$' | tail -1 | cut -c1-240)
    case $name in
      env) facts_env ;;
      gpu_tests) facts_tests ;;
      ncu) facts_ncu ;;
      bench_*) facts_bench ;;
    esac
  fi
  names+=("$name")
  status+=("$st")
  limits+=("$limit")
  walls+=("$(awk -v a="$s0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')")
  notes+=("$note")
  printf '%-18s %-8s %6s s  %s\n' "$name" "$st" "${walls[-1]}" "$note"
  report
}

# Seconds left to the running step (its own limit), capped by `cap`.
step_left() {
  local t=$((step_end - $(date +%s)))
  ((t > $1)) && t=$1
  echo "$t"
}

# ---- the steps

do_env() {
  local log=$1 rc=0
  {
    echo "## date: $(date -u +%FT%TZ)"
    echo "## uname: $(uname -a)"
    echo "## glibc: $(ldd --version 2>&1 | head -1)"
    echo "## CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores"
    echo "## CPU flags (x86-64-v3 needs avx2 fma bmi2 movbe):"
    grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx|avx2|fma|bmi2|movbe|avx512f' | tr '\n' ' '
    echo
    echo "## tools: nvcc=$(command -v nvcc) ncu=$(command -v ncu) compute-sanitizer=$(command -v compute-sanitizer) python3=$(command -v python3)"
  } >>"$log" 2>&1
  for f in avx2 fma bmi2; do
    grep -m1 '^flags' /proc/cpuinfo | grep -qw "$f" || {
      note="${note:+$note; }CPU lacks $f (bundle built for x86-64-v3)"
      rc=1
    }
  done
  if command -v nvidia-smi >/dev/null; then
    limited 20 "$log" nvidia-smi
    limited 20 "$log" nvidia-smi -q -d CLOCK,ECC,PERFORMANCE,POWER,MEMORY,COMPUTE
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,mig.mode.current,ecc.mode.current,memory.total \
      --format=csv,noheader >"$work/smi.csv" 2>>"$log" || rc=1
    cat "$work/smi.csv" >>"$log"
  else
    echo "## nvidia-smi: not found" >>"$log"
    note="${note:+$note; }no nvidia-smi"
    rc=1
  fi
  for f in "$bin"/*; do
    echo "## ldd $f" >>"$log"
    ldd "$f" >>"$log" 2>&1
    if ldd "$f" 2>&1 | grep -q 'not found'; then
      note="${note:+$note; }$(basename "$f"): a library is missing"
      rc=1
    fi
  done
  limited 20 "$work/info.txt" "$spikesim" info || rc=1
  cat "$work/info.txt" >>"$log"
  if grep -q 'none usable' "$work/info.txt"; then
    note="${note:+$note; }$(grep -m1 'none usable' "$work/info.txt" | sed 's/.*none usable: //')"
    rc=1
  fi
  return $rc
}

do_smoke() {
  limited 60 "$1" "$spikesim" bench --backend cuda --model eif --precision float --n 1e5 --tstop 100 ||
    return $?
  local r
  r=$(grep -o '"neuron_steps_per_s": [0-9.e+]*' "$1" | tail -1 | awk '{ print $2 }')
  note="${r:-?} neuron-steps/s"
}

test_filter='*/cuda:Gpu/*'

do_gpu_tests() {
  limited "$(step_left 600)" "$1" "$tests" --gtest_filter="$test_filter" \
    --gtest_output="xml:$out/gpu_tests.xml"
  local rc=$?
  # "[  FAILED  ] Gpu/cuda_backend.x/cuda, where GetParam() = ... (12 ms)": the test names.
  mapfile -t failed_tests < <(sed -n 's/^\[  FAILED  \] \([^ ,]*\.[^ ,]*\).*/\1/p' "$1" | sort -u)
  note="$(test_counts | paste -sd ' ')"
  return $rc
}

# passed=N failed=N skipped=N from the XML (or nothing when it was not written).
test_counts() {
  [[ -s $out/gpu_tests.xml ]] || return 0
  awk '
    /<testcase / { n++; if ($0 ~ /result="skipped"/) s++ }
    /<failure/ && !seen[n]++ { f++ }
    END { printf "passed=%d\nfailed=%d\nskipped=%d\n", n - f - s, f, s }' "$out/gpu_tests.xml"
}

# Each failed test alone (up to 6): with every launch synchronised, then under memcheck.
do_failed_alone() {
  local log=$1 k=0 name still=0 alone=0 dirty=0
  if ((${#failed_tests[@]} == 0)); then
    note="no failed test"
    return 0
  fi
  for name in "${failed_tests[@]:0:6}"; do
    k=$((k + 1))
    if CUDA_LAUNCH_BLOCKING=1 SPIKESIM_CUDA_SYNC=1 limited "$(step_left 40)" "$log" \
      "$tests" --gtest_filter="$name"; then
      alone=$((alone + 1))
      echo "## $name passes alone" >>"$log"
    else
      still=$((still + 1))
    fi
    if command -v compute-sanitizer >/dev/null; then
      limited "$(step_left 60)" "$log" compute-sanitizer --tool memcheck --error-exitcode 99 \
        "$tests" --gtest_filter="$name"
      [[ $? == 99 ]] && dirty=$((dirty + 1)) && echo "## $name: memcheck errors" >>"$log"
    fi
  done
  note="$still of $k still fail alone ($alone pass alone); "
  command -v compute-sanitizer >/dev/null && note+="memcheck errors in $dirty" ||
    note+="no compute-sanitizer"
  ((still == 0))
}

# bench SECONDS LOG VARS...: benchmarks/gpu_populations.sh with VARS, lines to bench.jsonl.
bench_populations() {
  local t=$1 log=$2
  shift 2
  local part=$work/bench.part rc
  : >"$part"
  limited "$t" "$log" env "$@" CPU=0 "$root/benchmarks/gpu_populations.sh" "$spikesim" "$part"
  rc=$?
  grep '"benchmark"' "$part" >>"$out/bench.jsonl"
  sed 's/^/## result: /' "$part" >>"$log"
  return $rc
}

do_bench_populations() {
  bench_populations "$(step_left 300)" "$1" SIZES="1e6 1e7 1e8" \
    CASES="eif:float eif:double lif:float" CHUNKS=auto
}

do_bench_long_chunk() {
  bench_populations "$(step_left 120)" "$1" SIZES=1e6 CASES=eif:float CHUNKS="16 auto 1000"
}

do_bench_model_a() {
  local part=$work/network.part rc
  : >"$part"
  WORK_DIR=$work/network SCALING=0 limited "$(step_left 120)" "$1" \
    "$root/benchmarks/gpu_network.sh" "$spikesim" "$part"
  rc=$?
  grep '"case"' "$part" >>"$out/bench.jsonl"
  sed 's/^/## result: /' "$part" >>"$1"
  return $rc
}

# One launch of 100 steps of 10^6 EIF neurons in float (one chunk, no speculative launch).
ncu_n=1000000
ncu_steps=100
do_ncu() {
  command -v ncu >/dev/null || {
    note="ncu not on PATH"
    return 1
  }
  limited "$(step_left 180)" "$out/ncu.txt" ncu --clock-control none --target-processes all \
    -k regex:advance_population_kernel -c 1 --print-units base \
    --section SchedulerStats --section WarpStateStats --section LaunchStats \
    --metrics smsp__inst_executed.sum,smsp__thread_inst_executed.sum,smsp__issue_active.avg.pct_of_peak_sustained_active,gpu__time_duration.sum,regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio \
    "$spikesim" bench --backend cuda --model eif --precision float --n "$ncu_n" \
    --tstop $((ncu_steps / 10)) --set run.chunk_steps="$ncu_steps"
  local rc=$?
  cp "$out/ncu.txt" "$1"
  grep -q 'smsp__thread_inst_executed.sum' "$out/ncu.txt" || rc=1
  note="$(ncu_figures | paste -sd ' ')"
  return $rc
}

# The last value on the line of metric $1 in ncu.txt, commas removed.
ncu_metric() {
  [[ -s $out/ncu.txt ]] || return 0
  awk -v m="$1" '$1 == m { v = $NF } END { gsub(/,/, "", v); print v }' "$out/ncu.txt"
}

ncu_figures() {
  local thr
  thr=$(ncu_metric smsp__thread_inst_executed.sum)
  [[ -n $thr ]] || return 0
  echo "instructions_per_neuron_step=$(awk -v t="$thr" -v n="$ncu_n" -v s="$ncu_steps" 'BEGIN { printf "%.1f", t / (n * s) }')"
  echo "issue_active_pct=$(ncu_metric smsp__issue_active.avg.pct_of_peak_sustained_active)"
  echo "top_stalls=$(awk '$1 ~ /^smsp__average_warps_issue_stalled_.*_per_issue_active.ratio$/ {
      r = $1; sub(/^smsp__average_warps_issue_stalled_/, "", r); sub(/_per_issue_active.ratio$/, "", r)
      v = $NF; gsub(/,/, "", v); print v, r }' "$out/ncu.txt" | sort -gr | head -3 |
    awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 }')"
}

# sanitizer TOOL FILTER SECONDS LOG: compute-sanitizer on the tests of FILTER.
sanitizer() {
  local tool=$1 filter=$2 t=$3 log=$4
  command -v compute-sanitizer >/dev/null || {
    note="compute-sanitizer not on PATH"
    return 1
  }
  local from=0
  [[ -f $log ]] && from=$(wc -l <"$log")
  limited "$t" "$log" compute-sanitizer --tool "$tool" --error-exitcode 99 \
    "$tests" --gtest_filter="$filter"
  local rc=$?
  note="errors=$(tail -n +$((from + 1)) "$log" | sanitizer_errors -)"
  return $rc
}

# The errors a compute-sanitizer log reports, or "?" when it did not finish.
sanitizer_errors() {
  awk '
    /ERROR SUMMARY: [0-9]+ error/ { for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") e += $(i + 1); found = 1 }
    /RACECHECK SUMMARY:/ && !found { for (i = 1; i <= NF; i++) if ($i ~ /^\(?[0-9]+$/ && $(i + 1) ~ /^errors/) { v = $i; gsub(/\(/, "", v); e += v; found = 1 } }
    END { if (found) print e + 0; else print "?" }' "$1"
}

# The connectivity tests build up to 2e7 synapses, slow under memcheck: they run second, so that a
# time limit leaves the others' result.
do_memcheck() {
  local a b rc
  command -v compute-sanitizer >/dev/null || {
    note="compute-sanitizer not on PATH"
    return 1
  }
  sanitizer memcheck 'Gpu/cuda_backend.spike_buffer*:Gpu/cuda_backend.inputs_traces*:Gpu/cuda_backend.brunel*' \
    "$(step_left 90)" "$1"
  rc=$?
  a=${note#errors=}
  sanitizer memcheck 'Gpu/cuda_backend.connectivity*' "$(step_left 240)" "$1" || rc=$?
  b=${note#errors=}
  if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]]; then note="errors=$((a + b))"; else note="errors=?"; fi
  note+=" (spike buffer, inputs/traces, Brunel: $a; connectivity: $b)"
  return $rc
}

do_racecheck() { sanitizer racecheck 'Gpu/cuda_backend.spike_buffer*' "$(step_left 120)" "$1"; }
do_synccheck() { sanitizer synccheck 'Gpu/cuda_backend.spike_buffer*' "$(step_left 120)" "$1"; }
do_initcheck() {
  sanitizer initcheck 'Gpu/cuda_ranks.eif_and_hh_populations*' "$(step_left 120)" "$1"
}

# ---- the report: facts gathered once after the step that provides them, printed after every step

field() { # field N: column N of nvidia-smi's CSV line, trimmed
  [[ -s $work/smi.csv ]] || return 0
  head -1 "$work/smi.csv" | awk -F', *' -v k="$1" '{ print $k }'
}

info_line() { # the text after "$1" in `spikesim info`
  [[ -s $work/info.txt ]] || return 0
  grep -m1 "$1" "$work/info.txt" | sed "s/.*$1//"
}

num_or_null() { [[ $1 =~ ^-?[0-9.]+([eE][-+]?[0-9]+)?$ ]] && echo "$1" || echo null; }

commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
device_line="unknown (the env step did not run)"
device_json='{}'
host_json='{}'
tests_line="not run"
tests_json='{"passed": null, "failed": null, "skipped": null, "failed_names": []}'
ncu_line="not run"
ncu_json='{}'
figures_json='{}'
model_a_json='{}'

facts_env() {
  local c
  c=$(info_line 'commit ' | tr -d ')')
  [[ -n $c ]] && commit=$c
  local name driver sm smmax mem mig ecc total runtime unusable
  name=$(field 1) driver=$(field 2) sm=$(field 3) smmax=$(field 4) mem=$(field 5)
  mig=$(field 6) ecc=$(field 7) total=$(field 8)
  runtime=$(info_line 'CUDA runtime: ') unusable=$(info_line 'none usable: ')
  device_line="${name:-no nvidia-smi}, driver ${driver:-?}, SM clock ${sm:-?} (max ${smmax:-?}), MIG ${mig:-?}, ECC ${ecc:-?}; CUDA runtime ${runtime:-?}${unusable:+; no usable device: $unusable}"
  device_json=$(printf '{"name": %s, "driver": %s, "cuda_runtime_and_driver": %s, "sm_clock_mhz": %s, "sm_clock_max_mhz": %s, "memory_clock_mhz": %s, "mig": %s, "ecc": %s, "memory": %s, "unusable": %s}' \
    "$(json_str "$name")" "$(json_str "$driver")" "$(json_str "$runtime")" \
    "$(num_or_null "${sm%% *}")" "$(num_or_null "${smmax%% *}")" "$(num_or_null "${mem%% *}")" \
    "$(json_str "$mig")" "$(json_str "$ecc")" "$(json_str "$total")" "$(json_str "$unusable")")
  host_json=$(printf '{"glibc": %s, "cpu": %s, "cores": %s}' \
    "$(json_str "$(ldd --version 2>&1 | head -1)")" \
    "$(json_str "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')")" "$(nproc)")
}

facts_tests() {
  local counts p f sk k names=""
  counts=$(test_counts)
  p=$(sed -n 's/^passed=//p' <<<"$counts") f=$(sed -n 's/^failed=//p' <<<"$counts")
  sk=$(sed -n 's/^skipped=//p' <<<"$counts")
  for k in "${!failed_tests[@]}"; do names+="${names:+, }$(json_str "${failed_tests[$k]}")"; done
  tests_json="{\"passed\": $(num_or_null "$p"), \"failed\": $(num_or_null "$f"), \"skipped\": $(num_or_null "$sk"), \"failed_names\": [$names]}"
  tests_line="passed ${p:-?}, failed ${f:-?}, skipped ${sk:-?}${counts:+}"
  [[ -n $counts ]] || tests_line="no XML (the test program did not finish)"
}

facts_ncu() {
  local fig ipns stalls
  fig=$(ncu_figures)
  ipns=$(sed -n 's/^instructions_per_neuron_step=//p' <<<"$fig")
  stalls=$(sed -n 's/^top_stalls=//p' <<<"$fig")
  ncu_line=$(paste -sd ' ' <<<"$fig")
  ncu_json=$(printf '{"launch": "eif float, N = %s, %s steps", "instructions_per_neuron_step": %s, "smsp__inst_executed.sum": %s, "smsp__thread_inst_executed.sum": %s, "issue_active_pct": %s, "kernel_ns": %s, "top_stalls": %s}' \
    "$ncu_n" "$ncu_steps" "$(num_or_null "$ipns")" \
    "$(num_or_null "$(ncu_metric smsp__inst_executed.sum)")" \
    "$(num_or_null "$(ncu_metric smsp__thread_inst_executed.sum)")" \
    "$(num_or_null "$(ncu_metric smsp__issue_active.avg.pct_of_peak_sustained_active)")" \
    "$(num_or_null "$(ncu_metric gpu__time_duration.sum)")" "$(json_str "$stalls")")
}

# Figures from bench.jsonl: neuron-steps/s keyed model/precision/N/chunk, and model A.
facts_bench() {
  [[ -s $out/bench.jsonl ]] || return 0
  local both
  both=$(awk '
    function get(k,   r) {
      if (match($0, "\"" k "\": \"?[^,\"}]*")) {
        r = substr($0, RSTART, RLENGTH); sub(/^"[^"]*": "?/, "", r); return r
      }
      return "null"
    }
    /"benchmark": "population"/ {
      pop = pop sep1 sprintf("\"%s/%s/%s/chunk%s\": %s", get("model"), get("precision"), get("n"),
        get("chunk_steps"), get("neuron_steps_per_s")); sep1 = ", "
    }
    /"case": "model_a_/ {
      net = net sep2 sprintf("\"%s\": {\"real_time_factor\": %s, \"synaptic_events_per_s\": %s, \"wall_s\": %s}",
        get("precision"), get("real_time_factor"), get("events_per_s"), get("wall_s")); sep2 = ", "
    }
    END { print "{" pop "}"; print "{" net "}" }' "$out/bench.jsonl")
  figures_json=$(head -1 <<<"$both")
  model_a_json=$(tail -1 <<<"$both")
}

report() {
  local k n_failed=0 steps_json="" san_json="" sep="" t e
  for k in "${!names[@]}"; do
    [[ ${status[$k]} == failed ]] && n_failed=$((n_failed + 1))
    steps_json+="${steps_json:+,}"$'\n'"  {\"name\": \"${names[$k]}\", \"status\": \"${status[$k]}\", \"wall_s\": ${walls[$k]}, \"limit_s\": ${limits[$k]}, \"note\": $(json_str "${notes[$k]}")}"
    case ${names[$k]} in
      memcheck | racecheck | synccheck | initcheck)
        e=null
        [[ ${notes[$k]} =~ errors=([0-9]+) ]] && e=${BASH_REMATCH[1]}
        san_json+="$sep\"${names[$k]}\": $e"
        sep=", "
        ;;
    esac
  done
  {
    echo "spikesim GPU check, commit $commit, $(date -u +%FT%TZ), $(elapsed) s of a $budget s budget"
    echo "device: $device_line"
    echo
    for k in "${!names[@]}"; do
      printf '%-18s %-8s %6s s  %s\n' "${names[$k]}" "${status[$k]}" "${walls[$k]}" "${notes[$k]}"
    done
    echo
    echo "tests: $tests_line"
    ((${#failed_tests[@]})) && printf '  failed: %s\n' "${failed_tests[@]:0:20}"
    echo "ncu: $ncu_line"
    echo "failed steps: $n_failed"
  } >"$out/summary.txt"
  {
    printf '{"suite": "gpu-check", "commit": %s, "date_utc": "%s", "budget_s": %s, "elapsed_s": %s,\n' \
      "$(json_str "$commit")" "$(date -u +%FT%TZ)" "$budget" "$(elapsed)"
    printf ' "device": %s,\n "host": %s,\n "steps": [%s],\n "tests": %s,\n' \
      "$device_json" "$host_json" "$steps_json" "$tests_json"
    printf ' "sanitizer_errors": {%s},\n' "$san_json"
    printf ' "figures": {"neuron_steps_per_s": %s,\n  "model_a": %s,\n  "ncu": %s}}\n' \
      "$figures_json" "$model_a_json" "$ncu_json"
  } >"$out/gpu-check.json"
  tar czf "$out/logs.tgz" -C "$work" logs 2>/dev/null
}

# ---- the run

# Stopped from outside (the command's limit): the report of the steps done so far.
trap 'report; exit 124' TERM INT
echo "gpu-check: bundle $bundle, budget $budget s, output $out"
step env 30 do_env
step smoke 60 do_smoke
step gpu_tests 180 do_gpu_tests
step failed_alone 150 do_failed_alone
step bench_populations 120 do_bench_populations
step bench_long_chunk 45 do_bench_long_chunk
step bench_model_a 60 do_bench_model_a
step ncu 60 do_ncu
step memcheck 150 do_memcheck
step racecheck 45 do_racecheck
step synccheck 45 do_synccheck
step initcheck 45 do_initcheck
report
cat "$out/summary.txt"
rm -rf "$work"
n_failed=0
for s in "${status[@]}"; do [[ $s == failed ]] && n_failed=$((n_failed + 1)); done
exit "$n_failed"
