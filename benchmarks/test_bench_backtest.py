"""Backtest speed beside bt, cvxportfolio and hand-written numpy, on the same data and policies.

Run (figures in RESULTS.md come from exactly this; about 10 minutes, mostly cvxportfolio)::

    pytest benchmarks/test_bench_backtest.py --benchmark-only --benchmark-json=bt.json
    python benchmarks/backtest_report.py bt.json

One pytest-benchmark group per policy of :mod:`backtest_anchors` (``monthly``,
``threshold-daily``: 5 % absolute band, ``threshold-daily-rel``: 5 % of the target weight, bt's
``RunIfOutOfBounds(0.05)``), on the 20-stock daily data, equal weight, 5 bp per unit traded.
Rows, each timing one complete backtest that yields every figure ``rb``'s ``summary()``
reports:

* ``rebalancing``: ``rb.backtest(returns, target, policy, 5).summary()``;
* ``numpy`` (monthly, vectorized), ``numpy_loop`` and ``numpy_blocks`` (threshold: a loop over
  days, and vectorized blocks that jump to the next breach);
* ``bt``: building and running ``bt.Backtest`` (which computes bt's statistics);
* ``cvxportfolio``: building ``MarketSimulator`` on the user data and running ``backtest``.

After timing, each anchor's figures are converted to ``rb``'s definitions and checked against
``rb``'s (``backtest_anchors.agreement`` for numpy, ``check_anchor`` for bt and cvxportfolio):
the run fails if they disagree. Rounds: 30 for the
fast rows, 3 for bt, 1–2 for cvxportfolio (about a minute per backtest).

The machine is a noisy shared 2-vCPU VM, so the ratios are also measured closer together:

* the ``rebalancing`` row records 30 *interleaved* rounds of (rb, each numpy variant) back to
  back, medians of each (``extra_info["interleaved"]``), the fair rb-vs-numpy ratio;
* before every bt and cvxportfolio round, rb is timed 3 times (not part of their timing), so the
  ratio to those anchors can use rb's median from the same minutes (``extra_info["rb_beside"]``).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np
import pytest

from backtest_anchors import (
    POLICIES,
    agreement,
    bt_figures,
    check_anchor,
    cvx_figures,
    load,
    run_bt,
    run_cvx,
    run_numpy,
    run_rb,
)

__all__: list[str] = []

#: rounds per row; cvxportfolio takes 0.5 to 1.7 minutes per backtest here
ROUNDS = {
    "rebalancing": 30,
    "numpy": 30,
    "numpy_blocks": 30,
    "numpy_loop": 10,
    "bt": 3,
    "cvxportfolio": 1,
}
CVX_MONTHLY_ROUNDS = 2
INTERLEAVED_ROUNDS = 30


def _tools(policy: str) -> list[str]:
    numpy_rows = ["numpy"] if POLICIES[policy][0] == "calendar" else ["numpy_blocks", "numpy_loop"]
    return ["rebalancing", *numpy_rows, "bt", "cvxportfolio"]


CASES = [(policy, tool) for policy in POLICIES for tool in _tools(policy)]


def _numpy_runner(tool: str) -> Any:
    variant = "blocks" if tool == "numpy_blocks" else "loop"
    return functools.partial(_run_numpy, variant=variant)


def _run_numpy(data: Any, policy: str, variant: str) -> Any:
    return run_numpy(data, policy, variant)


RUNNERS: dict[str, Any] = {
    "rebalancing": run_rb,
    "numpy": _numpy_runner("numpy"),
    "numpy_blocks": _numpy_runner("numpy_blocks"),
    "numpy_loop": _numpy_runner("numpy_loop"),
    "bt": run_bt,
    "cvxportfolio": run_cvx,
}


@functools.lru_cache(maxsize=8)
def _ours(policy: str) -> dict[str, float]:
    return {k: float(v) for k, v in run_rb(load(), policy).items()}


def _plain(figures: dict[str, Any]) -> dict[str, float]:
    """The JSON-friendly part of a figures dict."""
    return {k: float(v) for k, v in figures.items() if np.ndim(v) == 0}


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_backtest(benchmark: Any, case: tuple[str, str]) -> None:
    policy, tool = case
    data = load()
    ours = _ours(policy)
    benchmark.group = policy
    benchmark.extra_info.update({"name": tool, "policy": policy})
    run = RUNNERS[tool]
    slow = tool in ("bt", "cvxportfolio")
    rounds = ROUNDS[tool]
    if tool == "cvxportfolio" and POLICIES[policy][0] == "calendar":
        rounds = CVX_MONTHLY_ROUNDS
    beside: list[float] = []
    out = benchmark.pedantic(
        run,
        args=(data, policy),
        rounds=rounds,
        iterations=1,
        warmup_rounds=0 if slow else 1,
        setup=(lambda: beside.extend(_times(run_rb, data, policy, 3))) if slow else None,
    )
    if tool == "rebalancing":
        figures = {k: float(v) for k, v in out.items()}
        benchmark.extra_info["interleaved"] = _interleaved(data, policy)
    elif tool.startswith("numpy"):
        figures = out
        benchmark.extra_info["agreement"] = agreement(ours, figures, exact=True)
    else:
        figures = bt_figures(out, data) if tool == "bt" else cvx_figures(out, data)
        checked = check_anchor(data, policy, figures)
        benchmark.extra_info["agreement"] = checked["as_run"]
        benchmark.extra_info["same_dates"] = checked["same_dates"]
        benchmark.extra_info["near_ties"] = checked["near_ties"]
        benchmark.extra_info["near_tie_ratios"] = checked["near_tie_ratios"]
        benchmark.extra_info["rb_beside"] = float(np.median(beside))
    benchmark.extra_info["figures"] = _plain(figures)


def _times(run: Any, data: Any, policy: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(data, policy)
        times.append(time.perf_counter() - start)
    return times


def _interleaved(data: Any, policy: str) -> dict[str, float]:
    """Median seconds of rb and each numpy row, timed in turn within every round."""
    tools = [t for t in _tools(policy) if t == "rebalancing" or t.startswith("numpy")]
    times: dict[str, list[float]] = {tool: [] for tool in tools}
    for _ in range(INTERLEAVED_ROUNDS):
        for tool in tools:
            times[tool] += _times(RUNNERS[tool], data, policy, 1)
    return {tool: float(np.median(t)) for tool, t in times.items()}
