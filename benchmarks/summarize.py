#!/usr/bin/env python3
"""Prints a Markdown table from the JSON lines written by the benchmark scripts
(cpu_populations.sh, compare_brian2.sh): one row per measurement, the header
line's machine, commit and date above it."""

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


if __name__ == "__main__":
    main(sys.argv[1])
