"""Random and adversarial rebalancing instances shared by the test modules.

An instance is fully determined by a handful of discrete choices and one integer seed, so that
hypothesis explores the *kinds* of instance (covariance structure, cost pattern, bounds, lam)
while numpy's generator fills in the numbers. Every instance is feasible by construction: a
point ``p`` with ``sum(p) = 1`` is drawn first and the bounds are built around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from rebalancing.reference import objective as reference_objective

COV_KINDS = ("factor", "sample", "rank_deficient", "ill_conditioned", "diagonal", "duplicate")
COST_KINDS = ("zero", "uniform", "sparse_zeros", "asymmetric", "one_sided")
BOUND_KINDS = ("long_only", "boxes", "pinned", "long_short", "tight")
CURRENT_KINDS = ("random", "equals_target", "near_target", "concentrated", "inside_bounds")
LAMS = (0.0, 1e-12, 1.0, 10.0, 1e3)


def examples(factor: float) -> int:
    """``factor`` times the active hypothesis profile's ``max_examples`` (at least 1)."""
    return max(1, round(settings().max_examples * factor))


@dataclass
class Problem:
    """One rebalancing instance with everything :func:`rebalancing.solve` accepts."""

    current: np.ndarray
    target: np.ndarray
    cov: np.ndarray
    lam: float
    buy: np.ndarray
    sell: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.current.shape[0])

    @property
    def symmetric_costs(self) -> bool:
        return bool(np.array_equal(self.buy, self.sell))

    @property
    def long_only(self) -> bool:
        return bool(np.all(self.lower == 0.0) and np.all(self.upper == 1.0))

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`rebalancing.solve` (after the positional ones)."""
        return {
            "lam": self.lam,
            "lower": self.lower,
            "upper": self.upper,
            "buy_costs": self.buy,
            "sell_costs": self.sell,
        }

    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.current, self.target, self.cov

    def objective(self, weights: Any) -> float:
        """F(weights), evaluated accurately by the reference module."""
        return reference_objective(
            np.asarray(weights, dtype=np.float64),
            self.current,
            self.target,
            self.cov,
            0.0,
            self.lam,
            buy_costs=self.buy,
            sell_costs=self.sell,
        )

    def risk_scale(self, weights: Any) -> float:
        """lam |d|' |Sigma| |d| + cost: the magnitude that rounding of F(w) is relative to."""
        w = np.asarray(weights, dtype=np.float64)
        d = np.abs(w - self.target)
        trade = w - self.current
        cost = float(self.buy @ np.maximum(trade, 0.0) + self.sell @ np.maximum(-trade, 0.0))
        return self.lam * float(d @ np.abs(self.cov) @ d) + cost

    def copies(self) -> dict[str, np.ndarray]:
        return {
            name: getattr(self, name).copy()
            for name in ("current", "target", "cov", "buy", "sell", "lower", "upper")
        }


def _simplex(rng: np.random.Generator, n: int, concentration: float = 1.0) -> np.ndarray:
    w = rng.dirichlet(np.full(n, concentration))
    # Exact zeros are common in real portfolios and are an edge of the long-only box.
    if n > 2:
        zero = rng.random(n) < 0.2
        zero[rng.integers(n)] = False
        w[zero] = 0.0
        w /= w.sum()
    return w


