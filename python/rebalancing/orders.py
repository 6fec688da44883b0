"""From holdings to orders: an account in shares and cash, and a whole-share trade list.

An :class:`Account` holds shares and cash at today's prices. :func:`trade_list` solves the
continuous rebalancing problem with :func:`~rebalancing.solve` (certified), rounds it to whole
lots under guarantees that hold by construction, and reports how far the rounded portfolio can
be from the best whole-share one (a rounding certificate).

Conventions (documented once, used everywhere here):

- **Cash is a ticker named** ``"CASH"``: ``Account.weights`` has a ``"CASH"`` entry, a target
  may carry one (a cash weight, e.g. a reserve; absent means 0), and ``weights_after`` has one.
  ``"CASH"`` may not be used as a security's ticker.
- **Costs** are fractions of the amount traded (0.001 = 10 bp), the library's unit; the fee of
  an order is ``costs × notional`` and is paid from cash.
- **Weights in the objective** are ``shares × price / V`` with V the account's value before
  trading, and the cash weight is what remains (cash before fees): exactly the model of
  :func:`~rebalancing.solve`, where fees are the cost term rather than a change of weights. So
  the continuous optimum and the rounded portfolio are scored by one function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from rebalancing._validation import (
    as_float_array,
    check_choice,
    check_costs,
    check_count,
    check_scalar,
    check_weights_sum,
)
from rebalancing.covariance import DenseCovariance, FactorModel
from rebalancing.settings import Settings
from rebalancing.solver import RebalanceResult, solve
from rebalancing.typing import ByTicker, Covariance, PerAsset

__all__ = ["CASH", "Account", "TradeList", "trade_list"]

#: The ticker of cash in weights and targets.
CASH = "CASH"

#: Shares per unit when ``fractional=True``: brokers that sell fractions keep 6 decimals.
FRACTIONAL_QUANTUM = 1e-6

_Vector: TypeAlias = np.ndarray

#: Two-asset moves with an exact best response (:func:`_pair_moves`) for up to this many
#: tickers: O(n²) best responses a round, affordable in Python for small accounts.
PAIR_MOVES_UP_TO = 20


def _who(name: str | None) -> str:
    return "account" if name is None else f"account {name!r}"


def _by_ticker(value: Any, arg: str, who: str) -> pd.Series:
    """A mapping or Series by ticker as a float Series, each value a finite real number."""
    if isinstance(value, Mapping) and not isinstance(value, pd.Series):
        value = pd.Series(dict(value), dtype=object)
    if not isinstance(value, pd.Series):
        raise TypeError(
            f"{who}: {arg} must be a pd.Series or a mapping by ticker, got {type(value).__name__}"
        )
    if value.index.has_duplicates:
        dup = value.index[value.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"{who}: {arg} has duplicate tickers: {dup}")
    out = {}
    for ticker, v in value.items():
        if isinstance(v, bool | np.bool_) or not isinstance(
            v, int | float | np.integer | np.floating
        ):
            raise TypeError(
                f"{who}: {arg}[{ticker!r}] must be a real number, got {type(v).__name__}"
            )
        if not math.isfinite(float(v)):
            raise ValueError(f"{who}: {arg}[{ticker!r}] must be finite, got {v!r}")
        out[ticker] = float(v)
    return pd.Series(out, index=value.index, dtype=float)


class Account:
    """One account: shares and cash at today's prices.

    Parameters
    ----------
    shares : pd.Series or mapping ticker -> shares
        Shares held, each >= 0 (fractions allowed). The ticker ``"CASH"`` is reserved.
    cash : float
        Cash, >= 0, in the account's currency.
    prices : pd.Series or mapping ticker -> price
        Price per share, each finite and > 0, for every ticker held; may also price tickers
        not held (a ticker to buy needs a price).
    name : str, optional
        Named in every error about this account.

    The account is frozen: ``shares`` and ``prices`` return copies.

    Raises
    ------
    ValueError, TypeError
        Negative or non-finite shares, a held ticker without a price, a price that is missing,
        NaN or <= 0, negative cash, booleans or text where numbers belong; the message names the
        account and the ticker.

    Examples
    --------
    >>> import rebalancing as rb
    >>> acct = rb.Account({"VTI": 10, "BND": 20}, cash=500.0,
    ...                   prices={"VTI": 250.0, "BND": 75.0}, name="IRA")
    >>> acct.value
    4500.0
    >>> acct.weights.round(4).to_dict()
    {'VTI': 0.5556, 'BND': 0.3333, 'CASH': 0.1111}
    """

    __slots__ = ("_cash", "_name", "_prices", "_shares")
    _shares: pd.Series
    _prices: pd.Series
    _cash: float
    _name: str | None

    def __init__(
        self, shares: ByTicker, cash: float, prices: ByTicker, *, name: str | None = None
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        who = _who(name)
        held = _by_ticker(shares, "shares", who)
        price = _by_ticker(prices, "prices", who)
        if CASH in held.index or CASH in price.index:
            raise ValueError(f"{who}: {CASH!r} is reserved for cash; pass cash= instead")
        for ticker, v in held.items():
            if v < 0:
                raise ValueError(f"{who}: shares[{ticker!r}] must be >= 0, got {v:g}")
        for ticker, v in price.items():
            if v <= 0:
                raise ValueError(f"{who}: prices[{ticker!r}] must be > 0, got {v:g}")
        missing = [t for t in held.index if t not in price.index]
        if missing:
            raise ValueError(
                f"{who}: prices has no price for ticker(s) {missing[:5]} held in shares"
            )
        if isinstance(cash, bool | np.bool_) or not isinstance(
            cash, int | float | np.integer | np.floating
        ):
            raise TypeError(f"{who}: cash must be a real number, got {type(cash).__name__}")
        c = float(cash)
        if not math.isfinite(c) or c < 0:
            raise ValueError(f"{who}: cash must be finite and >= 0, got {cash!r}")
        object.__setattr__(self, "_shares", held)
        object.__setattr__(self, "_prices", price)
        object.__setattr__(self, "_cash", c)
        object.__setattr__(self, "_name", name)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("Account is frozen")

    @property
    def name(self) -> str | None:
        """The account's name (None if not given)."""
        return self._name

    @property
    def shares(self) -> pd.Series:
        """Shares held by ticker (a copy)."""
        return self._shares.copy()

    @property
    def prices(self) -> pd.Series:
        """Prices by ticker (a copy)."""
        return self._prices.copy()

    @property
    def cash(self) -> float:
        """Cash."""
        return self._cash

    @property
    def value(self) -> float:
        """Σ shares × price + cash."""
        held = self._shares * self._prices.reindex(self._shares.index)
        return math.fsum([*held.tolist(), self._cash])

    @property
    def weights(self) -> pd.Series:
        """Each held ticker's share of :attr:`value`, then ``"CASH"``; they sum to 1 (all zero
        for an empty account)."""
        held = self._shares * self._prices.reindex(self._shares.index)
        out: pd.Series = pd.concat([held, pd.Series({CASH: self._cash})])
        v = self.value
        return (out / v if v > 0 else out * 0.0).rename("weight")

    def __repr__(self) -> str:
        return (
            f"Account(name={self._name!r}, tickers={len(self._shares)}, "
            f"cash={self._cash:g}, value={self.value:g})"
        )


