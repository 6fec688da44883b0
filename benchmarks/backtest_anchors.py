r"""The same backtests as ``rb.backtest`` in bt, cvxportfolio and hand-written numpy, and the checks
that they agree.

Run ``python benchmarks/backtest_anchors.py`` to print every tool's figures side by side and
check them (about three minutes: cvxportfolio takes 0.5–1.5 minutes per backtest); the timings
are in ``test_bench_backtest.py``. ``python benchmarks/backtest_anchors.py --profile`` shows
where ``rb``'s run spends its time (cProfile).

Common setting: the 20 US stocks of ``rb.datasets.sp500_20_returns()`` (8312 daily returns,
1990-01-03 to 2022-12-28; bt gets the 8313 prices they come from), equal weight, 5 bp per unit
of value traded, starting at the target worth 1e6 on 1990-01-02. Three policies:

* ``monthly``: trade to target at the end of the last trading day of each month, the rows
  where ``rb.Schedule("monthly").mask(index)`` is True (``rb.Calendar("monthly")``);
* ``threshold-daily``: checked every day, trade to target when some :math:`|w_i - w^*_i|` >
  5 % (``rb.Threshold(0.05)``);
* ``threshold-daily-rel``: the same with a band of 5 % *of the target weight*,
  :math:`|w_i - w^*_i| > 0.05\,w^*_i` (``rb.Threshold(rel_band=0.05)``), which is what bt's
  ``RunIfOutOfBounds(0.05)`` means (see below); it trades on 45 % of the days.

Definitions (those of ``rb.backtest``'s module docstring; every tool's figures below are
converted to them, all annualized with the same :math:`Y = T / 252` years for :math:`T = 8312`
return rows):

* turnover: :math:`\frac1Y \sum_t \tfrac12 \sum_i |z_{ti}|`, the trade :math:`z` as a fraction
  of the value just before it;
* cost: :math:`\frac{10^4}{Y} \sum_t C_t`, :math:`C_t` the cost paid at :math:`t` as a fraction
  of the value just before the trade (bp per year);
* tracking error, return, volatility, max drawdown, average max drift: as in ``rb``.

How each anchor meets them:

* **numpy** is written from the definitions: between two rebalances every holding grows by the
  cumulative product of :math:`1 + r`, so the monthly path is fully vectorized (one cumulative
  product over all rows, divided by its value at the start of each segment); the threshold
  policies are checked daily, once as a plain loop over days (``numpy_loop``) and once by
  vectorized look-ahead blocks that jump to the first breach (``numpy_blocks``). It computes every
  figure ``summary()`` reports and must agree with ``rb`` to rounding (1e-9 relative).
* **bt** (``integer_positions=False``; ``commissions=lambda q, p: abs(q * p) * 0.0005``;
  ``initial_capital=1e6``) trades at the close of a date, at that date's prices: the same moment
  as ``rb``. Differences, and how they are removed:

  - bt starts in cash and buys the portfolio on the first date, paying 5 bp (500 $ on 1e6):
    that first date's fee is excluded, and returns are measured from the value after it;
  - bt's ``Backtest.turnover`` is min(bought, sold) / NAV *after* the trade and its fee, with
    bought and sold excluding fees. bt sizes a trade so that amount plus fee equals
    :math:`a_i = (w^*_i - w_i) V`, so the amount traded in shares is :math:`a_i / (1 + c)` for a
    buy and :math:`|a_i| / (1 - c)` for a sale (:math:`c` = 5 bp). The adjusted turnover is
    :math:`\tfrac12 \sum_i |a_i| / V`, :math:`a_i` = outlay + fee, :math:`V` = NAV before the
    fee: ``rb``'s definition. The raw figure is reported beside it (it is ≈ 0.05 % lower);
  - bt pays each asset's fee out of that asset's allocation, so post-trade weights miss the
    target by about :math:`c\,|z_i|` (up to ≈ 2.5e-5); ``rb`` pays costs pro rata and lands
    exactly on target. This moves later drifts, and so later trades, by parts per 10⁴ at most;
  - ``RunIfOutOfBounds(tol)`` is a *relative* band: it fires when
    :math:`|w_i - w^*_i| / w^*_i > tol`. With equal weights (5 %) ``RunIfOutOfBounds(1.0)`` is
    ``rb.Threshold(0.05)`` and ``RunIfOutOfBounds(0.05)`` is ``rb.Threshold(rel_band=0.05)``.
  - monthly dates: ``RunMonthly(run_on_end_of_period=True)`` (the last date of each month in
    the data), checked to be exactly ``rb``'s dates.

* **cvxportfolio** (``MarketSimulator`` on user data only: a zero-return ``cash`` column,
  ``min_history=0``, ``TransactionCost(a=0.0005, b=None)``, starting holdings ``h`` = the
  target, so nothing is downloaded and nothing is bought at the start) trades at time
  :math:`t` *before* the return of row :math:`t` (its returns are open-to-open, "from t to
  t+1"). Its returns are therefore ``rb``'s shifted by one row: the row dated :math:`d_k` holds
  the return from :math:`d_k` to :math:`d_{k+1}` (one zero row is appended so that a trade on the
  last date is simulated). Its turnover :math:`\|u_{1:n}\|_1 / (2 v_t)` and cost / :math:`v_t` use
  the value before the trade: ``rb``'s definitions. It debits costs from cash (which then sits
  at −1e-5 to −3e-5 of the value until the next trade) instead of pro rata. Monthly:
  ``PeriodicRebalance(target, dates)``; threshold: cvxportfolio has no max-deviation band
  (``AdaptiveRebalance`` uses the 2-norm of :math:`w - w^*`), so a five-line ``Policy``
  subclass (made by ``_cvx_band_policy``) implements it.

Agreement (:func:`agreement`, :func:`check_anchor`): numpy must match every figure to 1e-9;
bt and cvxportfolio must match turnover and cost within 0.1 % as run, trade on the same dates
except around *near ties* (a threshold check whose largest drift is within 0.1 % of its band in
``rb``'s path, which the tools' different cost accounting may decide either way), and match
every figure within 0.1 % once ``rb`` trades on their dates.
"""

