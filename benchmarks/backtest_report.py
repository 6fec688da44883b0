"""Turn a pytest-benchmark JSON of ``test_bench_backtest.py`` into the RESULTS.md tables.

Usage: ``python benchmarks/backtest_report.py bt.json`` prints Markdown, per policy:

* the median time of every row and its ratio to rb's (anchor / rb: above 1, rb is faster), and
  for bt and cvxportfolio also the ratio to rb's median timed in the same minutes;
* the interleaved rounds of rb and the numpy rows (rb / numpy: the issue's "within 2×" is ≤ 2);
* every tool's figures, converted to rb's definitions, their relative difference from rb's on
  turnover and cost as run, and the largest difference on any figure once rb trades on the
  anchor's own dates (see ``backtest_anchors.check_anchor``); near ties are listed.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

from reporting import bench_row, fmt_seconds, load, machine_line

__all__ = ["main"]

SHOWN = ["turnover", "cost_bps", "rebalances", "tracking_error", "return", "volatility"]


def main(path: str) -> None:
    data = load(path)
    groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench_row(bench)
        groups[bench["group"]][info["name"]] = info
    print(machine_line(data))
    for group, rows in groups.items():
        ours = rows["rebalancing"]
        print(f"\n### {group}\n")
        print("| tool | rounds | median | × rb (time / rb's) | rb beside it | × rb beside |")
        print("|---|---|---|---|---|---|")
        for name, row in rows.items():
            ratio = row["median"] / ours["median"]
            beside = row.get("rb_beside")
            extra = f"{fmt_seconds(beside)} | {row['median'] / beside:.1f}" if beside else " | "
            print(
                f"| {name} | {row['rounds']} | {fmt_seconds(row['median'])} | {ratio:.2f} "
                f"| {extra} |"
            )
        inter = ours["interleaved"]
        rb_time = inter["rebalancing"]
        cells = ", ".join(
            f"{name} {fmt_seconds(t)} (rb / {name} = {rb_time / t:.2f})"
            for name, t in inter.items()
            if name != "rebalancing"
        )
        print(f"\nInterleaved medians: rebalancing {fmt_seconds(rb_time)}; {cells}")
        print(
            "\n| tool | " + " | ".join(SHOWN) + " | turnover vs rb | cost vs rb "
            "| largest difference on the same dates |"
        )
        print("|---" * (len(SHOWN) + 4) + "|")
        for name, row in rows.items():
            figures = row["figures"]
            cells = " | ".join(_fmt(key, figures[key]) for key in SHOWN)
            agree = row.get("agreement")
            diffs = f"{agree['turnover']:+.1e} | {agree['cost_bps']:+.1e}" if agree else "— | —"
            same = row.get("same_dates")
            if same:
                key = max(same, key=lambda k: abs(same[k]))
                diffs += f" | {key} {same[key]:+.1e}"
            elif agree:  # numpy: every figure, as run
                key = max(agree, key=lambda k: abs(agree[k]))
                diffs += f" | {key} {agree[key]:+.1e} (as run)"
            else:
                diffs += " | —"
            print(f"| {name} | {cells} | {diffs} |")
        for name, row in rows.items():
            if row.get("near_ties"):
                ties = ", ".join(
                    f"{date} (drift / band {ratio:.6f})"
                    for date, ratio in zip(row["near_ties"], row["near_tie_ratios"], strict=True)
                )
                print(f"\n{name}: trade decisions differ from rb's after near ties on {ties}")
        if "bt" in rows and "turnover_bt_definition" in rows["bt"]["figures"]:
            bt = rows["bt"]["figures"]
            raw = bt["turnover_bt_definition"]
            print(
                f"\nbt's own turnover (min(bought, sold) / NAV after the trade, same "
                f"annualization): {raw:.6f} ({raw / ours['figures']['turnover'] - 1:+.1e} vs "
                f"rb); its initial purchase fee, excluded above: "
                f"{bt['initial_purchase_bps']:.3f} bp of the start value"
            )


def _fmt(key: str, value: float) -> str:
    if key == "rebalances":
        return f"{value:.0f}"
    if key == "cost_bps":
        return f"{value:.4f}"
    return f"{value:.6f}"


if __name__ == "__main__":
    main(sys.argv[1])
