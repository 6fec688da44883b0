"""Cost-aware optimal rebalancing: the Python face of the C++ solver.

The problem, for current weights w⁰, target w*, covariance Σ and risk aversion λ ≥ 0:

.. math::

    \\min_w\\; λ (w - w^*)^T Σ (w - w^*) + \\sum_i b_i (w_i - w^0_i)^+ + s_i (w^0_i - w_i)^+
    \\quad\\text{s.t.}\\quad \\sum_i w_i = 1,\\; l_i \\le w_i \\le u_i,

with buy costs b and sell costs s per unit of weight traded (both equal to ``costs`` unless
given separately).

Certification: every result carries ``gap``, an upper bound on F(w) − F* obtained from the
linearised dual (see ``cpp/include/rebalancing/certificate.hpp``). ``status == "optimal"``
(:class:`~rebalancing.Status`) means ``gap <= max(tol * |F(w)|, abs_tol, rounding floor)`` with
the tolerances of :class:`~rebalancing.Settings`: relative to the objective, with an absolute
floor ``abs_tol`` (default 1e-15) for objectives near zero, and the rounding error of the computed
gap itself as the last floor (``docs/solver.md``). The bound is exact up to the floating-point
rounding of the gradient 2λΣ(w − w*).

Units: weights are fractions of the portfolio; costs are fractions of the amount traded
(0.001 = 10 bp), the library's one convention for money per amount traded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rebalancing import _core
from rebalancing._validation import (
    Labels,
    as_per_asset,
    as_vector,
    check_costs,
    check_scalar,
    check_weights_sum,
    resolve_labels,
)
from rebalancing.covariance import as_covariance
from rebalancing.settings import Settings, as_settings
from rebalancing.status import Status
from rebalancing.typing import Covariance, PerAsset, SellCurves, Weights

__all__ = ["RebalanceResult", "check_scale", "optimal_rebalance", "solve"]


@dataclass(frozen=True)
class RebalanceResult:
    """The solution of one rebalancing problem.

    Attributes
    ----------
    weights : np.ndarray or pd.Series
        Optimal weights w (labelled by ticker when the inputs were).
    trades : np.ndarray or pd.Series
        ``weights - current``: positive buys, negative sells, in units of portfolio weight.
    objective : float
        F(w) = risk + cost.
    risk : float
        λ (w − w*)ᵀ Σ (w − w*).
    cost : float
        Σᵢ bᵢ (wᵢ − w⁰ᵢ)⁺ + sᵢ (w⁰ᵢ − wᵢ)⁺.
    gap : float
        Certified duality gap: F(w) − F* ≤ gap.
    status : Status
        ``Status.OPTIMAL`` (equal to ``"optimal"``) only when the gap is within tolerance;
        otherwise ``MAX_ITERATIONS`` (budget exhausted; the best point found is returned with
        its gap) or ``NUMERICAL_ERROR`` (the objective overflowed float64: rescale Σ or λ).
    iterations : int
        Polish rounds plus gradient steps.
    solve_time : float
        Seconds spent in the compiled solver (excluding input checks).
    dual : float
        Multiplier of the budget constraint Σw = 1 that gives the certificate.
    polish_rounds, gradient_steps, matvecs, largest_system : int
        Work done: active-set rounds, accelerated gradient steps, products with Σ, and the most
        assets in one reduced KKT solve.
    """

    weights: np.ndarray | pd.Series
    trades: np.ndarray | pd.Series
    objective: float
    risk: float
    cost: float
    gap: float
    status: Status
    iterations: int
    solve_time: float
    dual: float
    polish_rounds: int
    gradient_steps: int
    matvecs: int
    largest_system: int

    @property
    def optimal(self) -> bool:
        """True when the duality gap certifies optimality."""
        return self.status is Status.OPTIMAL

    @property
    def rel_gap(self) -> float:
        """``gap / |objective|`` (``gap`` itself when the objective is zero)."""
        return self.gap / abs(self.objective) if self.objective != 0 else self.gap


def solve(
    current: Weights,
    target: Weights,
    cov: Covariance,
    costs: PerAsset = 0.0,
    lam: float = 1.0,
    *,
    lower: PerAsset = 0.0,
    upper: PerAsset = 1.0,
    buy_costs: PerAsset | None = None,
    sell_costs: PerAsset | None = None,
    warm_start: Weights | RebalanceResult | None = None,
    sell_curves: SellCurves | None = None,
    settings: Settings | None = None,
    tol: float | None = None,
    abs_tol: float | None = None,
    max_iter: int | None = None,
    polish: bool | None = None,
) -> RebalanceResult:
    """Solve the cost-aware rebalancing problem exactly and certify the answer.

    Parameters
    ----------
    current : array-like, pd.Series or mapping by ticker, shape (n,)
        Current weights w⁰ (fractions of the portfolio); must sum to 1 within 1e-6. May lie
        outside the bounds (the solution then trades back inside them).
    target : array-like, pd.Series or mapping by ticker, shape (n,)
        Target weights w*; must sum to 1 within 1e-6.
    cov : array-like, pd.DataFrame, DenseCovariance or FactorModel, shape (n, n)
        Covariance Σ: symmetric positive semidefinite (checked; see :class:`DenseCovariance`),
        or a factor model B F Bᵀ + D (:class:`FactorModel`; products cost O(nk)).
    costs : float, array-like, pd.Series or mapping by ticker, shape (n,)
        Cost per unit of weight traded, both directions, as a fraction of the amount traded
        (0.001 = 10 bp). Default 0. A cost of 0.05 or more is refused as a unit slip.
    lam : float
        Risk aversion λ ≥ 0. λ = 0 minimises costs alone.
    lower, upper : float or array-like, shape (n,)
        Bounds l ≤ w ≤ u with Σl ≤ 1 ≤ Σu. Defaults 0 and 1 (long-only).
    buy_costs, sell_costs : float or array-like, optional
        Asymmetric costs; each defaults to ``costs``.
    warm_start : array-like, pd.Series or RebalanceResult, optional
        A starting point, e.g. the previous rebalance's weights; projected onto the feasible set.
    sell_curves : mapping or sequence, optional
        Piecewise-linear sell costs, e.g. the tax of selling lot by lot: for an asset (a ticker
        or an index as key; or a list with one entry per asset, None for none), a sequence of
        tranches ``(amount, cost)`` sold in order — ``amount`` in weight units, ``cost`` per
        unit of weight sold, which may be negative (a tax benefit). Selling the first ``amount``
        costs the first ``cost`` per unit, the next the second, and so on; the last tranche
        continues without end. The curve *replaces* the asset's sell cost (include the trading
        cost in each tranche). It must be convex: costs non-decreasing (cheapest tranche first)
        and, if the asset can be bought (``upper > current``), the first cost at least
        ``-buy_cost`` (otherwise selling and buying back at once would pay). A sell-only asset
        (``upper <= current``) may carry any benefit. The problem stays exact and certified.
    settings : Settings, optional
        Tolerances, iteration budget and polish (:class:`~rebalancing.Settings`).
    tol, abs_tol, max_iter, polish : optional
        Conveniences: each replaces that field of ``settings``.

    Returns
    -------
    RebalanceResult
        Labelled by ticker when any weight input was a pandas object.

    Raises
    ------
    ValueError, TypeError
        Bad shapes, non-finite values, misaligned tickers, asymmetric or indefinite Σ, negative
        costs or λ, lower > upper, infeasible bounds, weights that do not sum to one.

    Examples
    --------
    >>> import rebalancing as rb
    >>> res = rb.solve({"SPY": 0.7, "AGG": 0.3}, {"SPY": 0.6, "AGG": 0.4},
    ...                [[0.04, 0.0], [0.0, 0.01]], costs=0.001, lam=10.0)
    >>> res.status
    <Status.OPTIMAL: 'optimal'>
    >>> res.weights.round(4).to_dict()
    {'SPY': 0.602, 'AGG': 0.398}
    """
    config = as_settings(settings, tol=tol, abs_tol=abs_tol, max_iter=max_iter, polish=polish)
    if isinstance(warm_start, RebalanceResult):
        warm_start = warm_start.weights
    labels, (current, target, cov, costs, lower, upper, buy_costs, sell_costs, warm_start) = (
        resolve_labels(
            [
                ("current", current),
                ("target", target),
                ("cov", cov),
                ("costs", costs),
                ("lower", lower),
                ("upper", upper),
                ("buy_costs", buy_costs),
                ("sell_costs", sell_costs),
                ("warm_start", warm_start),
            ]
        )
    )
    cur = as_vector(current, "current")
    n = cur.shape[0]
    tgt = as_vector(target, "target", n, of="current")
    check_weights_sum(cur, "current")
    check_weights_sum(tgt, "target")
    lam = check_scalar(lam, "lam", minimum=0.0)
    base = as_per_asset(costs, "costs", n)
    buy = base if buy_costs is None else as_per_asset(buy_costs, "buy_costs", n)
    sell = base if sell_costs is None else as_per_asset(sell_costs, "sell_costs", n)
    for arr, name in ((base, "costs"), (buy, "buy_costs"), (sell, "sell_costs")):
        check_costs(arr, name)
    lo = as_per_asset(lower, "lower", n)
    hi = as_per_asset(upper, "upper", n)
    if (lo > hi).any():
        i = int(np.argmax(lo > hi))
        raise ValueError(f"lower must be <= upper; asset {i} has lower {lo[i]:g} > upper {hi[i]:g}")
    lo_sum, hi_sum = float(lo.sum()), float(hi.sum())
    if lo_sum > 1.0 or hi_sum < 1.0:
        raise ValueError(
            f"bounds make sum(w) = 1 infeasible: sum(lower) = {lo_sum:.6g}, "
            f"sum(upper) = {hi_sum:.6g}"
        )
    warm = None if warm_start is None else as_vector(warm_start, "warm_start", n)
    curves = _sell_curves(sell_curves, cur, buy, hi, labels)
    sigma = as_covariance(cov, n)
    if sigma.tickers is not None and labels is not None:
        sigma = sigma.reindex(labels)  # in the weights' order (the same tickers needed)
    check_scale(np.array([lam]), sigma.max_abs, n, float(np.abs(hi - lo).max()))
    raw = _core.solve(sigma.spec(), cur, tgt, buy, sell, lo, hi, lam, config.core, warm, curves)
    return _result(raw, cur, labels)


def check_scale(
    lams: np.ndarray, max_abs: float, n: int, span: float, accounts: pd.Index | None = None
) -> None:
    """Refuses λ·Σ large enough to overflow float64 in the objective or its gradient.

    |dᵀΣd| <= 4 n max|Σ| s² for weights summing to one within bounds of span s <= 1-ish, so
    λ max|Σ| 4 n max(1, s)² <= 1e300 keeps both far from overflow (1.8e308). ``lams`` holds one
    λ per account; the first offending account is named.
    """
    scale = max_abs * 4 * n * max(1.0, span) ** 2
    with np.errstate(over="ignore"):  # inf compares as too big, which is the point
        too_big = lams * scale > 1e300
    if too_big.any():
        r = int(np.flatnonzero(too_big)[0])
        where = (
            ""
            if lams.shape[0] == 1
            else (f" for account {r if accounts is None else repr(accounts[r])}")
        )
        raise ValueError(
            f"lam * cov overflows float64 arithmetic{where} (lam = {lams[r]:g}, max|cov| = "
            f"{max_abs:g}); rescale cov or lam"
        )


def _sell_curves(
    value: Any, current: np.ndarray, buy: np.ndarray, upper: np.ndarray, labels: Labels
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The core's compressed form of ``sell_curves`` (see :func:`solve`): tranche starts per
    asset (n + 1,), tranche costs, and the weight where each tranche ends (w0 minus the amounts
    sold so far; the last tranche's end is not used)."""
    if value is None:
        return None
    n = current.shape[0]
    per_asset: list[Any] = [None] * n
    if isinstance(value, dict):
        for key, tranches in value.items():
            if labels is not None and not isinstance(key, int | np.integer):
                if key not in labels:
                    raise ValueError(f"sell_curves: unknown ticker {key!r}")
                index = int(labels.get_indexer(pd.Index([key]))[0])  # unique labels (checked)
            elif isinstance(key, int | np.integer) and 0 <= int(key) < n:
                index = int(key)
            else:
                raise ValueError(f"sell_curves: key {key!r} is not an asset index in [0, {n})")
            per_asset[index] = tranches
    elif isinstance(value, list | tuple):
        if len(value) != n:
            raise ValueError(f"sell_curves must have one entry per asset ({n}), got {len(value)}")
        per_asset = list(value)
    else:
        raise TypeError(
            f"sell_curves must be a dict (asset -> tranches) or a list, got {type(value).__name__}"
        )
    start = [0]
    costs: list[float] = []
    kinks: list[float] = []
    for i, tranches in enumerate(per_asset):
        name = f"sell_curves[{labels[i]!r}]" if labels is not None else f"sell_curves[{i}]"
        if tranches is not None:
            arr = np.asarray(tranches, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
                raise ValueError(f"{name} must be a non-empty sequence of (amount, cost) pairs")
            amounts, unit_costs = arr[:, 0], arr[:, 1]
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} must be finite")
            if (amounts <= 0).any():
                raise ValueError(f"{name}: amounts must be > 0")
            if (np.diff(unit_costs) < 0).any():
                raise ValueError(f"{name}: costs must be non-decreasing (cheapest tranche first)")
            if unit_costs[0] < -buy[i] and upper[i] > current[i]:
                raise ValueError(
                    f"{name}: the first cost {unit_costs[0]:.6g} is below -buy_cost "
                    f"({-buy[i]:.6g}): selling and buying back at once would pay, so the cost "
                    "is not convex; cap the benefit at the buy cost or make the asset sell-only "
                    "(upper <= current)"
                )
            ends = current[i] - np.cumsum(amounts)
            # Consecutive tranches at the same cost are one tranche: a kink without a change of
            # slope would only give the active-set method a degenerate place to stop at.
            keep = np.append(unit_costs[1:] != unit_costs[:-1], True)
            costs.extend(unit_costs[keep].tolist())
            kinks.extend(ends[keep].tolist())
        start.append(len(costs))
    return (
        np.asarray(start, dtype=np.uintp),
        np.asarray(costs, dtype=float),
        np.asarray(kinks, dtype=float),
    )