from __future__ import annotations

import functools
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import rebalancing as rb
import rebalancing.datasets

__all__ = [
    "COST_BPS",
    "POLICIES",
    "Data",
    "agreement",
    "bt_figures",
    "check_anchor",
    "cvx_figures",
    "load",
    "numpy_blocks",
    "numpy_calendar",
    "numpy_loop",
    "rb_policy",
    "run_bt",
    "run_cvx",
    "run_numpy",
    "run_rb",
    "summarize",
]

COST_BPS = 5.0
RATE = COST_BPS / 1e4
PERIODS_PER_YEAR = 252.0
#: name → (kind, band as a fraction: absolute, or relative to the target weight)
POLICIES: dict[str, tuple[str, float]] = {
    "monthly": ("calendar", 0.0),
    "threshold-daily": ("absolute", 0.05),
    "threshold-daily-rel": ("relative", 0.05),
}
#: turnover and cost of bt and cvxportfolio must match rb's within this (relative)
TOLERANCE = 1e-3
#: the hand-written numpy backtest implements the same model: figures equal up to rounding
NUMPY_TOLERANCE = 1e-9

Figures = dict[str, Any]


@dataclass(frozen=True)
class Data:
    """The 20-stock data in the forms each tool wants, and the policy inputs."""

    returns: pd.DataFrame  # (T, n) rb's input
    prices: pd.DataFrame  # (T + 1, n) bt's input
    values: np.ndarray  # returns as a C-contiguous array
    target: np.ndarray  # equal weight
    check: np.ndarray  # monthly check rows (bool, T)

    @property
    def target_returns(self) -> np.ndarray:
        return self.values @ self.target


@functools.lru_cache(maxsize=1)
def load() -> Data:
    returns = rb.datasets.sp500_20_returns()
    prices = rb.datasets.load_sp500_20()
    if not (prices.index[1:].equals(returns.index) and prices.columns.equals(returns.columns)):
        raise AssertionError("prices and returns of the 20-stock data do not line up")
    n = returns.shape[1]
    check = rb.Schedule("monthly").mask(returns.index)[0]
    return Data(
        returns=returns,
        prices=prices,
        values=np.ascontiguousarray(returns.to_numpy(dtype=float)),
        target=np.full(n, 1.0 / n),
        check=check,
    )


