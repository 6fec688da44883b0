r"""Tax-aware rebalancing: the certified solver with the tax of every lot in its sell costs.

For an account's open lots (:class:`~rebalancing.tax.Ledger`), selling a fraction :math:`\delta`
of the portfolio's value :math:`V` out of a lot with adjusted basis :math:`b` per share at price
:math:`p` realizes a gain of :math:`\delta V (1 - b/p)`, taxed at the lot's rate :math:`\tau`
(short or long term by its adjusted acquisition date, docs/tax_rules.md §1). Per unit of weight sold
the tax is therefore :math:`t = \tau (1 - b/p)` — negative for a loss (a benefit). An asset's
cost of selling is piecewise linear: lots are taken cheapest first (ascending :math:`t`, so the
curve is convex), each lot a tranche of width :math:`\text{shares} \cdot p / V` at cost
:math:`c^{\text{sell}}_i + t`. :func:`rebalancing.solve` solves the problem with these
``sell_curves`` exactly and certifies it.

Loss benefits and wash sales
----------------------------
A benefit larger than the asset's buy cost makes the cost non-convex at the current weight:
selling the loss lot and buying the shares straight back would look profitable — exactly what
the wash-sale rule forbids. The model handles it in two passes (``loss_benefit="sell-only"``,
the default):

1. solve with every benefit capped at the buy cost (a convex problem);
2. every asset with a capped benefit that pass 1 does *not* buy becomes sell-only
   (``upper = current``) with its full benefit, and the problem is solved again. Assets that
   pass 1 buys keep the capped curve (they are bought, so their sell curve is not used unless
   pass 2 changes its mind, and then the benefit is understated, never overstated).

Pass 2 is a restriction of the true problem that contains pass 1's answer, so it is never worse
(under the true costs) than pass 1. ``loss_benefit="cap"`` stops after pass 1.

Further, a loss lot whose sale would be washed now — an open lot of the same security (or a
substantially identical one, in any account, IRAs included) acquired in the last 30 days —
gets no benefit (its tax is set to zero), and a ticker under a wash-sale block
(:meth:`Ledger.can_buy`) is not bought. Purchases *after* the rebalance can still wash a loss
it realizes; :func:`rebalancing.tax.harvest` and the ledger's blocks guard those.

Amounts: the optimizer works in floats (weights); the trades it returns are in ``Decimal``
shares (rounded down to :data:`~rebalancing.tax.SHARE_QUANTUM`, or whole shares), priced at the
given ``Decimal`` prices, and the estimated tax uses the same rates. Cash is not modelled: the
portfolio value is the value of the account's lots.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from rebalancing.solver import RebalanceResult, solve
from rebalancing.tax._inputs import as_date, as_positive
from rebalancing.tax.holding import holding_term
from rebalancing.tax.ledger import SHARE_QUANTUM, Ledger

if TYPE_CHECKING:
    from rebalancing.tax._rows import LotRow, TradeRow

from rebalancing._validation import (
    align_to_tickers,
    as_float_array,
    check_costs,
    check_labels,
    require_finite,
)
from rebalancing.typing import Amount, Covariance, DateLike, PerAsset

__all__ = ["TaxAwareResult", "tax_aware_rebalance"]

TRADE_COLUMNS = [
    "ticker",
    "side",
    "shares",
    "price",
    "amount",
    "lot_id",
    "term",
    "gain",
    "tax",
    "washes",
]


@dataclass(frozen=True)
class TaxAwareResult:
    """What :func:`tax_aware_rebalance` chose.

    Attributes
    ----------
    solution : RebalanceResult
        The certified solve (weights labelled by ticker; ``objective`` includes the taxes as
        costs); the final pass's.
    trades : DataFrame
        One row per lot sold (``lot_id``, ``term``, estimated ``gain`` and ``tax``; ``washes``
        when a recent purchase would wash its loss, whose tax is then 0 — deferred, not
        realized) and per ticker bought; ``shares``, ``price``, ``amount`` as ``Decimal``.
    estimated_tax : Decimal
        Sum of the rows' ``tax`` (negative: a benefit), before any wash-sale adjustment.
    value : Decimal
        The portfolio value the weights refer to.
    sell_only : tuple of str
        Tickers made sell-only by the second pass.
    no_benefit : tuple of str
        Lot ids whose loss would be washed by a recent purchase (benefit set to zero).
    passes : int
        1 or 2.
    applied : bool
        Whether the trades were recorded in the ledger.
    """

    solution: RebalanceResult
    trades: pd.DataFrame
    estimated_tax: Decimal
    value: Decimal
    sell_only: tuple[str, ...] = ()
    no_benefit: tuple[str, ...] = ()
    passes: int = 1
    applied: bool = False
    notes: tuple[str, ...] = field(default=())


@dataclass
class _Lot:
    lot_id: str
    ticker: str
    shares: Decimal
    basis_per_share: Decimal
    term: str
    tax_per_unit: float  # tax per unit of weight sold (fraction of the portfolio value)


def _rate(value: Any, name: str) -> float:
    try:
        valid = isinstance(value, Decimal | int | float | str) and not isinstance(value, bool)
        rate = float(value) if valid else math.nan
    except ValueError:  # text that is not a number
        rate = math.nan
    if not (0.0 <= rate < 1.0):
        raise ValueError(f"{name} must be a tax rate in [0, 1), got {value!r}")
    return rate


def _per_asset(value: Any, name: str, tickers: pd.Index) -> np.ndarray:
    """A scalar, or a value per ticker (a Series or mapping covering at least the account's and
    the target's tickers, aligned by the library's one aligner), as a finite, non-negative array;
    costs are also checked for unit slips."""
    aligned = align_to_tickers(value, tickers, name, "the account's tickers", allow_extra=True)
    arr = np.atleast_1d(as_float_array(aligned, name))
    if arr.shape not in ((1,), (len(tickers),)):
        raise ValueError(f"{name} must be a scalar or one value per ticker, got shape {arr.shape}")
    arr = np.broadcast_to(arr, (len(tickers),)).copy()
    require_finite(arr, name)
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {float(arr.min()):g}")
    if name.endswith("costs"):
        check_costs(arr, name)
    return arr


def tax_aware_rebalance(
    ledger: Ledger,
    prices: Mapping[str, Any] | pd.Series,
    target: pd.Series,
    cov: Covariance,
    date: DateLike,
    *,
    lam: float = 1.0,
    account: str | None = None,
    short_term_rate: Amount | float = "0.37",
    long_term_rate: Amount | float = "0.20",
    costs: PerAsset = 0.0,
    buy_costs: PerAsset | None = None,
    sell_costs: PerAsset | None = None,
    lower: PerAsset = 0.0,
    upper: PerAsset = 1.0,
    loss_benefit: Literal["sell-only", "cap"] = "sell-only",
    whole_shares: bool = False,
    apply: bool = False,
) -> TaxAwareResult:
    """Rebalance ``account`` towards ``target`` with the tax of every lot as a sell cost.

    Parameters
    ----------
    ledger : Ledger
        The account's lots (wash-adjusted bases and dates are used).
    account : str, optional
        The account to rebalance; may be omitted when the ledger has one account.
    prices : mapping or Series of ticker → price (``Decimal``, ``int`` or ``str``)
        For every ticker held or in ``target``.
    target : Series
        Target weights by ticker, summing to one; tickers held but not in it get target 0.
    cov : DataFrame or FactorModel
        Annualized covariance over the target's tickers followed by the held tickers not in it,
        in that order (labels are checked).
    date : date or ISO string
        The trade date: holding periods, wash-sale windows and blocks are judged on it.
    lam : float
        Risk aversion λ of :func:`rebalancing.solve`.
    short_term_rate, long_term_rate : Decimal, str or float
        Tax rates on short- and long-term gains.
    costs, buy_costs, sell_costs : scalar or Series
        Trading costs per unit of weight (as in :func:`rebalancing.solve`); the sell cost is
        added to every lot's tax.
    lower, upper : scalar or Series
        Weight bounds.
    loss_benefit : {"sell-only", "cap"}
        How a loss benefit above the buy cost is handled (see the module docstring).
    whole_shares : bool
        Trade whole shares only (rounded down).
    apply : bool
        Record the trades in the ledger (sales by ``spec_id``, then buys) in one transaction.

    Examples
    --------
    >>> from decimal import Decimal as D
    >>> import pandas as pd
    >>> from rebalancing import tax
    >>> ledger = tax.Ledger({"brokerage": "taxable"})
    >>> _ = ledger.buy("2023-01-03", "VOO", 100, D("380"))
    >>> _ = ledger.buy("2023-01-03", "BND", 100, D("70"))
    >>> target = pd.Series({"VOO": 0.5, "BND": 0.5})
    >>> cov = pd.DataFrame([[0.04, 0.0], [0.0, 0.004]], target.index, target.index)
    >>> best = tax.tax_aware_rebalance(
    ...     ledger, {"VOO": D("500"), "BND": D("72")}, target, cov, "2024-07-01", lam=10.0
    ... )
    >>> best.solution.weights.round(4).to_dict()  # VOO's gain is taxed: it stays overweight
    {'VOO': 0.5545, 'BND': 0.4455}
    >>> best.estimated_tax
    Decimal('877.4400000')
    """
    when = as_date(date, "date")
    if not isinstance(target, pd.Series):
        raise TypeError("target must be a pandas Series of weights by ticker")
    if loss_benefit not in ("sell-only", "cap"):
        raise ValueError(f"loss_benefit must be 'sell-only' or 'cap', got {loss_benefit!r}")
    st_rate = _rate(short_term_rate, "short_term_rate")
    lt_rate = _rate(long_term_rate, "long_term_rate")
    account = ledger.account_name(account)
    open_lots = ledger.lots(account=account)
    held = list(dict.fromkeys(open_lots["ticker"])) if len(open_lots) else []
    tickers = pd.Index(list(target.index) + [t for t in held if t not in target.index])
    if not isinstance(prices, Mapping | pd.Series):
        raise TypeError("prices must be a mapping or a Series of ticker → price")
    price: dict[str, Decimal] = {}
    for t in tickers:
        if t not in prices:
            raise ValueError(f"prices: no price for {t!r}")
        price[t] = as_positive(prices[t], f"prices[{t!r}]")

    # Values, weights and lots.
    shares_held = {t: Decimal(0) for t in tickers}
    # cast: pandas-stubs type the fields as pandas scalars, not the frame's Decimal/date (_rows).
    for row in cast("Iterator[LotRow]", open_lots.itertuples(index=False)):
        shares_held[row.ticker] += row.shares
    values = {t: shares_held[t] * price[t] for t in tickers}
    value = sum(values.values(), Decimal(0))
    if value <= 0:
        raise ValueError(f"account {account!r} holds nothing to rebalance on {when}")
    current = pd.Series([float(values[t] / value) for t in tickers], tickers)
    current /= current.sum()
    tgt = target.reindex(tickers).fillna(0.0).astype(float)
    if isinstance(cov, pd.DataFrame):  # may cover a wider universe than the account
        check_labels(cov.columns, cov.index, "cov columns", "its rows")
        cov = align_to_tickers(
            cov.loc[:, cov.index], tickers, "cov", "the account's tickers", allow_extra=True
        )

    # Lots of every account (IRA purchases wash too) acquired in the last 30 days, by ticker.
    every = ledger.lots()
    recent_rows = every[
        pd.to_datetime(every["original"]) >= pd.Timestamp(when) - pd.Timedelta(days=30)
    ]
    recent_by_ticker: dict[str, set[str]] = {}
    for ticker, lot_id in zip(recent_rows["ticker"], recent_rows["lot_id"], strict=True):
        recent_by_ticker.setdefault(ticker, set()).add(lot_id)
    lots: dict[str, list[_Lot]] = {t: [] for t in tickers}
    no_benefit: list[str] = []
    for row in cast("Iterator[LotRow]", open_lots.itertuples(index=False)):  # cast: as above
        term = holding_term(row.acquired, when)
        rate = st_rate if term == "short" else lt_rate
        per_unit = rate * float(1 - row.basis_per_share / price[row.ticker])
        if per_unit < 0:
            recent = set().union(
                *(recent_by_ticker.get(t, set()) for t in _group(ledger, row.ticker))
            )
            if recent - {row.lot_id}:
                per_unit = 0.0
                no_benefit.append(row.lot_id)
        lots[row.ticker].append(
            _Lot(row.lot_id, row.ticker, row.shares, row.basis_per_share, term, per_unit)
        )
    for t in tickers:
        lots[t].sort(key=lambda lot: lot.tax_per_unit)

    base = _per_asset(costs, "costs", tickers)
    buy = base if buy_costs is None else _per_asset(buy_costs, "buy_costs", tickers)
    sell = base if sell_costs is None else _per_asset(sell_costs, "sell_costs", tickers)
    up = _per_asset(upper, "upper", tickers)
    for i, t in enumerate(tickers):
        if not ledger.can_buy(t, when):
            up[i] = min(up[i], float(current[t]))  # blocked: no purchase

    def curves(capped: bool, sell_only: set[str]) -> dict[str, list[tuple[float, float]]]:
        out: dict[str, list[tuple[float, float]]] = {}
        for i, t in enumerate(tickers):
            if not lots[t]:
                continue
            floor = -buy[i] if capped and t not in sell_only else -math.inf
            out[t] = [
                (float(lot.shares * price[t] / value), max(sell[i] + lot.tax_per_unit, floor))
                for lot in lots[t]
            ]
        return out

    def run(sell_only: set[str], capped: bool) -> RebalanceResult:
        bounds = up.copy()
        for i, t in enumerate(tickers):
            if t in sell_only:
                bounds[i] = min(bounds[i], float(current[t]))
        return solve(
            current,
            tgt,
            cov,
            lam=lam,
            buy_costs=buy,
            sell_costs=sell,
            lower=lower,
            upper=bounds,
            sell_curves=curves(capped, sell_only),
        )

    # Assets whose first benefit exceeds the buy cost and that may still be bought.
    nonconvex = {
        t
        for i, t in enumerate(tickers)
        if lots[t] and sell[i] + lots[t][0].tax_per_unit < -buy[i] and up[i] > current[t]
    }
    result = run(set(), capped=True)
    passes = 1
    sell_only: set[str] = set()
    if nonconvex and loss_benefit == "sell-only":
        weights = np.asarray(result.weights, dtype=float)
        sell_only = {t for t in nonconvex if weights[tickers.get_loc(t)] <= float(current[t])}
        if sell_only:
            result = run(sell_only, capped=True)
            passes = 2

    trades = _trades(
        result,
        current,
        tickers,
        lots,
        price,
        value,
        (st_rate, lt_rate),
        set(no_benefit),
        whole_shares,
    )
    estimated = sum((r for r in trades["tax"] if r is not None), Decimal(0))
    applied = False
    if apply:
        _apply(ledger, trades, when, account)
        applied = True
    return TaxAwareResult(
        solution=result,
        trades=trades,
        estimated_tax=estimated,
        value=value,
        sell_only=tuple(sorted(sell_only)),
        no_benefit=tuple(no_benefit),
        passes=passes,
        applied=applied,
    )


def _group(ledger: Ledger, ticker: str) -> set[str]:
    for group in ledger.identical:
        if ticker in group:
            return set(group)
    return {ticker}


def _quantize(shares: Decimal, whole: bool) -> Decimal:
    quantum = Decimal(1) if whole else SHARE_QUANTUM
    return shares.quantize(quantum, rounding=ROUND_DOWN)


def _trades(
    result: RebalanceResult,
    current: pd.Series,
    tickers: pd.Index,
    lots: dict[str, list[_Lot]],
    price: dict[str, Decimal],
    value: Decimal,
    rates: tuple[float, float],
    washed: set[str],
    whole: bool,
) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    weights = np.asarray(result.weights, dtype=float)
    for i, t in enumerate(tickers):
        delta = Decimal(repr(float(weights[i]) - float(current[t])))
        shares = abs(delta) * value / price[t]
        if delta < 0:
            # The solve stops exactly at a lot boundary (a kink of the curve) far more often
            # than near one: snap float round-off there, so whole lots are sold whole.
            boundary = Decimal(0)
            for lot in lots[t]:
                boundary += lot.shares
                if abs(shares - boundary) <= max(Decimal("1e-9") * boundary, SHARE_QUANTUM / 2):
                    shares = boundary
                    break
        shares = _quantize(shares, whole)
        if shares == 0:
            continue
        if delta > 0:
            amount = shares * price[t]
            rows.append((t, "buy", shares, price[t], amount, None, None, None, None, False))
            continue
        left = shares
        for lot in lots[t]:  # the order the curve sold them in
            if left == 0:
                break
            take = min(left, lot.shares)
            gain = take * (price[t] - lot.basis_per_share)
            rate = Decimal(repr(rates[0] if lot.term == "short" else rates[1]))
            # A loss that a recent purchase washes is deferred, not realized: no tax effect now.
            washes = lot.lot_id in washed and gain < 0
            tax = Decimal(0) if washes else gain * rate
            amount = take * price[t]
            rows.append(
                (t, "sell", take, price[t], amount, lot.lot_id, lot.term, gain, tax, washes)
            )
            left -= take
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)


def _apply(ledger: Ledger, trades: pd.DataFrame, when: Any, account: str) -> None:
    with ledger.transaction():
        sells = trades[trades["side"] == "sell"]
        for ticker, rows in sells.groupby("ticker", sort=False):
            # cast: pandas-stubs type the fields as pandas scalars, not the frame's Decimal (_rows).
            picks = cast("Iterator[TradeRow]", rows.itertuples(index=False))
            chosen = {str(r.lot_id): r.shares for r in picks}
            total = sum(chosen.values(), Decimal(0))
            ledger.sell(
                when,
                str(ticker),
                total,
                rows["price"].iloc[0],
                method="spec_id",
                lots=chosen,
                account=account,
            )
        buys = cast("Iterator[TradeRow]", trades[trades["side"] == "buy"].itertuples(index=False))
        for r in buys:  # cast: as above
            ledger.buy(when, r.ticker, r.shares, r.price, account=account)