@dataclass(frozen=True)
class TradeList:
    """Orders for one account and the certificate of their rounding.

    Attributes
    ----------
    orders : pd.DataFrame
        One row per order: ``ticker, side ("sell"/"buy"), shares (> 0), price, notional
        (shares × price), est_cost (costs × notional, paid from cash), reason``; sells first.
        ``reason`` is ``"exit"`` (a whole position whose target is 0 is sold) or ``"rebalance"``.
    shares_after : pd.Series
        Shares per ticker after the orders (held and target tickers).
    cash_after : float
        Cash after the orders, fees included: ``cash + Σ sells − Σ buys − Σ est_cost``.
    weights_after : pd.Series
        Weights after the orders (value after fees), with ``"CASH"``.
    continuous : RebalanceResult
        The certified continuous solution (over the tickers, then ``"CASH"``).
    continuous_objective : float
        Its objective F(w) (see :func:`trade_list` for F).
    rounded_objective : float
        F at the whole-share portfolio: the same λΣ and costs.
    lower_bound : float
        A valid lower bound on F over every whole-share portfolio meeting the guarantees: the
        continuous optimum minus its certified duality gap (a relaxation: it drops lots, the
        minimum trade and fees).
    gap : float
        ``rounded_objective − lower_bound`` (>= 0): the rounded portfolio is at most this far
        from the best whole-share portfolio.
    gap_bp : float
        The gap as tracking error, ``1e4 · sqrt(gap / λ)`` (in bp of the units of Σ; NaN when
        λ = 0): the tracking error whose λ-weighted variance equals the gap.

    Examples
    --------
    >>> import rebalancing as rb
    >>> acct = rb.Account({"A": 3}, cash=100.0, prices={"A": 100.0, "B": 50.0})
    >>> tl = rb.trade_list(acct, {"A": 0.5, "B": 0.5})
    >>> tl.orders[["ticker", "side", "shares"]].to_dict("records")
    [{'ticker': 'A', 'side': 'sell', 'shares': 1.0}, {'ticker': 'B', 'side': 'buy', 'shares': 4.0}]
    >>> tl.cash_after, tl.gap
    (0.0, 0.0)
    """

    orders: pd.DataFrame
    shares_after: pd.Series
    cash_after: float
    weights_after: pd.Series
    continuous: RebalanceResult
    continuous_objective: float
    rounded_objective: float
    lower_bound: float
    gap: float
    gap_bp: float


