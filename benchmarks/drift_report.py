"""Turn a pytest-benchmark JSON of ``test_bench_drift.py`` into the RESULTS.md tables.

Usage: ``python benchmarks/drift_report.py drift.json`` prints Markdown: per case, the median
time of the fused check, of numpy's expression and of the bandwidth probe, the check's speed-up
over numpy, its read bandwidth, and that bandwidth as a fraction of the probe's. Three tables,
one per measurement of ``test_bench_drift.py`` (see its docstring): the pytest-benchmark rows,
the hot rounds interleaved in blocks, and the cold interleaved rounds.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from reporting import bench_row, fmt_seconds, load, machine_line

__all__ = ["main"]

Rows = dict[str, dict[str, Any]]


def main(path: str) -> None:
    data = load(path)
    cases: dict[str, Rows] = defaultdict(dict)
    drop_in: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if bench["group"].startswith("threshold_rebalance"):
            drop_in[bench["group"]][info["name"]] = bench["stats"]["median"]
        else:
            cases[bench["group"]][info["name"]] = bench_row(bench)
    print(machine_line(data))
    tables: list[tuple[str, Callable[[Rows], tuple[float, float, float]]]] = [
        ("hot rows: pytest-benchmark medians (each row on its own, seconds apart)", _separate),
        ("hot, interleaved in blocks (15 calls back to back after a 0.15 s pause)", _hot),
        (
            "cold: interleaved rounds (each call after a pause and a cache flush; medians)",
            _interleaved,
        ),
    ]
    for title, pick in tables:
        print(f"\n{title}:\n")
        print(
            "| case | rebalancing | numpy | × numpy | rebalancing GB/s | probe GB/s | % of probe |"
        )
        print("|---|---|---|---|---|---|---|")
        for case, rows in cases.items():
            ours, numpy, probe = pick(rows)
            ours_bw = rows["rebalancing"]["bytes"] / ours / 1e9
            probe_bw = rows["bandwidth_probe"]["bytes"] / probe / 1e9
            print(
                f"| {case} | {fmt_seconds(ours)} | {fmt_seconds(numpy)} | {numpy / ours:.1f} "
                f"| {ours_bw:.1f} | {probe_bw:.1f} | {100 * ours_bw / probe_bw:.0f} % |"
            )

    print("\nthreshold_rebalance (one portfolio, no breach) vs the textbook function:\n")
    print("| case | rebalancing | textbook | × textbook |")
    print("|---|---|---|---|")
    for case, times in drop_in.items():
        ours, textbook = times["rebalancing"], times["textbook"]
        print(f"| {case} | {fmt_seconds(ours)} | {fmt_seconds(textbook)} | {textbook / ours:.1f} |")


def _separate(rows: Rows) -> tuple[float, float, float]:
    return (
        rows["rebalancing"]["median"],
        rows["numpy"]["median"],
        rows["bandwidth_probe"]["median"],
    )


def _hot(rows: Rows) -> tuple[float, float, float]:
    hot = rows["rebalancing"]["hot"]
    return hot["rebalancing"], hot["numpy"], hot["bandwidth_probe"]


def _interleaved(rows: Rows) -> tuple[float, float, float]:
    inter = rows["rebalancing"]["interleaved"]
    return inter["rebalancing"], inter["numpy"], inter["bandwidth_probe"]


if __name__ == "__main__":
    main(sys.argv[1])