def optimal_rebalance(
    current_w: Weights, target_w: Weights, cov: Covariance, costs: PerAsset, lam: float = 1.0
) -> np.ndarray | pd.Series:
    """Drop-in for the textbook ``optimal_rebalance``: the certified optimal weights.

    Same signature and return type as the scipy version users write (long-only bounds [0, 1],
    Σw = 1, symmetric costs), but exact: see :func:`solve` for the problem and the checks.
    Raises ``RuntimeError`` in the (unexpected) case that optimality could not be certified
    within the iteration budget, rather than returning an uncertified answer silently.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.optimal_rebalance([0.7, 0.3], [0.6, 0.4], [[0.04, 0.0], [0.0, 0.01]], 0.001, 10.0)
    array([0.602, 0.398])
    """
    res = solve(current_w, target_w, cov, costs, lam)
    if not res.optimal:
        raise RuntimeError(
            f"optimal_rebalance could not certify its answer: status {res.status!r}, "
            f"gap {res.gap:.3g}; call rebalancing.solve for the best point found"
        )
    return res.weights


def _result(raw: dict[str, Any], current: np.ndarray, labels: Labels) -> RebalanceResult:
    weights: np.ndarray | pd.Series = raw["weights"]
    trades: np.ndarray | pd.Series = raw["weights"] - current
    if labels is not None:
        weights = pd.Series(weights, index=labels, name="weight")
        trades = pd.Series(trades, index=labels, name="trade")
    return RebalanceResult(
        weights=weights,
        trades=trades,
        objective=float(raw["objective"]),
        risk=float(raw["risk"]),
        cost=float(raw["cost"]),
        gap=float(raw["gap"]),
        status=Status(raw["status"]),
        iterations=int(raw["iterations"]),
        solve_time=float(raw["solve_time"]),
        dual=float(raw["nu"]),
        polish_rounds=int(raw["polish_rounds"]),
        gradient_steps=int(raw["gradient_steps"]),
        matvecs=int(raw["matvecs"]),
        largest_system=int(raw["largest_system"]),
    )