@dataclass
class _Problem:
    """Everything the rounding search needs, in arrays over the n tickers (cash apart).

    A portfolio is an integer vector k: asset i trades k_i units of q_i shares (k < 0 sells).
    """

    tickers: pd.Index
    held: _Vector  # shares held
    price: _Vector
    quantum: _Vector  # shares per unit (lot size, or FRACTIONAL_QUANTUM)
    unit: _Vector  # dollars per unit, q_i p_i
    costs: _Vector  # fee rate per dollar traded (also the objective's cost rate, or 0)
    obj_costs: _Vector  # cost rate in the objective (costs for "optimal", 0 for "target")
    lo: _Vector  # smallest k (sell all whole units held, or 0)
    hi: _Vector  # largest k (buy without limit but cash; bounded for safety)
    min_units: _Vector  # a non-zero |k| is at least this (minimum trade)
    cash: float
    reserve: float
    value: float
    lam: float
    sigma: _Vector  # (n + 1, n + 1) with cash last
    w0: _Vector  # (n + 1,)
    target: _Vector  # (n + 1,)


def _cash_after(p: _Problem, k: _Vector) -> float:
    """Cash after the orders k, exactly as the orders frame reports it (one correctly rounded
    sum, so the guarantee checked here is the one the user sees)."""
    shares = np.abs(k) * p.quantum
    notional = shares * p.price
    fees = p.costs * notional
    signed = np.where(k > 0, -notional, notional)
    return math.fsum([p.cash, *signed.tolist(), *(-fees).tolist()])


def _objective(p: _Problem, k: _Vector) -> float:
    """F = λ dᵀΣd + Σ cᵢ |Δwᵢ| with d = w − w* over the tickers and cash (cash before fees)."""
    a = k * p.unit / p.value
    d = p.target.copy() * -1.0
    d[:-1] += p.w0[:-1] + a
    d[-1] += p.w0[-1] - a.sum()
    return float(p.lam * d @ p.sigma @ d + np.sum(p.obj_costs * np.abs(a)))


def _allowed(p: _Problem, i: int, k: float) -> bool:
    return p.lo[i] <= k <= p.hi[i] and (k == 0 or abs(k) >= p.min_units[i])


def _round(p: _Problem, y: _Vector) -> _Vector:
    """Start: per asset the floor or ceil of the continuous trade y (in units) nearer to it,
    inside the bounds; a trade below the minimum becomes 0 or the minimum, whichever is
    nearer."""
    k = np.zeros_like(y)
    for i, yi in enumerate(y):
        best = None
        for cand in (math.floor(yi), math.ceil(yi), 0.0, p.min_units[i], -p.min_units[i]):
            c = float(min(max(cand, p.lo[i]), p.hi[i]))
            if not _allowed(p, i, c):
                continue
            if best is None or abs(c - yi) < abs(best - yi):
                best = c
        k[i] = 0.0 if best is None else best
    return k


def _down_step(p: _Problem, i: int, k: float, units: float) -> float | None:
    """The allowed k' < k about ``units`` below k (freeing cash), or None: a buy stops at 0
    (no order) before it turns into a sale, and a sale is at least the minimum trade."""
    m = p.min_units[i]
    t = k - max(1.0, units)
    if k > 0 and t < m:
        t = 0.0
    elif k <= 0 and t > -m:
        t = -m
    t = max(t, p.lo[i])
    if t >= k or not _allowed(p, i, t):
        return None
    return float(t)


def _most_cash(p: _Problem) -> _Vector:
    """Every allowed sale in full and nothing bought: the most cash the rules can raise."""
    return np.where(np.abs(p.lo) >= p.min_units, p.lo, 0.0)


def _repair_cash(p: _Problem, k: _Vector) -> _Vector:
    """Drop buy increments (or add sells) that cost the least objective per dollar freed until
    the cash after fees covers the reserve. Every step lowers some k_i toward its lower bound,
    and the portfolio with every k at its lower bound is feasible (checked before), so this
    ends."""
    k = k.copy()
    for _ in range(10 * k.size + 10_000):
        short = p.reserve - _cash_after(p, k)
        if short <= 0:
            return k
        base = _objective(p, k)
        best: tuple[float, int, float] | None = None
        for i in range(k.size):
            # Enough units to cover the shortfall at once (one lot for whole shares, usually);
            # fractional shares need many units and move in bulk.
            rate = p.unit[i] * (1 - p.costs[i])
            step = _down_step(p, i, k[i], math.ceil(short / rate) if rate > 0 else 1.0)
            if step is None:
                continue
            trial = k.copy()
            trial[i] = step
            freed = _cash_after(p, trial) - _cash_after(p, k)
            if freed <= 0:
                continue
            per_dollar = (_objective(p, trial) - base) / min(freed, short)
            if best is None or per_dollar < best[0]:
                best = (per_dollar, i, step)
        if best is None:
            break
        k[best[1]] = best[2]
    # Not reached given the feasibility check in trade_list; the guarantee is never dropped.
    return _most_cash(p)


def _gradient(p: _Problem, k: _Vector) -> _Vector:
    """g = Σd at the portfolio k (d over the tickers and cash)."""
    a = k * p.unit / p.value
    d = -p.target.copy()
    d[:-1] += p.w0[:-1] + a
    d[-1] += p.w0[-1] - a.sum()
    out: _Vector = p.sigma @ d
    return out


