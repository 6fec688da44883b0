"""Property tests of :func:`rebalancing.solve` over random and adversarial instances.

Instances (see ``_problems.py``) range over n = 1..60; factor-model, sample, rank-deficient,
ill-conditioned (cond ~1e8), diagonal (with zero variances) and duplicated-asset covariances;
costs 0..100 bp with exact zeros, asymmetric and one-sided costs; lam in {0, 1e-12, 1, 10, 1e3};
long-only, boxed, pinned (lower == upper), long-short and tight bounds; current weights equal to,
near, or far from the target and often outside the bounds.

Oracles: the accurate SLSQP reference (``reference_solve``) and the textbook function users
write today (``textbook_optimal_rebalance``). F is always re-evaluated independently with
``rebalancing.reference.objective``.
"""

from __future__ import annotations

import math
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _checks import (
    EVAL_RTOL,
    assert_consistent,
    assert_feasible,
    assert_gap_is_bound,
    assert_not_worse,
    solve_reference,
)
from _problems import Problem, examples, problems
from rebalancing.reference import textbook_optimal_rebalance


def _solve(p: Problem, **kwargs: object) -> rb.RebalanceResult:
    return rb.solve(*p.args(), **p.kwargs(), **kwargs)  # type: ignore[arg-type]


@settings(max_examples=examples(2.5))
@given(problems())
def test_result_is_feasible_and_consistent(p: Problem) -> None:
    """Bounds hold exactly, the budget to 1e-12, and every reported number matches w."""
    res = _solve(p)
    assert_feasible(p, res.weights)
    assert_consistent(p, res)


@settings(max_examples=examples(2.5))
@given(problems())
def test_status_is_optimal(p: Problem) -> None:
    """Every instance is certified within the default tolerance and iteration budget."""
    res = _solve(p)
    assert res.status == "optimal", (
        f"{p.label}: status {res.status}, gap {res.gap:.3e}, objective {res.objective:.6e}, "
        f"iterations {res.iterations}"
    )


@settings(max_examples=examples(3))
@given(problems())
def test_not_worse_than_reference(p: Problem) -> None:
    """F(ours) <= F(reference) + 1e-9 |F(reference)| (+ the solver's absolute floor)."""
    res = _solve(p)
    ref = solve_reference(p)
    assert_not_worse(p, p.objective(res.weights), ref.objective, ref.weights)


@settings(max_examples=examples(2))
@given(problems())
def test_gap_is_a_true_bound(p: Problem) -> None:
    """F(w) - gap <= F* <= F(w_ref): the reported gap never overstates optimality."""
    res = _solve(p)
    ref = solve_reference(p)
    assert_gap_is_bound(p, res, ref.objective, ref.weights)


@settings(max_examples=examples(1.5))
@given(
    problems(
        max_n=30,
        bound_kinds=("long_only",),
        cost_kinds=("zero", "uniform", "sparse_zeros"),
    )
)
def test_not_worse_than_textbook(p: Problem) -> None:
    """The drop-in problem (long-only, symmetric costs): never worse than the textbook SLSQP."""
    assert p.long_only and p.symmetric_costs
    res = rb.solve(p.current, p.target, p.cov, p.buy, p.lam)
    tb = textbook_optimal_rebalance(p.current, p.target, p.cov, p.buy, p.lam)
    tb_clipped = np.clip(tb, 0.0, 1.0)
    assert_not_worse(p, p.objective(res.weights), p.objective(tb_clipped), tb_clipped)


@settings(max_examples=examples(1))
@given(problems(), st.sampled_from(["solution", "target", "current", "uniform"]))
def test_warm_start_reaches_the_same_optimum(p: Problem, start: str) -> None:
    """Any warm start (even infeasible) gives a certified point with the same objective."""
    cold = _solve(p)
    warm_point = {
        "solution": cold,  # a RebalanceResult is accepted as a warm start
        "target": p.target,
        "current": p.current,
        "uniform": np.full(p.n, 1.0 / p.n),
    }[start]
    warm = _solve(p, warm_start=warm_point)
    assert warm.status == "optimal", f"{p.label}: {warm.status}, gap {warm.gap:.3e}"
    assert_feasible(p, warm.weights)
    f_cold, f_warm = p.objective(cold.weights), p.objective(warm.weights)
    tol = 1e-9 * max(abs(f_cold), abs(f_warm)) + 2e-15
    assert abs(f_cold - f_warm) <= tol, (f_cold, f_warm)