def _bands(name: str, target: np.ndarray) -> np.ndarray:
    kind, band = POLICIES[name]
    return np.full_like(target, band) if kind == "absolute" else band * target


# --- rebalancing --------------------------------------------------------------------------------


def rb_policy(name: str) -> rb.Policy:
    kind, band = POLICIES[name]
    if kind == "calendar":
        return rb.Calendar("monthly")
    if kind == "absolute":
        return rb.Threshold(band)
    return rb.Threshold(rel_band=band)


def run_rb(data: Data, name: str) -> pd.Series:
    """The timed unit: one backtest and every figure it reports."""
    return rb.backtest(data.returns, data.target, rb_policy(name), COST_BPS).summary()


# --- figures from a path ------------------------------------------------------------------------


def summarize(
    gross: np.ndarray,
    cost: np.ndarray,
    turnover: np.ndarray,
    traded: np.ndarray,
    target_returns: np.ndarray,
    max_drift: np.ndarray | None = None,
    ppy: float = PERIODS_PER_YEAR,
) -> Figures:
    """``rb``'s figures from per-row gross returns, costs and one-way turnover (fractions of the
    value before the trade) and the rows that traded."""
    rows = len(gross)
    years = rows / ppy
    net = (1.0 + gross) * (1.0 - cost) - 1.0
    nav = np.empty(rows + 1)
    nav[0] = 1.0
    np.cumprod(1.0 + net, out=nav[1:])
    growth = nav[-1] ** (1.0 / years)
    target_growth = float(np.prod(1.0 + target_returns)) ** (1.0 / years)
    out = {
        "turnover": float(turnover.sum()) / years,
        "cost_bps": 1e4 * float(cost.sum()) / years,
        "tracking_error": float(np.std(gross - target_returns, ddof=1)) * np.sqrt(ppy),
        "rebalances": float(np.count_nonzero(traded)),
        "return": growth - 1.0,
        "excess_return": growth - target_growth,
        "volatility": float(np.std(net, ddof=1)) * np.sqrt(ppy),
        "max_drawdown": float(np.min(nav / np.maximum.accumulate(nav))) - 1.0,
    }
    if max_drift is not None:
        out["avg_max_drift"] = float(max_drift.mean())
    return out


# --- hand-written numpy -------------------------------------------------------------------------


def numpy_calendar(
    returns: np.ndarray, target: np.ndarray, check: np.ndarray, rate: float
) -> Figures:
    """Trade to target at the end of every ``check`` row; vectorized over all rows.

    After a trade (and at the start) the holdings are the target; over the following rows each
    grows by the cumulative product of :math:`1 + r`. One cumulative product over all rows,
    divided by its value at the last trade, gives every segment at once.
    """
    rows, n = returns.shape
    ends = np.flatnonzero(check)
    grown = np.cumprod(1.0 + returns, axis=0)
    # Segment k covers the rows after the k-th trade; base = cumulative product at that trade.
    segment = np.zeros(rows, dtype=np.intp)
    segment[ends[ends + 1 < rows] + 1] = 1
    np.cumsum(segment, out=segment)
    base = np.vstack([np.ones((1, n)), grown[ends]])
    held = grown / base[segment]
    held *= target
    value = held.sum(axis=1)  # growth of 1 since the last trade
    pre = held / value[:, None]  # weights before any trade, every row
    previous = np.empty(rows)
    previous[0] = 1.0
    previous[1:] = value[:-1]
    previous[ends[ends + 1 < rows] + 1] = 1.0
    gross = value / previous - 1.0
    deviation = np.abs(pre - target)
    traded = deviation[ends].sum(axis=1)  # Σ|z| at each trade
    turnover = np.zeros(rows)
    cost = np.zeros(rows)
    turnover[ends] = 0.5 * traded
    cost[ends] = rate * traded
    return summarize(gross, cost, turnover, turnover > 0, returns @ target, deviation.max(axis=1))