def _best_response(
    p: _Problem, k: _Vector, i: int, g: _Vector, cash: float
) -> tuple[float, float] | None:
    """The best allowed, cash-feasible k_i with the others fixed, and the change of F (from
    k_i itself, which counts only if it is feasible); None if no value of k_i is feasible.
    ``g = Σd`` and ``cash`` (after fees) belong to k.

    Moving k_i by δ moves d by a(eᵢ − e_c), a = δu/V (u the dollars per unit), so F changes by
    A δ² + B δ + C(|k_i + δ| − |k_i|) with A = λH(u/V)², H = Σᵢᵢ − 2Σᵢc + Σcc,
    B = 2λ(u/V)(gᵢ − g_c), C = cᵢu/V: convex in δ. Its integer minimum over each allowed piece
    ([lo, −m], {0}, [m, top], top the cash bound) is at a piece end or next to the piece's
    stationary point, so a handful of candidates is exact. A ±1-lot move is among them."""
    u = p.unit[i] / p.value
    h = p.sigma[i, i] - 2 * p.sigma[i, -1] + p.sigma[-1, -1]
    qa = p.lam * h * u * u
    qb = 2 * p.lam * u * (g[i] - g[-1])
    qc = p.obj_costs[i] * u
    ki = float(k[i])
    # Cash bound: k'u(1 ± c) <= slack, the cash of everything else less the reserve
    # (k'u + cu|k'| is increasing in k', so this is k' <= top).
    slack = cash - p.reserve + ki * p.unit[i] + p.unit[i] * p.costs[i] * abs(ki)
    rate = p.unit[i] * (1 + p.costs[i] if slack >= 0 else 1 - p.costs[i])
    bound = slack / rate
    top = float(p.hi[i]) if not math.isfinite(bound) else min(math.floor(bound), float(p.hi[i]))
    m = float(p.min_units[i])
    pieces = [(float(p.lo[i]), min(-m, top)), (0.0, 0.0 if top >= 0 else -1.0), (m, top)]
    cands: set[float] = set()
    for lo_, hi_ in pieces:
        if lo_ > hi_:
            continue
        cands.update((lo_, hi_))
        if qa > 0 and math.isfinite(qa * qb * qc):
            for sign in (1.0, -1.0):
                x = ki - (qb + sign * qc) / (2 * qa)
                if math.isfinite(x):
                    cands.update(
                        float(min(max(c, lo_), hi_)) for c in (math.floor(x), math.ceil(x))
                    )
    scored = sorted(
        (qa * (c - ki) ** 2 + qb * (c - ki) + qc * (abs(c) - abs(ki)), c)
        for c in cands
        if _allowed(p, i, c)
    )
    for df, c in scored:  # the first that the exact cash confirms (it almost always does)
        trial = k.copy()
        trial[i] = c
        if _cash_after(p, trial) >= p.reserve:
            return c, (0.0 if c == ki else df)
    return None


def _improve(p: _Problem, k: _Vector, max_passes: int = 50) -> _Vector:
    """Exact coordinate moves: each asset in turn to its best response (:func:`_best_response`)
    while F strictly decreases; at least as strong as ±1-lot moves."""
    k = k.copy()
    g = _gradient(p, k)
    for _ in range(max_passes):
        improved = False
        for i in range(k.size):
            best = _best_response(p, k, i, g, _cash_after(p, k))
            if best is not None and best[1] < -1e-15 and best[0] != k[i]:
                g += (best[0] - k[i]) * p.unit[i] / p.value * (p.sigma[:, i] - p.sigma[:, -1])
                k[i] = best[0]
                improved = True
        if not improved:
            break
    return k


def _pair_moves(p: _Problem, k: _Vector, max_rounds: int = 50) -> _Vector:
    """Moves of two assets: asset i to a neighbouring allowed count (±1, ±2 lots, 0, the
    minimum trade either way, all it can sell), cash ignored, then asset j to its exact best
    response, which restores the cash (sell one thing to buy another, or buy one and less of
    another). The best pair that strictly lowers F is taken, until none does. O(n²) best
    responses per round, so only for small n."""
    k = k.copy()
    n = k.size
    for _ in range(max_rounds):
        g = _gradient(p, k)
        best: tuple[float, int, float, int, float] | None = None
        for i in range(n):
            u = p.unit[i] / p.value
            h = p.sigma[i, i] - 2 * p.sigma[i, -1] + p.sigma[-1, -1]
            ki = float(k[i])
            m = float(p.min_units[i])
            for c in {ki + 1, ki - 1, ki + 2, ki - 2, 0.0, m, -m, float(p.lo[i])} - {ki}:
                if not _allowed(p, i, c):
                    continue
                delta = c - ki
                a = delta * u
                df_i = p.lam * (2 * a * (g[i] - g[-1]) + a * a * h)
                df_i += p.obj_costs[i] * u * (abs(c) - abs(ki))
                moved = k.copy()
                moved[i] = c
                g2 = g + a * (p.sigma[:, i] - p.sigma[:, -1])
                cash = _cash_after(p, moved)
                for j in range(n):
                    if j == i:
                        continue
                    resp = _best_response(p, moved, j, g2, cash)
                    if resp is None:
                        continue
                    total = df_i + resp[1]
                    if total < -1e-15 and (best is None or total < best[0]):
                        best = (total, i, c, j, resp[0])
        if best is None:
            break
        _, i, c, j, cj = best
        k[i], k[j] = c, cj
    return k