def make_cov(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """A symmetric PSD covariance of annualised-return scale (variances ~ 0.01..0.2)."""
    if kind == "factor":
        k = int(rng.integers(1, 6))
        loadings = rng.normal(0.0, 0.15, size=(n, k))
        specific = rng.uniform(0.0, 0.05, size=n) ** 2
        specific[rng.random(n) < 0.1] = 0.0  # some assets with no specific risk
        cov = loadings @ loadings.T + np.diag(specific)
    elif kind in ("sample", "rank_deficient"):
        obs = (
            int(rng.integers(max(2, n + 2), 3 * n + 10))
            if kind == "sample"
            else int(rng.integers(2, max(3, n // 2 + 2)))
        )
        returns = rng.normal(0.0, 0.02, size=(obs, n)) * math.sqrt(252)
        cov = np.cov(returns, rowvar=False).reshape(n, n)
    elif kind == "ill_conditioned":
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        eig = 0.1 * np.logspace(0.0, -8.0, n)
        cov = (q * eig) @ q.T
    elif kind == "diagonal":
        var = rng.uniform(0.0, 0.3, size=n) ** 2
        var[rng.random(n) < 0.2] = 0.0  # cash-like assets
        cov = np.diag(var)
    elif kind == "duplicate":
        base = make_cov(rng, n, "factor")
        if n >= 2:  # asset 1 is an exact copy of asset 0: a singular direction
            base[1, :] = base[0, :]
            base[:, 1] = base[:, 0]
        cov = base
    else:  # pragma: no cover - a typo in a test
        raise ValueError(kind)
    return np.ascontiguousarray(0.5 * (cov + cov.T))


def make_costs(rng: np.random.Generator, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Buy and sell costs in 0..100 bp, with exact zeros where the kind says so."""
    if kind == "zero":
        c = np.zeros(n)
        return c, c.copy()
    c = rng.uniform(0.0, 0.01, size=n)
    if kind == "uniform":
        c = np.full(n, float(rng.choice([1e-4, 1e-3, 5e-3, 1e-2])))
        return c, c.copy()
    if kind == "sparse_zeros":
        c[rng.random(n) < 0.4] = 0.0
        return c, c.copy()
    other = rng.uniform(0.0, 0.01, size=n)
    if kind == "asymmetric":
        other[rng.random(n) < 0.2] = 0.0
        c[rng.random(n) < 0.2] = 0.0
        return c, other
    if kind == "one_sided":  # free to buy, expensive to sell (or the reverse)
        zeros = np.zeros(n)
        return (zeros, c) if rng.random() < 0.5 else (c, zeros)
    raise ValueError(kind)  # pragma: no cover


def make_bounds(
    rng: np.random.Generator, p: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds that contain the budget-feasible point ``p`` (so sum l <= 1 <= sum u)."""
    n = p.shape[0]
    if kind == "long_only":
        return np.zeros(n), np.ones(n)
    if kind == "long_short":
        lower = -rng.uniform(0.0, 0.3, size=n)
        upper = np.maximum(p, 0.0) + rng.uniform(0.05, 0.5, size=n)
        return np.minimum(lower, p), upper
    # Boxes around p: lower = a fraction of p, upper = p plus a fraction of the room left.
    shrink = 0.9 if kind == "boxes" else 0.99
    lower = p * rng.uniform(0.0, shrink, size=n)
    upper = p + (1.0 - p) * rng.uniform(1.0 - shrink, 1.0, size=n)
    if kind == "tight":  # narrow boxes: many assets end on a bound
        lower = p * rng.uniform(0.9, 0.99, size=n)
        upper = p + (1.0 - p) * rng.uniform(0.0, 0.02, size=n)
    if kind in ("pinned", "tight") and n > 1:
        pinned = rng.random(n) < 0.3
        pinned[rng.integers(n)] = False  # at least one asset keeps some room
        lower[pinned] = p[pinned]
        upper[pinned] = p[pinned]
    # Keep the budget feasible in floating point too (lower <= p <= upper elementwise).
    if float(np.sum(lower)) > 1.0 or math.fsum(lower) > 1.0:
        lower = np.minimum(lower, p) * (1.0 - 1e-9)
    if float(np.sum(upper)) < 1.0 or math.fsum(upper) < 1.0:
        upper = np.maximum(upper, p) + 1e-9
    return lower, upper


def make_problem(
    seed: int,
    n: int,
    cov_kind: str = "factor",
    cost_kind: str = "sparse_zeros",
    bound_kind: str = "long_only",
    current_kind: str = "random",
    lam: float = 1.0,
) -> Problem:
    rng = np.random.default_rng(seed)
    cov = make_cov(rng, n, cov_kind)
    buy, sell = make_costs(rng, n, cost_kind)
    target = _simplex(rng, n)
    p = _simplex(rng, n)
    lower, upper = make_bounds(rng, p, bound_kind)
    if current_kind == "equals_target":
        current = target.copy()
    elif current_kind == "near_target":
        current = target + rng.normal(0.0, 1e-4, size=n)
        current -= (current.sum() - 1.0) / n
    elif current_kind == "concentrated":
        current = np.zeros(n)
        current[rng.integers(n)] = 1.0
    elif current_kind == "inside_bounds":
        current = p.copy()
    else:
        current = _simplex(rng, n, concentration=0.5)
    label = f"seed={seed} n={n} {cov_kind}/{cost_kind}/{bound_kind}/{current_kind} lam={lam:g}"
    return Problem(
        current=np.ascontiguousarray(current),
        target=np.ascontiguousarray(target),
        cov=cov,
        lam=float(lam),
        buy=buy,
        sell=sell,
        lower=np.ascontiguousarray(lower),
        upper=np.ascontiguousarray(upper),
        label=label,
    )


@st.composite
def problems(
    draw: st.DrawFn,
    max_n: int = 60,
    min_n: int = 1,
    bound_kinds: tuple[str, ...] = BOUND_KINDS,
    cost_kinds: tuple[str, ...] = COST_KINDS,
    lams: tuple[float, ...] = LAMS,
) -> Problem:
    """Hypothesis strategy over instance kinds; small n is drawn more often than large."""
    n = draw(
        st.one_of(
            st.integers(min_n, min(max_n, 6)),
            st.integers(min_n, min(max_n, 20)),
            st.integers(min_n, max_n),
        )
    )
    return make_problem(
        seed=draw(st.integers(0, 2**32 - 1)),
        n=n,
        cov_kind=draw(st.sampled_from(COV_KINDS)),
        cost_kind=draw(st.sampled_from(cost_kinds)),
        bound_kind=draw(st.sampled_from(bound_kinds)),
        current_kind=draw(st.sampled_from(CURRENT_KINDS)),
        lam=draw(st.sampled_from(lams)),
    )
