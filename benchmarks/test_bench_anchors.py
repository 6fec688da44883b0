"""Timings of the anchor solvers alone (no ``rebalancing`` solver involved).

Run with ``pytest benchmarks/test_bench_anchors.py --benchmark-only``. Each case records in
``extra_info`` the objective :math:`F(w)` of the anchor's answer, its relative excess over the
optimum (from the factor-model Clarabel anchor, accurate to about 1e-10) and the violation of
:math:`\\sum w = 1`, so a fast but wrong anchor is visible next to its time.

Scope: the accurate scipy reference only for n <= 100 (its cost grows like n^3 per iteration on
2n variables); the textbook scipy function for n = 100 at every lambda and up to n = 1000 at
lambda = 10 (the primary setting); every other anchor everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from anchors import ANCHORS, objective_of

__all__: list[str] = []

SIZES = (100, 500, 1000, 2000)
LAMBDAS = (1.0, 10.0, 100.0)


def _skip_reason(name: str, n: int, lam: float) -> str | None:
    """Why an (anchor, n, lambda) case is not run, or None to run it."""
    if name == "accurate_scipy" and n > 100:
        return "accurate scipy reference is O(n^3) per SLSQP iteration: only n <= 100"
    if name == "textbook_scipy" and n > 100 and (n > 1000 or lam != 10.0):
        return "textbook scipy is slow: only n = 100, or n <= 1000 at lambda = 10"
    return None


@pytest.mark.parametrize("lam", LAMBDAS, ids=lambda v: f"lam{v:g}")
@pytest.mark.parametrize("n", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("name", list(ANCHORS))
def test_anchor(benchmark: Any, get_instance: Any, name: str, n: int, lam: float) -> None:
    """Time one anchor on one instance and record the quality of its answer."""
    reason = _skip_reason(name, n, lam)
    if reason is not None:
        pytest.skip(reason)
    inst = get_instance.instance(n, lam)
    anchor = ANCHORS[name]
    benchmark.group = f"anchors n={n} lam={lam:g}"
    weights, _ = benchmark.pedantic(anchor, args=(inst,), rounds=3, iterations=1)
    value = objective_of(inst, weights)
    best = get_instance.optimum(n, lam)
    benchmark.extra_info.update(
        {
            "anchor": name,
            "n": n,
            "lam": lam,
            "objective": value,
            "rel_excess": (value - best) / max(abs(best), 1e-300),
            "sum_violation": abs(float(np.sum(weights)) - 1.0),
        }
    )
    assert np.all(np.isfinite(weights))