def _swaps(p: _Problem, k: _Vector, max_rounds: int = 20) -> _Vector:
    """±1-unit moves of two assets at once (sell one and buy another: what a binding cash
    constraint needs; or both one way), taken while F strictly decreases and every guarantee
    holds. With Δd = aᵢ(eᵢ − e_c) + aⱼ(eⱼ − e_c), ΔF = λ(2Δdᵀg + ΔdᵀΣΔd) + the cost change.
    O(n²) candidates per round, so only for small n."""
    k = k.copy()
    n = k.size
    v = p.value
    for _ in range(max_rounds):
        g = _gradient(p, k)
        best: tuple[float, int, int, float, float] | None = None
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                for di, dj in ((1.0, -1.0), (1.0, 1.0), (-1.0, -1.0)):
                    if di == dj and i > j:
                        continue
                    ki, kj = k[i] + di, k[j] + dj
                    if not (_allowed(p, i, ki) and _allowed(p, j, kj)):
                        continue
                    dd = np.zeros(n + 1)
                    dd[i], dd[j] = di * p.unit[i] / v, dj * p.unit[j] / v
                    dd[-1] = -dd[i] - dd[j]
                    df = p.lam * (2 * dd @ g + dd @ p.sigma @ dd)
                    df += p.obj_costs[i] * p.unit[i] / v * (abs(ki) - abs(k[i]))
                    df += p.obj_costs[j] * p.unit[j] / v * (abs(kj) - abs(k[j]))
                    if df < -1e-15 and (best is None or df < best[0]):
                        trial = k.copy()
                        trial[i], trial[j] = ki, kj
                        if _cash_after(p, trial) >= p.reserve:
                            best = (df, i, j, ki, kj)
        if best is None:
            break
        k[best[1]], k[best[2]] = best[3], best[4]
    return k


def _window(p: _Problem, k: _Vector, radius: int = 2, limit: int = 200_000) -> _Vector:
    """Every combination of counts within ``radius`` lots of k per asset (plus 0, the minimum
    trade either way and all it can sell), scored at once with numpy: the three- and
    four-asset moves that a binding cash constraint can need. Only when the combinations number
    at most ``limit`` (about 6 tickers)."""
    values = []
    for i in range(k.size):
        m = float(p.min_units[i])
        near = {float(k[i] + r) for r in range(-radius, radius + 1)} | {0.0, m, -m, float(p.lo[i])}
        values.append(sorted(c for c in near if _allowed(p, i, c)))
    if math.prod(len(v) for v in values) > limit:
        return k
    grid = np.stack(np.meshgrid(*values, indexing="ij"), axis=-1).reshape(-1, k.size)
    a = grid * p.unit / p.value
    d = np.empty((grid.shape[0], k.size + 1))
    d[:, :-1] = p.w0[:-1] + a - p.target[:-1]
    d[:, -1] = p.w0[-1] - a.sum(axis=1) - p.target[-1]
    f = p.lam * np.einsum("mi,ij,mj->m", d, p.sigma, d) + (p.obj_costs * np.abs(a)).sum(axis=1)
    # Cash screened in bulk with a margin for round-off, then confirmed exactly.
    money = grid * p.unit
    cash = p.cash - money.sum(axis=1) - (p.costs * np.abs(money)).sum(axis=1)
    f[cash < p.reserve - 1e-9 * max(1.0, p.value)] = np.inf
    current = _objective(p, k)
    for r in np.argsort(f, kind="stable")[:50]:
        if not f[r] < current - 1e-15 * max(1.0, abs(current)):
            break
        if _cash_after(p, grid[r]) >= p.reserve:
            out: _Vector = grid[r].copy()
            return out
    return k


def _universe(account: Account, target: pd.Series) -> pd.Index:
    held = list(account._shares.index)
    extra = [t for t in target.index if t != CASH and t not in account._shares.index]
    out: pd.Index = pd.Index(held + extra)
    return out


def _target(target: Any, who: str) -> pd.Series:
    if not isinstance(target, Mapping | pd.Series):
        raise TypeError(
            f"{who}: target must be a pd.Series or a mapping by ticker (cash as {CASH!r}), "
            f"got {type(target).__name__}"
        )
    t = _by_ticker(target, "target", who)
    for ticker, v in t.items():
        if v < 0:
            raise ValueError(f"{who}: target[{ticker!r}] must be >= 0, got {v:g}")
    check_weights_sum(t.to_numpy(), "target")
    return t