def numpy_loop(returns: np.ndarray, target: np.ndarray, band: np.ndarray, rate: float) -> Figures:
    """Check every day, trade to target when some :math:`|w_i - w^*_i| > b_i`: a loop over days."""
    rows, n = returns.shape
    growth = 1.0 + returns
    w = target.copy()
    dev = np.empty(n)
    gross = np.empty(rows)
    max_drift = np.empty(rows)
    turnover = np.zeros(rows)
    cost = np.zeros(rows)
    for t in range(rows):
        w *= growth[t]
        total = w.sum()
        w /= total
        gross[t] = total - 1.0
        np.subtract(w, target, out=dev)
        np.abs(dev, out=dev)
        max_drift[t] = dev.max()
        if (dev > band).any():
            traded = dev.sum()
            turnover[t] = 0.5 * traded
            cost[t] = rate * traded
            w[:] = target
    return summarize(gross, cost, turnover, turnover > 0, returns @ target, max_drift)


def numpy_blocks(
    returns: np.ndarray, target: np.ndarray, band: np.ndarray, rate: float, first: int = 16
) -> Figures:
    """The daily threshold policy, vectorized: from the current weights, grow a block of rows at
    once (cumulative products), find the first breach in it, trade there and start again.

    The block length adapts: twice the last distance between trades, doubled while no breach
    is found, so that rare trades cost a few long blocks and frequent ones short blocks.
    """
    rows = returns.shape[0]
    growth = 1.0 + returns
    gross = np.empty(rows)
    max_drift = np.empty(rows)
    turnover = np.zeros(rows)
    cost = np.zeros(rows)
    w = target.copy()
    start, length = 0, first
    while start < rows:
        stop = min(rows, start + length)
        held = np.cumprod(growth[start:stop], axis=0)
        held *= w
        value = held.sum(axis=1)
        pre = held / value[:, None]
        deviation = np.abs(pre - target)
        breach = (deviation > band).any(axis=1)
        hit = int(breach.argmax()) if breach.any() else -1
        end = stop if hit < 0 else start + hit + 1
        used = end - start
        gross[start] = value[0] - 1.0
        gross[start + 1 : end] = value[1:used] / value[: used - 1] - 1.0
        max_drift[start:end] = deviation[:used].max(axis=1)
        if hit < 0:
            w = pre[-1].copy()
            length *= 2
        else:
            traded = deviation[hit].sum()
            turnover[end - 1] = 0.5 * traded
            cost[end - 1] = rate * traded
            w = target.copy()
            length = max(first, 2 * used)
        start = end
    return summarize(gross, cost, turnover, turnover > 0, returns @ target, max_drift)


def run_numpy(data: Data, name: str, variant: str = "loop") -> Figures:
    """The timed unit: the numpy backtest for a policy (``variant`` for threshold policies)."""
    if POLICIES[name][0] == "calendar":
        return numpy_calendar(data.values, data.target, data.check, RATE)
    band = _bands(name, data.target)
    run = numpy_blocks if variant == "blocks" else numpy_loop
    return run(data.values, data.target, band, RATE)


# --- bt -----------------------------------------------------------------------------------------


def _bt() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import bt
    return bt


def _bt_commission(quantity: float, price: float) -> float:
    return abs(quantity * price) * RATE


