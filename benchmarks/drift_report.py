"""Turn a pytest-benchmark JSON of ``test_bench_drift.py`` into the RESULTS.md table.

Usage: ``python benchmarks/drift_report.py drift.json`` prints Markdown: per case, the median
time of the fused check, of numpy's expression and of the bandwidth probe, the check's speed-up
over numpy, its read bandwidth, and that bandwidth as a fraction of the probe's.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

__all__ = ["main"]


def main(path: str) -> None:
    with open(path) as f:
        data = json.load(f)
    cases: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        cases[bench["group"]][info["name"]] = {**info, "median": bench["stats"]["median"]}
    machine = data.get("machine_info", {})
    print(
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"python {machine.get('python_version', '?')}; {data.get('datetime', '')}\n"
    )
    print("| case | rebalancing | numpy | × numpy | rebalancing GB/s | probe GB/s | % of probe |")
    print("|---|---|---|---|---|---|---|")
    for case, rows in cases.items():
        ours, numpy, probe = rows["rebalancing"], rows["numpy"], rows["bandwidth_probe"]
        ours_bw = ours["bytes"] / ours["median"] / 1e9
        probe_bw = probe["bytes"] / probe["median"] / 1e9
        print(
            f"| {case} | {_fmt(ours['median'])} | {_fmt(numpy['median'])} "
            f"| {numpy['median'] / ours['median']:.1f} | {ours_bw:.1f} | {probe_bw:.1f} "
            f"| {100 * ours_bw / probe_bw:.0f} % |"
        )


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


if __name__ == "__main__":
    main(sys.argv[1])
