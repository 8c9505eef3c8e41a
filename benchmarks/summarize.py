#!/usr/bin/env python3
"""Prints a Markdown table from the JSON lines written by the benchmark scripts
(cpu_populations.sh, compare_brian2.sh): one row per measurement, the header
line's machine, commit and date above it; for sweep_fI.sh, whose lines carry their own, one row
per variant."""

import json
import sys


def main(path):
    rows, header = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            if "suite" in d:
                header = d
            else:
                rows.append(d)
    if rows and all(d.get("benchmark") == "sweep_fI" for d in rows):
        return sweep_table(rows)
    if header:
        print(f"{header['suite']}: {header['machine']}, {header['cores']} cores, "
              f"commit {header['commit']}, {header['date_utc']}\n")
    print("| simulator | target / precision | threads | N | steps | wall (s) | neuron-steps/s | mean rate (Hz) |")
    print("|---|---|---|---|---|---|---|---|")
    for d in rows:
        sim = d.get("simulator", "spikesim")
        what = d.get("target") or f"{d.get('model', '')} {d.get('precision', '')}".strip()
        threads = d.get("threads", "")
        if sim == "spikesim":
            threads = d.get("device", "").rsplit(", ", 1)[-1].split()[0]
        print(f"| {sim} | {what} | {threads} | {d['n']:.0e} | {d['steps']} | {d['wall_s']:.3g} "
              f"| {d['neuron_steps_per_s']:.3g} | {d['mean_rate_hz']:.3g} |")


def sweep_table(rows):
    """sweep_fI.sh: each line names its own machine, commit and date."""
    print("| variant | points x neurons x ms | backend, threads | wall (s) | neuron-steps/s "
          "| files | MB written | peak RSS (MiB) | load before | commit | date |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in rows:
        print(f"| {d['variant']} | {d['points']} x {d['neurons_per_point']} x {d['tstop_ms']} "
              f"| {d['backend']}, {d['threads']} | {d['wall_s']:.3g} "
              f"| {d['neuron_steps_per_s']:.3g} | {d['files']} | {d['bytes'] / 1e6:.0f} "
              f"| {d['peak_rss_kib'] / 1024:.0f} | {d['load_before']} | {d['commit']} "
              f"| {d['date_utc']} |")


if __name__ == "__main__":
    main(sys.argv[1])
