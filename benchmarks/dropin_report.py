"""Turn a pytest-benchmark JSON of ``test_bench_dropin.py`` into the RESULTS.md tables.

Usage: ``python benchmarks/dropin_report.py dropin.json``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from reporting import bench_row, fmt_seconds, load, machine_line

__all__ = ["main"]


def main(path: str) -> None:
    data = load(path)
    groups: dict[tuple[int, float], dict[str, dict[str, Any]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench_row(bench)
        groups[(info["n"], info["lam"])][info["name"]] = info
    print(machine_line(data) + "\n")
    print(
        "Repeated calls with the same matrix: `optimal_rebalance(plain array)` over "
        "`solve(prebuilt DenseCovariance)`, medians (target ≤ 2×)\n"
    )
    print(
        "| n | λ | DenseCovariance | plain array, repeated | × | interleaved: dense, plain | × "
        "| plain array, first call | × |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (n, lam), rows in sorted(groups.items()):
        dense, plain, cold = rows["dense_covariance"], rows["plain_repeated"], rows["plain_cold"]
        both = rows["interleaved"]
        print(
            f"| {n} | {lam:g} | {fmt_seconds(dense['median'])} | {fmt_seconds(plain['median'])} "
            f"| {plain['median'] / dense['median']:.2f} | {fmt_seconds(both['dense_median'])}, "
            f"{fmt_seconds(both['plain_median'])} | {both['ratio']:.2f} "
            f"| {fmt_seconds(cold['median'])} | {cold['median'] / dense['median']:.1f} |"
        )
    print(
        "\nWhat a plain array costs on top of the solve (λ-independent, from the λ = 10 groups)\n"
    )
    print("| n | Σ (MB) | `DenseCovariance(cov)` | fingerprint | GB/s | checks / fingerprint |")
    print("|---|---|---|---|---|---|")
    for (n, _), rows in sorted(groups.items()):
        if "checks" not in rows:
            continue
        checks = rows["checks"]["median"]
        size = rows["checks"]["bytes"]
        if "fingerprint" in rows:
            fp = rows["fingerprint"]["median"]
            fp_cells = f"{fmt_seconds(fp)} | {size / fp / 1e9:.1f} | {checks / fp:.0f}"
        else:
            fp_cells = "— | — | —"
        print(f"| {n} | {size / 1e6:.0f} | {fmt_seconds(checks)} | {fp_cells} |")


if __name__ == "__main__":
    main(sys.argv[1])