def _per_ticker(value: Any, arg: str, tickers: pd.Index, who: str) -> _Vector:
    """A scalar for every ticker, or a mapping/Series holding every ticker (extras ignored)."""
    if isinstance(value, Mapping | pd.Series):
        s = _by_ticker(value, arg, who)
        missing = [t for t in tickers if t not in s.index]
        if missing:
            raise ValueError(f"{who}: {arg} has no value for ticker(s) {missing[:5]}")
        return s.reindex(tickers).to_numpy(dtype=float)
    arr = as_float_array(value, arg)
    if arr.ndim != 0:
        raise TypeError(f"{arg} must be a number or a mapping by ticker, got shape {arr.shape}")
    if not math.isfinite(float(arr)):
        raise ValueError(f"{arg} must be finite, got {float(arr)!r}")
    return np.full(len(tickers), float(arr))


def _covariance(cov: Any, tickers: pd.Index, who: str) -> _Vector:
    """Σ over the tickers as a dense checked matrix: a DataFrame (or a labelled covariance)
    holding every ticker (extras ignored), or an unlabelled (n, n) matrix in the order of
    ``TradeList.shares_after`` (held tickers, then the target's other tickers)."""
    labels: pd.Index | None = None
    if isinstance(cov, FactorModel):
        labels, matrix = cov.tickers, cov.dense()
    elif isinstance(cov, DenseCovariance):
        labels, matrix = cov.tickers, cov.matrix
    elif isinstance(cov, pd.DataFrame):
        labels, matrix = cov.index, cov.to_numpy()
        if not cov.index.equals(cov.columns):
            raise ValueError(
                "cov must have the same tickers, in the same order, as rows and columns"
            )
    else:
        matrix = as_float_array(cov, "cov")
    if labels is not None:
        missing = [t for t in tickers if t not in labels]
        if missing:
            raise ValueError(f"{who}: cov has no row for ticker(s) {missing[:5]}")
        pos = labels.get_indexer(tickers)
        matrix = np.asarray(matrix)[np.ix_(pos, pos)]
    checked = DenseCovariance(np.ascontiguousarray(matrix, dtype=float), name="cov")
    if checked.n != len(tickers):
        raise ValueError(
            f"cov must be ({len(tickers)}, {len(tickers)}) for tickers {list(tickers)[:5]}..., "
            f"got {matrix.shape}"
        )
    return checked.matrix


