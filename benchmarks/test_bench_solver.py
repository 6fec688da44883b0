"""The certified solver side by side with every anchor, in one run.

Run (figures in RESULTS.md come from exactly this)::

    pytest benchmarks/test_bench_solver.py --benchmark-only --benchmark-json=bench.json
    python benchmarks/report.py bench.json

Each (n, λ) is one pytest-benchmark group holding ``rebalancing`` (a pre-validated
``DenseCovariance``: the symmetric/PSD checks are paid once, as when a risk model is reused),
``rebalancing_raw`` (a plain array: the O(n³) PSD check is paid on every call -- the cache of
verified matrices is emptied before each round, so the row keeps its meaning; repeated calls with
a remembered matrix are test_bench_dropin.py's subject) and the anchors.
``extra_info`` records every answer's objective (``report.py`` turns it into the relative
excess over the best objective any solver reached on that instance) and for ours the certified
gap, so speed is never reported without accuracy.

Scope: the accurate scipy reference only for n ≤ 100 (O(n³) per SLSQP iteration on 2n
variables); the textbook scipy function up to n = 2000 at λ = 10 and n ≤ 1000 otherwise (it
takes ~15 s at n = 2000); dense anchors up to n = 2000; at n = 5000 only the factor-model
Clarabel formulation (dense anchors take minutes there).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import rebalancing as rb
from anchors import ANCHORS, objective_of
from rebalancing import covariance as rb_covariance

__all__: list[str] = []

SIZES = (100, 500, 1000, 2000, 5000)
LAMBDAS = (1.0, 10.0, 100.0)
SOLVERS = ("rebalancing", "rebalancing_raw", *ANCHORS)


def _skip_reason(name: str, n: int, lam: float) -> str | None:
    """Why an (solver, n, λ) case is not run, or None to run it."""
    if name == "accurate_scipy" and n > 100:
        return "accurate scipy reference: only n <= 100"
    if name == "textbook_scipy" and (n > 2000 or (n > 1000 and lam != 10.0)):
        return "textbook scipy: n <= 2000 at lambda = 10, n <= 1000 otherwise"
    if n > 2000 and name not in ("rebalancing", "rebalancing_raw", "clarabel_factor"):
        return "dense anchors take minutes at n = 5000"
    return None


def _forget_verified() -> None:
    """Empty the verified-matrix cache, if this code has one (see covariance.py)."""
    clear = getattr(rb_covariance, "clear_verified_cache", None)
    if clear is not None:
        clear()


def _ours(inst: Any, cov: Any) -> tuple[np.ndarray, float, Any]:
    start = time.perf_counter()
    res = rb.solve(inst.current, inst.target, cov, inst.costs, inst.lam)
    return np.asarray(res.weights), time.perf_counter() - start, res


@pytest.mark.parametrize("lam", LAMBDAS, ids=lambda v: f"lam{v:g}")
@pytest.mark.parametrize("n", SIZES, ids=lambda v: f"n{v}")
@pytest.mark.parametrize("name", SOLVERS)
def test_solver(benchmark: Any, get_instance: Any, name: str, n: int, lam: float) -> None:
    """Time one solver on one instance and record the quality of its answer."""
    reason = _skip_reason(name, n, lam)
    if reason is not None:
        pytest.skip(reason)
    inst = get_instance.instance(n, lam)
    benchmark.group = f"n={n} lam={lam:g}"
    info: dict[str, Any] = {"solver": name, "n": n, "lam": lam}
    # Medians of several rounds; one round where an anchor takes many seconds.
    if name in ("rebalancing", "rebalancing_raw"):
        rounds = 15
    elif name == "accurate_scipy" or n >= 1000:
        rounds = 1
    else:
        rounds = 3
    if name == "rebalancing":
        cov = rb.DenseCovariance(inst.cov)
        weights, _, res = benchmark.pedantic(
            _ours, args=(inst, cov), rounds=rounds, warmup_rounds=1
        )
    elif name == "rebalancing_raw":
        weights, _, res = benchmark.pedantic(
            _ours, args=(inst, inst.cov), setup=_forget_verified, rounds=rounds
        )
    else:
        weights, _ = benchmark.pedantic(ANCHORS[name], args=(inst,), rounds=rounds)
        res = None
    value = objective_of(inst, weights)
    info["objective"] = value
    info["sum_violation"] = abs(float(np.sum(weights)) - 1.0)
    if res is not None:
        info.update(
            status=res.status,
            gap=res.gap,
            rel_gap=res.rel_gap,
            iterations=res.iterations,
            largest_system=res.largest_system,
        )
        assert res.status == "optimal"  # a benchmark of a wrong answer is worthless
    benchmark.extra_info.update(info)