def run_bt(data: Data, name: str) -> Any:
    """The timed unit: build and run the bt backtest (bt computes its statistics in ``run``)."""
    bt = _bt()
    kind, band = POLICIES[name]
    weights = dict(zip(data.returns.columns, data.target, strict=True))
    if kind == "calendar":
        when = bt.algos.RunMonthly(
            run_on_first_date=True,
            run_on_end_of_period=True,
            run_on_last_date=bool(data.check[-1]),
        )
        algos = [when, bt.algos.WeighSpecified(**weights), bt.algos.Rebalance()]
    else:
        # A relative tolerance: |w - w*| / w* > tol. Equal weights: tol = band / w* for an
        # absolute band.
        tolerance = band / float(data.target[0]) if kind == "absolute" else band
        if kind == "absolute" and not np.allclose(data.target, data.target[0]):
            raise ValueError("an absolute band maps to RunIfOutOfBounds only for equal weights")
        # RunOnce buys the portfolio on the first date: a zero holding is exactly 100 % below
        # target, not beyond a tolerance of 1.0.
        run_if = bt.algos.Or([bt.algos.RunOnce(), bt.algos.RunIfOutOfBounds(tolerance)])
        algos = [bt.algos.WeighSpecified(**weights), run_if, bt.algos.Rebalance()]
    backtest = bt.Backtest(
        bt.Strategy(name, algos),
        data.prices,
        initial_capital=1e6,
        commissions=_bt_commission,
        integer_positions=False,
        progress_bar=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest.run()
    return backtest


def bt_figures(backtest: Any, data: Data) -> Figures:
    """``rb``'s figures from a bt run (see the module docstring for the adjustments)."""
    strategy = backtest.strategy
    # Row 0 is bt's synthetic start; row 1 the first date (the initial purchase); rows 2... are
    # rb's rows 0...
    post = strategy.values.to_numpy()[1:]
    fees = strategy.fees.to_numpy()[1:]
    outlays = strategy.outlays.reindex(strategy.values.index).fillna(0.0).to_numpy()[1:]
    pre = post + fees
    gross = pre[1:] / post[:-1] - 1.0
    cost = fees[1:] / pre[1:]
    # Amount traded including the fee: outlay × (1 + c) for a buy, × (1 − c) for a sale.
    asked = np.abs(outlays[1:] + RATE * np.abs(outlays[1:]))
    turnover = 0.5 * asked.sum(axis=1) / pre[1:]
    out = summarize(gross, cost, turnover, fees[1:] > 0, data.target_returns)
    years = len(gross) / PERIODS_PER_YEAR
    out["turnover_bt_definition"] = float(backtest.turnover.to_numpy()[2:].sum()) / years
    out["initial_purchase_bps"] = 1e4 * float(fees[0] / pre[0])
    out["traded_rows"] = fees[1:] > 0
    return out


# --- cvxportfolio -------------------------------------------------------------------------------


def _cvx() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import cvxportfolio as cvx
    logging.getLogger("cvxportfolio").setLevel(logging.ERROR)
    return cvx


@functools.lru_cache(maxsize=1)
def _cvx_returns() -> pd.DataFrame:
    """rb's returns shifted to cvxportfolio's convention (row d_k: return from d_k to d_k+1),
    with a zero-return cash column and a zero row after the last date."""
    data = load()
    dates = data.prices.index
    index = dates.append(pd.DatetimeIndex([dates[-1] + pd.Timedelta(days=1)]))
    values = np.vstack([data.values, np.zeros((2, data.values.shape[1]))])
    frame = pd.DataFrame(values, index=index, columns=data.returns.columns)
    frame["cash"] = 0.0
    return frame


def _cvx_band_policy(cvx: Any, target: pd.Series, band: np.ndarray) -> Any:
    class CvxBand(cvx.policies.Policy):  # type: ignore[misc,name-defined]
        """Trade to target when some asset's |w - w*| exceeds its band (cash excluded)."""

        def values_in_time(self, current_weights: pd.Series, **kwargs: Any) -> pd.Series:
            drift = np.abs(current_weights.to_numpy()[:-1] - target.to_numpy()[:-1])
            return target if bool((drift > band).any()) else current_weights

    return CvxBand()


def run_cvx(data: Data, name: str) -> Any:
    """The timed unit: build the simulator on user data and run the backtest."""
    cvx = _cvx()
    returns = _cvx_returns()
    target = pd.Series(np.append(data.target, 0.0), index=returns.columns)
    if POLICIES[name][0] == "calendar":
        policy = cvx.PeriodicRebalance(target, data.returns.index[data.check])
    else:
        policy = _cvx_band_policy(cvx, target, _bands(name, data.target))
    with tempfile.TemporaryDirectory() as storage, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulator = cvx.MarketSimulator(
            returns=returns,
            costs=[cvx.TransactionCost(a=RATE, b=None)],
            cash_key="cash",
            min_history=pd.Timedelta(0),
            base_location=storage,
        )
        return simulator.backtest(
            policy, start_time=returns.index[0], end_time=returns.index[-1], h=target * 1e6
        )


def cvx_figures(result: Any, data: Data) -> Figures:
    """``rb``'s figures from a cvxportfolio result (rb's row k is cvxportfolio's time k + 1)."""
    value = result.v.to_numpy()  # before the trade at each time
    trades = result.u.to_numpy()
    (cost_series,) = result.costs.values()
    rows = len(data.values)
    paid = cost_series.to_numpy()[: rows + 1]
    before = value[: rows + 1]
    after = before - paid  # costs come out of zero-return cash: value right after the trade
    gross = before[1:] / after[:-1] - 1.0
    cost = paid[1:] / before[1:]
    turnover = np.abs(trades[1 : rows + 1, :-1]).sum(axis=1) / (2.0 * before[1:])
    if paid[0] != 0.0:
        raise AssertionError("cvxportfolio traded at the start, which rb does not")
    out = summarize(gross, cost, turnover, turnover > 0, data.target_returns)
    out["traded_rows"] = turnover > 0
    return out


# --- agreement ----------------------------------------------------------------------------------

#: figures compared with bt and cvxportfolio (turnover and cost: the issue's 0.1 %)
COMPARED = ["turnover", "cost_bps", "rebalances", "tracking_error", "return", "volatility"]
COMPARED += ["max_drawdown"]
#: a check whose largest drift is within this fraction of its band is a near tie: the tools'
#: different cost accounting (≈ 1e-5 of a weight) may decide it either way
NEAR_TIE = 1e-3


def _relative(ours: Any, theirs: Any, keys: list[str]) -> dict[str, float]:
    out = {}
    for key in keys:
        a, b = float(ours[key]), float(theirs[key])
        out[key] = (b - a) / abs(a) if a != 0 else b - a
    return out


def agreement(ours: pd.Series | Figures, theirs: Figures, exact: bool = False) -> dict[str, float]:
    """Relative differences (theirs − ours) / |ours| of the figures; raises ``AssertionError``
    if one exceeds its tolerance: 1e-9 on every figure for the numpy backtests (``exact``),
    otherwise 0.1 % on turnover and cost and the same number of rebalances (the other figures
    are reported, and checked by :func:`check_anchor`)."""
    keys = COMPARED + (["excess_return", "avg_max_drift"] if exact else [])
    diffs = _relative(ours, theirs, keys)
    if exact:
        limits = dict.fromkeys(keys, NUMPY_TOLERANCE)
    else:
        limits = {"turnover": TOLERANCE, "cost_bps": TOLERANCE}
    bad = [
        f"{key}: ours {float(ours[key]):.10g}, theirs {float(theirs[key]):.10g} "
        f"(relative {diffs[key]:.2e} > {limit:g})"
        for key, limit in limits.items()
        if not abs(diffs[key]) <= limit
    ]
    if bad:
        raise AssertionError("figures disagree: " + "; ".join(bad))
    return diffs


def _band_ratio(result: rb.BacktestResult, name: str, data: Data) -> np.ndarray:
    """max_i |w_i − w*_i| / band_i before any trade, per row, on rb's path."""
    pre = result.weights.to_numpy() - result.trades.to_numpy()
    ratio: np.ndarray = (np.abs(pre - data.target) / _bands(name, data.target)).max(axis=1)
    return ratio


def check_anchor(data: Data, name: str, theirs: Figures) -> dict[str, Any]:
    """Check a bt or cvxportfolio run against rb's; raise ``AssertionError`` if they disagree.

    1. Turnover and cost within 0.1 % of rb's (:func:`agreement`), as run.
    2. The same trade dates. Threshold policies may differ at *near ties* (a check whose largest
       drift is within ``NEAR_TIE`` of its band in rb's path: the tools' cost accounting moves
       weights by about 1e-5 of a weight) and at the rows that follow one until both tools trade
       on the same row again. Any other difference fails.
    3. The figures of rb trading to target on exactly the anchor's trade dates
       (``rb.Calendar(dates)``) agree with the anchor's within 0.1 %, rebalances exactly: with
       the decisions aligned, the two engines compute the same thing.

    Returns the relative differences of step 1 (``"as_run"``), the near-tie dates and the
    differences of step 3 (``"same_dates"``).
    """
    result = rb.backtest(data.returns, data.target, rb_policy(name), COST_BPS)
    ours = result.summary()
    as_run = agreement(ours, theirs)
    mine = result.raw["traded"]
    their_rows = np.asarray(theirs["traded_rows"], dtype=bool)
    ties: list[int] = []
    differ = np.flatnonzero(mine != their_rows)
    if len(differ) and POLICIES[name][0] == "calendar":
        first = data.returns.index[differ[0]].date()
        raise AssertionError(f"{name}: trade dates differ, first on {first}")
    if len(differ):
        ratio = _band_ratio(result, name, data)
        common = np.flatnonzero(mine & their_rows)
        for row in differ:
            if abs(ratio[row] - 1.0) <= NEAR_TIE:
                ties.append(int(row))
                continue
            since = common[common < row]
            last_common = int(since[-1]) if len(since) else -1
            if not any(last_common < tie < row for tie in ties):
                raise AssertionError(
                    f"{name}: trade decisions differ on {data.returns.index[row].date()} "
                    f"(drift / band {ratio[row]:.6f} in rb's path: not a near tie)"
                )
    dates = data.returns.index[their_rows]
    aligned = rb.backtest(data.returns, data.target, rb.Calendar(dates), COST_BPS).summary()
    same_dates = _relative(aligned, theirs, COMPARED)
    bad = [
        f"{key} {diff:+.2e}"
        for key, diff in same_dates.items()
        if not abs(diff) <= (0.0 if key == "rebalances" else TOLERANCE)
    ]
    if bad:
        raise AssertionError(f"{name}: on the same trade dates, figures disagree: {bad}")
    return {
        "as_run": as_run,
        "near_ties": [str(data.returns.index[row].date()) for row in ties],
        "near_tie_ratios": [float(ratio[row]) for row in ties] if ties else [],
        "same_dates": same_dates,
    }


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


def main(names: list[str]) -> None:
    data = load()
    shown = COMPARED
    for name in names:
        ours = run_rb(data, name)
        rows: dict[str, Figures] = {"rebalancing": {k: float(ours[k]) for k in shown}}
        variants = ["loop"] if POLICIES[name][0] == "calendar" else ["loop", "blocks"]
        for variant in variants:
            label = "numpy" if POLICIES[name][0] == "calendar" else f"numpy_{variant}"
            figures = run_numpy(data, name, variant)
            agreement(ours, figures, exact=True)
            rows[label] = figures
        backtest, seconds = _timed(lambda name=name: run_bt(data, name))
        print(f"{name}: bt {seconds:.2f} s", file=sys.stderr)
        rows["bt"] = bt_figures(backtest, data)
        result, seconds = _timed(lambda name=name: run_cvx(data, name))
        print(f"{name}: cvxportfolio {seconds:.1f} s", file=sys.stderr)
        rows["cvxportfolio"] = cvx_figures(result, data)
        print(f"\n{name}\n")
        print("| tool | " + " | ".join(shown) + " |")
        print("|---" * (len(shown) + 1) + "|")
        for tool, figures in rows.items():
            cells = " | ".join(f"{float(figures[k]):.6g}" for k in shown)
            print(f"| {tool} | {cells} |")
        bt_rows = rows["bt"]
        print(
            f"\nbt raw turnover (min(bought, sold) / NAV after the trade): "
            f"{bt_rows['turnover_bt_definition']:.6g}; initial purchase fee "
            f"{bt_rows['initial_purchase_bps']:.4g} bp (excluded)"
        )
        for tool in ("bt", "cvxportfolio"):
            checked = check_anchor(data, name, rows[tool])
            for key in ("as_run", "same_dates"):
                diffs = ", ".join(f"{k} {v:+.1e}" for k, v in checked[key].items())
                print(f"{tool} vs rebalancing ({key}): {diffs}")
            if checked["near_ties"]:
                print(f"{tool}: near ties on {checked['near_ties']}")


def profile(names: list[str], repeats: int = 100) -> None:
    """Where ``run_rb`` spends its time: cProfile over ``repeats`` runs, functions of the
    rebalancing package (and its compiled core) by cumulative time."""
    import cProfile
    import pstats

    data = load()
    for name in names:
        run_rb(data, name)  # warm caches (exchange calendar)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeats):
            run_rb(data, name)
        profiler.disable()
        print(f"\n{name}: {repeats} runs")
        stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
        ours = r"backtest|schedule|policies|_validation|_core"
        stats.sort_stats("cumulative").print_stats(ours, 14)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profile"]:
        profile(sys.argv[2:] or list(POLICIES))
    else:
        main(sys.argv[1:] or list(POLICIES))
