"""Turn a pytest-benchmark JSON of ``test_bench_solver.py`` into the RESULTS.md tables.

Usage: ``python benchmarks/report.py bench.json`` prints Markdown: per (n, λ), every solver's
median time, its time relative to ``rebalancing`` (how many times slower it is), and its
objective's relative excess over the best objective reached by any solver in the group.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from reporting import bench_row, fmt_seconds, load, machine_line

__all__ = ["main"]


def main(path: str) -> None:
    data = load(path)
    groups: dict[tuple[int, float], list[dict[str, Any]]] = defaultdict(list)
    for bench in data["benchmarks"]:
        info = bench_row(bench)
        groups[(info["n"], info["lam"])].append(info)
    print(machine_line(data) + "\n")
    print("| n | λ | solver | median time | × rebalancing | objective excess | certified gap |")
    print("|---|---|---|---|---|---|---|")
    for (n, lam), rows in sorted(groups.items()):
        ours = next((r for r in rows if r["solver"] == "rebalancing"), None)
        best = min(r["objective"] for r in rows)
        for r in sorted(rows, key=lambda r: r["median"]):
            ratio = r["median"] / ours["median"] if ours else float("nan")
            excess = (r["objective"] - best) / abs(best) if best else 0.0
            gap = f"{r['rel_gap']:.1e} rel" if "rel_gap" in r else ""
            print(
                f"| {n} | {lam:g} | {r['solver']} | {fmt_seconds(r['median'])} | {ratio:.1f} "
                f"| {excess:.1e} | {gap} |"
            )


if __name__ == "__main__":
    main(sys.argv[1])