def trade_list(
    account: Account,
    target: ByTicker,
    *,
    method: str = "target",
    cov: Covariance | None = None,
    costs: PerAsset = 0.0,
    lam: float = 1.0,
    lot_size: int = 1,
    min_trade: float = 0.0,
    cash_reserve: float = 0.0,
    fractional: bool = False,
    mode: str = "full",
    settings: Settings | None = None,
) -> TradeList:
    """Whole-share orders that bring ``account`` near ``target``, with a rounding certificate.

    The problem, over the tickers held and in the target plus cash (weights w = shares × price
    / V, V the value before trading, cash before fees):

    .. math::

        F(w) = λ (w − w^*)^T Σ (w − w^*) + \\sum_i c_i |w_i − w^0_i|

    - ``method="optimal"``: F as written, c = ``costs`` (the cost-aware optimum of
      :func:`~rebalancing.solve`).
    - ``method="target"``: λ = 1 and c = 0 in F (fees are still paid from cash): the nearest
      whole-share portfolio to the target in the norm of Σ.
    - ``cov=None``: Σ is the identity over the tickers *and* cash, so F is the squared distance
      of the weights (cash included) to the target. A given ``cov`` is extended with a cash row
      of zeros (cash has no risk).

    Algorithm: solve the continuous problem (certified by :func:`~rebalancing.solve`) with
    shares >= 0 (or >= held for buy-only, <= held for sell-only) and cash >= the reserve; per
    ticker take the floor or ceil of the continuous trade in lots nearer to it (never below
    what is held, a trade under ``min_trade`` becomes 0 or the minimum); make the cash feasible
    by dropping the buy increments (or adding the sells) that cost the least objective per
    dollar freed; then improve while F strictly decreases and every guarantee holds: exact
    coordinate moves (the best lot count of one ticker with the others fixed, F being convex in
    it); for up to 40 tickers ±1-lot moves of two tickers at once; for up to 20 tickers a move
    of one ticker followed by the exact best response of another (sell one to buy another);
    and, where the combinations number at most 200,000 (about 6 tickers), every combination
    within ±2 lots of the current counts, scored at once. Against exhaustive enumeration of
    every whole-share portfolio (tests/test_orders.py, up to 4 tickers) the result was the
    exact optimum in every one of the cases tried; beyond that it is a local optimum, and the
    certificate says how far it can be from the best.

    Guarantees, by construction (every candidate is checked before it is taken): never sell
    more than held; cash after the orders, fees included, >= ``cash_reserve``; every order's
    notional is 0 or >= ``min_trade``; order sizes are multiples of ``lot_size`` (of 1e-6
    share when ``fractional``); ``mode="buy_only"`` never sells, ``"sell_only"`` never buys.

    Certificate: ``lower_bound`` is the continuous optimum minus its certified gap, a valid
    bound because the continuous problem relaxes the whole-share one (it drops lots, minimum
    trades and fees and keeps every other constraint); ``gap = rounded_objective −
    lower_bound`` bounds how far the orders are from the best whole-share portfolio.

    Parameters
    ----------
    account : Account
        Shares, cash and prices.
    target : pd.Series or mapping ticker -> weight
        Target weights, >= 0, summing to 1, cash as ``"CASH"`` (absent: 0). A held ticker not
        in the target has target 0 (sold); a target ticker not held needs a price.
    method : {"target", "optimal"}
        See above.
    cov : DataFrame, DenseCovariance, FactorModel or (n, n) array, optional
        Labelled: holding every ticker (extras ignored). Unlabelled: in the order of the held
        tickers then the target's other tickers. Default: identity (see above).
    costs : float or mapping ticker -> rate
        Fee per dollar traded, a fraction (0.001 = 10 bp); below 0.05.
    lam : float
        Risk aversion λ >= 0 of ``"optimal"`` (``"target"`` uses 1).
    lot_size : int
        Order sizes are multiples of this many shares (held odd lots are never sold below a
        lot: at most the whole lots held are sold).
    min_trade : float
        Every order is worth 0 or at least this many dollars.
    cash_reserve : float
        Cash left after the orders and fees, at least; at most what the account can raise.
    fractional : bool
        Orders in fractions of a share (to 1e-6 share) instead of lots.
    mode : {"full", "buy_only", "sell_only"}
        Buy-only deploys cash; sell-only raises it (for a withdrawal, set ``cash_reserve``).
    settings : Settings, optional
        For the continuous solve.

    Returns
    -------
    TradeList

    Raises
    ------
    ValueError, TypeError
        Bad arguments (each named), a target ticker without a price, a reserve the account
        cannot raise, an empty account.

    Examples
    --------
    >>> import rebalancing as rb
    >>> acct = rb.Account({"VTI": 10, "BND": 20}, cash=500.0,
    ...                   prices={"VTI": 250.0, "BND": 75.0, "VXUS": 60.0})
    >>> tl = rb.trade_list(acct, {"VTI": 0.5, "BND": 0.2, "VXUS": 0.3}, costs=0.001)
    >>> tl.orders[["ticker", "side", "shares", "notional"]]
      ticker  side  shares  notional
    0    VTI  sell     1.0     250.0
    1    BND  sell     8.0     600.0
    2   VXUS   buy    22.0    1320.0
    >>> round(tl.cash_after, 2)
    27.83
    >>> tl.lower_bound <= tl.rounded_objective
    True
    """
    if not isinstance(account, Account):
        raise TypeError(f"account must be a rebalancing.Account, got {type(account).__name__}")
    who = _who(account.name)
    method = check_choice(method, "method", ("target", "optimal"))
    mode = check_choice(mode, "mode", ("full", "buy_only", "sell_only"))
    lam_ = check_scalar(lam, "lam", minimum=0.0)
    lot = check_count(lot_size, "lot_size", minimum=1, maximum=10**12)
    min_trade_ = check_scalar(min_trade, "min_trade", minimum=0.0)
    reserve = check_scalar(cash_reserve, "cash_reserve", minimum=0.0)
    if not isinstance(fractional, bool):
        raise TypeError(f"fractional must be True or False, got {fractional!r}")
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"settings must be a rebalancing.Settings, got {type(settings).__name__}")
    tgt = _target(target, who)
    tickers = _universe(account, tgt)
    unpriced = [t for t in tickers if t not in account._prices.index]
    if unpriced:
        raise ValueError(f"{who}: target ticker(s) {unpriced[:5]} have no price in prices")
    fee = _per_ticker(costs, "costs", tickers, who)
    check_costs(fee, "costs")
    n = len(tickers)
    price = account._prices.reindex(tickers).to_numpy(dtype=float)
    held = account._shares.reindex(tickers).fillna(0.0).to_numpy(dtype=float)
    value = account.value
    if not value > 0:
        raise ValueError(f"{who}: the account is empty (no shares, no cash): nothing to weigh")
    if reserve > value:
        raise ValueError(
            f"{who}: cash_reserve {reserve:g} is larger than the account's value {value:g}"
        )
    quantum = np.full(n, FRACTIONAL_QUANTUM if fractional else float(lot))
    unit = quantum * price
    # Whole units held: a sale is a multiple of the quantum and never more than held.
    held_units = np.floor(held / quantum * (1 + 1e-12))
    held_units = np.where(held_units * quantum > held, held_units - 1, held_units)
    lo = np.zeros(n) if mode == "buy_only" else -held_units
    # Buying is bounded by cash; all the money of the account at most (and a float-safe cap).
    hi = np.zeros(n) if mode == "sell_only" else np.floor(value / unit) + 1
    min_units = np.ceil(min_trade_ / unit)
    min_units = np.maximum(min_units, 1.0)
    min_units = np.where(min_units * quantum * price < min_trade_, min_units + 1, min_units)
    sig = np.eye(n + 1) if cov is None else np.zeros((n + 1, n + 1))
    if cov is not None:
        sig[:n, :n] = _covariance(cov, tickers, who)
    w0 = np.append(held * price, account.cash) / value
    w0[-1] = 1.0 - w0[:-1].sum()  # sums to one in floating point for the solver's check
    wt = np.append(tgt.reindex(tickers).fillna(0.0).to_numpy(), tgt.get(CASH, 0.0))
    lam_eff = 1.0 if method == "target" else lam_
    obj_costs = np.zeros(n) if method == "target" else fee
    p = _Problem(
        tickers=tickers,
        held=held,
        price=price,
        quantum=quantum,
        unit=unit,
        costs=fee,
        obj_costs=obj_costs,
        lo=lo,
        hi=hi,
        min_units=min_units,
        cash=account.cash,
        reserve=reserve,
        value=value,
        lam=lam_eff,
        sigma=sig,
        w0=w0,
        target=wt,
    )
    # The most cash the rules allow: every sale that is allowed, and nothing bought.
    floor_k = _most_cash(p)
    if _cash_after(p, floor_k) < reserve:
        raise ValueError(
            f"{who}: cash_reserve {reserve:g} cannot be met: selling all that the mode, lots "
            f"and min_trade allow leaves {_cash_after(p, floor_k):g} after fees"
        )
    # The continuous problem relaxes the whole-share one (so its optimum is a lower bound): the
    # cash floor is loosened by a relative 1e-12 so that round-off in w0 never makes the
    # bounds infeasible for the solver (a looser relaxation is still a relaxation).
    floor_cash = reserve / value
    if mode == "buy_only":
        floor_cash = min(floor_cash, w0[-1])
    lower = np.append(w0[:-1] if mode == "buy_only" else np.zeros(n), floor_cash * (1 - 1e-12))
    upper = np.append(w0[:-1] if mode == "sell_only" else np.ones(n), 1.0)
    res = solve(
        w0,
        wt,
        sig,
        np.append(obj_costs, 0.0),
        lam_eff,
        lower=lower,
        upper=upper,
        settings=settings,
    )
    cont = np.asarray(res.weights, dtype=float)
    y = (cont[:n] - w0[:n]) * value / unit  # continuous trade in units
    # A subnormal account value overflows u/V in the search's slopes: the candidates that
    # overflow compare false and are never taken, and every guarantee is checked in full.
    with np.errstate(over="ignore", invalid="ignore"):
        k = _round(p, y)
        k = _repair_cash(p, k)
        k = _improve(p, k)
        if n <= 40 and not fractional:
            k = _swaps(p, k)
            k = _improve(p, k)
        # Fractional units (1e-6 share) make ±1-unit pair moves pointless and slow.
        if n <= PAIR_MOVES_UP_TO and not fractional:
            k = _pair_moves(p, k)
            k = _improve(p, k)
        if not fractional:
            for _ in range(10):  # a window move, then local moves from there, while F drops
                moved = _window(p, k)
                if moved is k:
                    break
                k = _improve(p, _pair_moves(p, moved) if n <= PAIR_MOVES_UP_TO else moved)
    return _result(p, k, res, tgt)


