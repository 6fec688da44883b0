"""Assertions shared by the solver tests: feasibility, certificate and objective consistency."""

from __future__ import annotations

import math

import numpy as np

from _problems import Problem
from rebalancing import RebalanceResult
from rebalancing.reference import ReferenceResult, reference_solve

#: Our objective may exceed the reference's by this much, relative to |F_ref| ...
REL_TOL = 1e-9
#: ... plus this absolute floor: the solver's own abs_tol (1e-15) and a little rounding.
ABS_FLOOR = 2e-15
#: Rounding allowed when comparing two evaluations of F, relative to its magnitude (see
#: :meth:`Problem.risk_scale`): measured at most 5.3e-16 over 1200 random instances.
# Two evaluations of F at different points (ours, the reference's) with different summation
# orders agree to ~1e-12 relative; 1e-11 leaves room for the reference's own budget residual.
EVAL_RTOL = 1e-11


def solve_reference(p: Problem) -> ReferenceResult:
    return reference_solve(
        p.current,
        p.target,
        p.cov,
        0.0,
        p.lam,
        lower=p.lower,
        upper=p.upper,
        buy_costs=p.buy,
        sell_costs=p.sell,
    )


def infeasibility_slack(p: Problem, w: np.ndarray) -> float:
    """How much F could rise when ``w`` (within its bounds) is moved to sum exactly to one.

    The reference's weights can miss the budget by up to ~1e-10 on tight bounds; then F(w_ref)
    is not an upper bound on F* by itself. Shifting the excess ``delta`` onto any asset changes
    F by at most ``|delta| (max |grad| + max cost) + lam * lmax * delta**2``.
    """
    delta = abs(math.fsum(w) - 1.0)
    if delta == 0.0:
        return 0.0
    grad = 2.0 * p.lam * (p.cov @ (w - p.target))
    lmax = float(np.abs(p.cov).sum(axis=1).max())
    slope = float(np.abs(grad).max()) + float(max(p.buy.max(), p.sell.max()))
    return 2.0 * (delta * slope + p.lam * lmax * delta * delta)


def assert_feasible(p: Problem, weights: np.ndarray) -> None:
    w = np.asarray(weights)
    assert w.shape == (p.n,)
    assert w.dtype == np.float64
    assert np.all(np.isfinite(w))
    below = np.flatnonzero(w < p.lower)
    above = np.flatnonzero(w > p.upper)
    assert below.size == 0, f"below lower at {below}: {(p.lower - w)[below]}"
    assert above.size == 0, f"above upper at {above}: {(w - p.upper)[above]}"
    assert abs(math.fsum(w) - 1.0) <= 1e-12, f"sum(w) - 1 = {math.fsum(w) - 1.0:.3e}"


def assert_consistent(p: Problem, res: RebalanceResult) -> None:
    """The reported numbers describe the returned weights."""
    w = np.asarray(res.weights)
    trades = np.asarray(res.trades)
    np.testing.assert_array_equal(trades, w - p.current)
    f = p.objective(w)
    scale = max(abs(f), p.risk_scale(w))
    assert abs(res.objective - f) <= EVAL_RTOL * scale + 1e-300, (res.objective, f)
    assert abs(res.risk + res.cost - res.objective) <= EVAL_RTOL * scale + 1e-300
    trade = w - p.current
    cost = float(p.buy @ np.maximum(trade, 0.0) + p.sell @ np.maximum(-trade, 0.0))
    assert abs(res.cost - cost) <= EVAL_RTOL * scale + 1e-300
    assert res.gap >= 0.0
    assert math.isfinite(res.gap)
    assert math.isfinite(res.dual)
    assert res.iterations >= 0
    assert res.optimal == (res.status == "optimal")


def assert_not_worse(p: Problem, ours: float, other: float, other_w: np.ndarray) -> None:
    """F(ours) <= F(other) up to REL_TOL relative, an absolute floor, other's infeasibility and
    the rounding of evaluating F itself (relative to :meth:`Problem.risk_scale`, which is far
    above |F| when w - w* lies near the null space of a rank-deficient Σ: there two evaluations
    of F differ by more than F)."""
    slack = (
        REL_TOL * abs(other)
        + ABS_FLOOR
        + EVAL_RTOL * p.risk_scale(other_w)
        + infeasibility_slack(p, other_w)
    )
    assert ours <= other + slack, (
        f"{p.label}: ours {ours!r} > other {other!r} by {ours - other:.3e} "
        f"(relative {(ours - other) / max(abs(other), 1e-300):.3e}, allowed {slack:.3e})"
    )


def assert_gap_is_bound(p: Problem, res: RebalanceResult, f_ref: float, ref_w: np.ndarray) -> None:
    """F(w) - gap <= F* <= F(w_ref): the certificate really is a lower bound."""
    f = p.objective(np.asarray(res.weights))
    w = np.asarray(res.weights)
    rounding = EVAL_RTOL * max(abs(f_ref), p.risk_scale(w))
    # Weights are exact only to an ulp: the cost term alone is uncertain by about
    # eps * n * max cost * (|w|_1 + |w0|_1) (it matters when F* = 0, e.g. lam = 0).
    cost_rounding = (
        4
        * np.finfo(float).eps
        * p.n
        * max(p.buy.max(), p.sell.max())
        * (np.abs(w).sum() + np.abs(p.current).sum())
    )
    slack = rounding + cost_rounding + infeasibility_slack(p, ref_w) + 1e-300
    assert f - res.gap <= f_ref + slack, (
        f"{p.label}: lower bound F(w) - gap = {f - res.gap!r} exceeds F(w_ref) = {f_ref!r} "
        f"by {f - res.gap - f_ref:.3e} (gap {res.gap:.3e})"
    )