@settings(max_examples=examples(1))
@given(problems(), st.randoms(use_true_random=False))
def test_permuting_assets_permutes_the_answer(p: Problem, rand: random.Random) -> None:
    """Relabelling the assets does not change the optimum (only the order of the weights)."""
    perm = np.arange(p.n)
    rand.shuffle(perm)  # type: ignore[arg-type]
    res = _solve(p)
    res_p = rb.solve(
        p.current[perm],
        p.target[perm],
        p.cov[np.ix_(perm, perm)],
        lam=p.lam,
        lower=p.lower[perm],
        upper=p.upper[perm],
        buy_costs=p.buy[perm],
        sell_costs=p.sell[perm],
    )
    f, f_p = p.objective(res.weights), p.objective(res_p.weights[np.argsort(perm)])
    tol = 1e-9 * max(abs(f), abs(f_p)) + 2e-15
    assert abs(f - f_p) <= tol, (p.label, f, f_p)


@settings(max_examples=examples(1))
@given(
    problems(lams=(1.0, 10.0)),
    st.sampled_from([1e-6, 1e-3, 1e3, 1e6, 1e-100, 1e100, 1e-200, 1e200]),
)
def test_scaling_cov_and_lam_inversely_changes_nothing(p: Problem, scale: float) -> None:
    """(lam * c, cov / c) is the same problem as (lam, cov) for any c > 0."""
    res = _solve(p)
    scaled = rb.solve(
        p.current,
        p.target,
        p.cov * scale,
        lam=p.lam / scale,
        lower=p.lower,
        upper=p.upper,
        buy_costs=p.buy,
        sell_costs=p.sell,
    )
    assert scaled.status == "optimal", f"{p.label} scale={scale:g}: gap {scaled.gap:.3e}"
    f, f_s = p.objective(res.weights), p.objective(scaled.weights)
    tol = 1e-9 * max(abs(f), abs(f_s)) + 2e-15
    assert abs(f - f_s) <= tol, (p.label, scale, f, f_s)


@settings(max_examples=examples(1))
@given(problems(lams=(0.0,)))
def test_lam_zero_is_the_cost_only_linear_program(p: Problem) -> None:
    """With lam = 0 only costs matter: a feasible current is optimal at no cost (F = 0)."""
    res = _solve(p)
    assert res.status == "optimal"
    assert_feasible(p, res.weights)
    assert res.risk == 0.0
    ref = solve_reference(p)
    assert_not_worse(p, p.objective(res.weights), ref.objective, ref.weights)
    if np.all(p.current >= p.lower) and np.all(p.current <= p.upper):
        # Zero up to the cost of the rounding by which the generated current misses sum = 1.
        excess = abs(math.fsum(p.current) - 1.0) * float(max(p.buy.max(), p.sell.max()))
        assert res.objective <= 2.0 * excess
        if np.all(p.buy > 0.0) or np.all(p.sell > 0.0):  # any trade costs: w0 is unique
            # (up to the rounding that makes sum(w) exactly 1)
            np.testing.assert_allclose(res.weights, p.current, rtol=0, atol=1e-15)


@settings(max_examples=examples(1))
@given(problems())
def test_objective_decomposition(p: Problem) -> None:
    """risk = lam d'Sigma d and cost = sum buy x+ + sell x-, evaluated independently."""
    res = _solve(p)
    w = np.asarray(res.weights)
    d = w - p.target
    risk = p.lam * float(d @ p.cov @ d)
    scale = max(abs(res.objective), p.risk_scale(w))
    assert abs(res.risk - risk) <= EVAL_RTOL * scale + 1e-300
