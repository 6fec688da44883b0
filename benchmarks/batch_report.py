"""Turn a pytest-benchmark JSON of ``test_bench_batch.py`` into the RESULTS.md tables.

Usage: ``python benchmarks/batch_report.py batch.json``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import numpy as np

from reporting import bench_row, fmt_seconds, load, machine_line

__all__ = ["main"]


def main(path: str) -> None:
    data = load(path)
    groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench_row(bench)
        groups[bench["group"]][info["name"]] = info
    print(machine_line(data) + "\n")
    print("| case | solver | median time | × rebalancing | objective excess | certified gap |")
    print("|---|---|---|---|---|---|")
    for group, rows in groups.items():
        if not group.startswith("factor"):
            continue
        ours = rows["rebalancing"]
        best = min(r["objective"] for r in rows.values())
        for name, r in sorted(rows.items(), key=lambda kv: kv[1]["median"]):
            excess = (r["objective"] - best) / abs(best)
            gap = f"{r['rel_gap']:.1e} rel" if "rel_gap" in r else ""
            ratio = r["median"] / ours["median"]
            print(
                f"| {group} | {name} | {fmt_seconds(r['median'])} | {ratio:.1f} "
                f"| {excess:.1e} | {gap} |"
            )
    scaling = next(
        (rows["thread_scaling"] for g, rows in groups.items() if g.startswith("threads")), None
    )
    for group, rows in groups.items():
        if not group.startswith("batch"):
            continue
        print(f"\n{group}: per-account time and throughput\n")
        print("| solver | accounts timed | median time | per account | accounts/s | × anchor |")
        print("|---|---|---|---|---|---|")
        anchor = rows["clarabel_factor"]["median"] / rows["clarabel_factor"]["accounts"]
        for name, r in sorted(rows.items(), key=lambda kv: kv[1]["median"] / kv[1]["accounts"]):
            per = r["median"] / r["accounts"]
            print(
                f"| {name} | {r['accounts']} | {fmt_seconds(r['median'])} | {fmt_seconds(per)} "
                f"| {1 / per:.0f} | {anchor / per:.1f} |"
            )
        one, two = rows["rebalancing_1_thread"]["median"], rows["rebalancing_2_threads"]["median"]
        print(f"\n2 threads vs 1 thread (rows above, timed separately): {one / two:.2f}×")
        if scaling:
            ratios = ", ".join(f"{r:.2f}" for r in scaling["ratios"])
            print(
                f"2 threads vs 1 thread, alternated within each round: {ratios}× (median ", end=""
            )
            print(f"{np.median(scaling['ratios']):.2f}×)")
            for key, meaning in (
                ("solve_slowdown", "summed solve times, 2 threads over 1"),
                ("busy", "share of the 2-thread wall time the two threads spent solving"),
            ):
                if key in scaling:
                    values = ", ".join(f"{v:.3f}" for v in scaling[key])
                    print(f"  {meaning}: {values}")
        ours = rows["rebalancing_2_threads"]
        clar = rows["clarabel_factor"]
        worst = max(
            (o - c) / abs(c) for o, c in zip(ours["objectives"], clar["objectives"], strict=True)
        )
        print(
            f"Largest certified relative gap in the batch: {ours['max_rel_gap']:.1e}; on the "
            f"{len(clar['objectives'])} sampled accounts our objective minus Clarabel's, relative: "
            f"at most {worst:.1e}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