def _result(p: _Problem, k: _Vector, res: RebalanceResult, tgt: pd.Series) -> TradeList:
    shares = np.abs(k) * p.quantum
    notional = shares * p.price
    fees = p.costs * notional
    rows = []
    for i in np.argsort(np.where(k < 0, 0, 1), kind="stable"):
        if k[i] == 0:
            continue
        ticker = p.tickers[i]
        exit_ = k[i] < 0 and tgt.get(ticker, 0.0) == 0 and shares[i] >= p.held[i]
        rows.append(
            (
                ticker,
                "sell" if k[i] < 0 else "buy",
                float(shares[i]),
                float(p.price[i]),
                float(notional[i]),
                float(fees[i]),
                "exit" if exit_ else "rebalance",
            )
        )
    orders = pd.DataFrame(
        rows, columns=["ticker", "side", "shares", "price", "notional", "est_cost", "reason"]
    ).astype({"shares": float, "price": float, "notional": float, "est_cost": float})
    after = pd.Series(p.held + np.sign(k) * shares, index=p.tickers, name="shares")
    cash = _cash_after(p, k)
    worth = pd.concat([after * p.price, pd.Series({CASH: cash})])
    total = float(worth.sum())
    weights = (worth / total if total > 0 else worth * 0.0).rename("weight")
    rounded = _objective(p, k)
    lower_bound = res.objective - res.gap
    gap = max(0.0, rounded - lower_bound)
    gap_bp = 1e4 * math.sqrt(gap / p.lam) if p.lam > 0 else math.nan
    return TradeList(
        orders=orders,
        shares_after=after,
        cash_after=cash,
        weights_after=weights,
        continuous=res,
        continuous_objective=res.objective,
        rounded_objective=rounded,
        lower_bound=lower_bound,
        gap=gap,
        gap_bp=gap_bp,
    )
