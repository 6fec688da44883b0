r"""Backtests: run a rebalancing policy over a table of asset returns and measure it.

Conventions
-----------
Row :math:`t` of ``returns`` (a DataFrame, dates × tickers) holds the simple returns
:math:`r_{ti}` of period :math:`t`, ending on its date. The portfolio starts at ``initial``
weights (the target by default, at no cost) worth ``initial_nav``. Each period:

1. the weights held drift: :math:`w_i \leftarrow w_i (1 + r_{ti}) / (1 + R_t)` with gross
   return :math:`R_t = \sum_i w_i r_{ti}`;
2. at the end of the period the policy may trade, using only rows up to :math:`t`; a trade
   :math:`z = w^{+} - w^{-}` costs :math:`C_t` (a fraction of the pre-trade value, see
   :mod:`rebalancing.costs`), paid pro rata, so the post-trade weights are exactly
   :math:`w^{+}` and the value becomes :math:`V_t = V_{t-1}(1 + R_t)(1 - C_t)`.

Cash flows (``flows=``, in currency: contributions > 0, withdrawals < 0) arrive at the end of a
period, after step 1 and before step 2, so the policy sees the weights after the flow. A flow
:math:`F_t` is invested pro rata (the weights do not move) or, with ``flow_to="underweight"``
(the default), as the trades closest to the target that only buy (contributions) or only sell
(withdrawals): :math:`x_i = \max(0, d_i - \tau)` with :math:`d_i = w^*_i (V^-_t + F_t) - w_i
V^-_t`, :math:`\tau \ge 0` such that :math:`\sum_i x_i = F_t` (sells mirror this and never
exceed the holding) -- "rebalancing with cash flows". Investing a flow costs like any trade, and
these costs are included in ``cost_bps``; ``turnover`` counts only the policy's trades. With
flows, returns are time-weighted: :math:`(V_t - F_t) / V_{t-1} - 1`.

The inner loop runs in C++ (``cpp/include/rebalancing/backtest.hpp``); policies that trade to
target never leave it, other policies are called back only at their events.

Reported figures (:meth:`BacktestResult.summary`), with :math:`Y = T / P` years of :math:`T`
rows at :math:`P` periods per year:

* ``turnover``: annualized one-way turnover :math:`\frac{1}{Y} \sum_t \tfrac12 \sum_i |z_{ti}|`
  — the fraction of the portfolio bought (equal to the fraction sold) per year;
* ``cost_bps`` and one column per component: :math:`\frac{10^4}{Y} \sum_t C_t`, costs paid in
  basis points of the portfolio value per year;
* ``tracking_error``: :math:`\sqrt{P}\,\operatorname{std}(R_t - w^{*\top} r_t)` — the annualized
  standard deviation of the gross (before costs) return against the target portfolio
  rebalanced every period at no cost. Costs are reported separately, so this measures only the
  risk of drifting away from the target;
* ``rebalances``: the number of periods with a non-zero trade;
* ``return``: annualized net return :math:`(\prod_t (1 + \rho_t))^{1/Y} - 1` of the net period
  returns :math:`\rho_t` (:math:`(V_T / V_0)^{1/Y} - 1` without flows); ``excess_return``: that
  minus the same figure for the costless target portfolio; ``volatility``:
  :math:`\sqrt{P}\,\operatorname{std}` of the net period returns; ``max_drawdown``: the largest
  fall of :math:`\prod_{s \le t} (1 + \rho_s)` (of :math:`V` without flows) from a previous
  peak (the start included), as a negative fraction;
* ``avg_max_drift``: the mean over periods of :math:`\max_i |w^-_{ti} - w^*_i|`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import pandas as pd

from rebalancing import _core, plots
from rebalancing._validation import (
    WEIGHT_SUM_TOLERANCE,
    align_to_tickers,
    as_float_array,
    check_choice,
    check_scalar,
    check_weights_sum,
)
from rebalancing.costs import Costs, as_cost_model
from rebalancing.policies import Plan, PlanInputs, Policy

if TYPE_CHECKING:  # matplotlib is an optional extra
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

if sys.version_info >= (3, 11):
    from typing import Unpack
elif TYPE_CHECKING:  # Python 3.10: only type checkers need it (annotations are not evaluated)
    from typing_extensions import Unpack

from rebalancing.typing import Weights

__all__ = [
    "BacktestOptions",
    "BacktestResult",
    "Backtester",
    "backtest",
    "backtests",
    "compare",
    "periods_per_year",
    "summary_table",
]

#: A decided trade smaller than this (max over assets) is treated as no trade.
NO_TRADE = 1e-12


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Rows per year inferred from the median spacing of the dates: 252, 52, 12, 4 or 1."""
    if len(index) < 2:
        raise ValueError("periods_per_year: need at least two dates to infer the frequency")
    days = float(np.median(np.diff(index.to_numpy()).astype("timedelta64[s]").astype(float)))
    days /= 86400.0
    for limit, per_year in ((4.5, 252.0), (10.0, 52.0), (45.0, 12.0), (120.0, 4.0)):
        if days <= limit:
            return per_year
    return 1.0


@dataclass(frozen=True)
class BacktestResult:
    """The path of one backtest and its figures (see the module docstring for definitions).

    Immutable: the recorded arrays are read-only and every property returns a fresh object.
    After-tax figures come from :func:`rebalancing.tax.after_tax`, which post-processes a result.
    """

    policy: str
    index: pd.DatetimeIndex
    tickers: pd.Index
    target: np.ndarray
    returns: np.ndarray = field(repr=False)
    periods_per_year: float
    initial_nav: float
    raw: Mapping[str, np.ndarray] = field(repr=False)
    cost_names: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for arr in (self.target, self.returns, *self.raw.values()):
            arr.setflags(write=False)
        object.__setattr__(self, "raw", MappingProxyType(dict(self.raw)))

    # --- time series --------------------------------------------------------------------------

    @property
    def weights(self) -> pd.DataFrame:
        """Post-trade weights :math:`w^+_t` at the end of every period."""
        return self._frame(self.raw["weights"])

    @property
    def pre_trade_weights(self) -> pd.DataFrame:
        """Weights :math:`w^-_t` at the end of every period before the policy traded (after the
        period's drift and, with flows, after the flow was invested)."""
        return self._frame(self._pre_trade)

    @property
    def average_weights(self) -> pd.Series:
        """The time average of the weights held during each period (those that earned the
        period's return: the initial weights, then each period's post-trade weights)."""
        held = np.vstack([self._initial, self.raw["weights"][:-1]])
        return pd.Series(held.mean(axis=0), index=self.tickers, name="average weight")

    @property
    def rebalances(self) -> int:
        """The number of periods in which the policy traded."""
        return int(np.count_nonzero(self.raw["traded"]))

    def plot(
        self,
        kind: Literal["nav", "drift", "weights", "costs"] = "nav",
        ax: Axes | None = None,
        *,
        resample: str | None = None,
    ) -> Figure:
        """Plot this backtest over time: ``"nav"``, ``"drift"``, ``"weights"`` or ``"costs"``
        (:func:`rebalancing.plots.plot_backtest`; needs the ``[plot]`` extra). Returns the
        figure, drawn on ``ax`` if given; the matplotlib backend is left alone."""
        figure: Figure = plots.plot_backtest(self, kind, ax, resample=resample)
        return figure

    def _frame(self, values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(np.array(values), index=self.index, columns=self.tickers)

    @cached_property
    def _pre_trade(self) -> np.ndarray:
        if "pre_trade" in self.raw:  # with flows, recorded by the engine
            return np.asarray(self.raw["pre_trade"])
        post = self.raw["weights"]
        held = np.vstack([self._initial, post[:-1]])
        grown = held * (1.0 + self.returns)
        pre: np.ndarray = grown / grown.sum(axis=1, keepdims=True)
        return pre

    @cached_property
    def _initial(self) -> np.ndarray:
        return np.asarray(self.raw["initial"], dtype=float)

    @property
    def trades(self) -> pd.DataFrame:
        """The policy's trades :math:`z_t = w^+_t - w^-_t` in weight units (zero rows where
        nothing traded); with flows, :math:`w^-_t` is after the flow was invested (see
        :attr:`flows`), so the flow's own trades are not included."""
        z = self.raw["weights"] - self._pre_trade
        z[~self.raw["traded"]] = 0.0
        return self._frame(z)

    @property
    def nav(self) -> pd.Series:
        """Portfolio value after flows and costs."""
        return pd.Series(np.array(self.raw["nav"]), index=self.index, name="nav")

    @property
    def flows(self) -> pd.Series:
        """The cash flow invested at the end of each period (currency; 0 without flows)."""
        return pd.Series(np.array(self.raw["flow"]), index=self.index, name="flow")

    @property
    def net_returns(self) -> pd.Series:
        """Time-weighted net returns :math:`(V_t - F_t) / V_{t-1} - 1`."""
        return pd.Series(np.array(self._net_returns), index=self.index, name="net return")

    @cached_property
    def _net_returns(self) -> np.ndarray:
        nav = self.raw["nav"]
        before = np.concatenate(([self.initial_nav], nav[:-1]))
        returns: np.ndarray = (nav - self.raw["flow"]) / before - 1.0
        return returns

    @property
    def drift(self) -> pd.Series:
        """:math:`\\max_i |w^-_{ti} - w^*_i|` before any trade, per period."""
        return pd.Series(np.array(self.raw["max_drift"]), index=self.index, name="max drift")

    @property
    def costs(self) -> pd.DataFrame:
        """Costs per period by component, as fractions of the pre-trade value (with flows, of
        the value after the flow; the costs of investing the flow are included)."""
        data = {
            name: np.array(col)
            for name, col in zip(self.cost_names, self.raw["linear_cost"].T, strict=True)
        }
        data["impact"] = np.array(self.raw["impact_cost"])
        return pd.DataFrame(data, index=self.index)

    # --- figures ------------------------------------------------------------------------------

    @property
    def years(self) -> float:
        """The length of the backtest in years: rows / periods per year."""
        return len(self.index) / self.periods_per_year

    @cached_property
    def _target_returns(self) -> np.ndarray:
        return np.asarray(self.returns @ self.target)

    def summary(self) -> pd.Series:
        r"""The reported figures, named by the policy (an object Series: ``rebalances`` is an int).

        With :math:`Y` years of :math:`P` periods per year (the module docstring has the full
        conventions):

        * ``turnover`` — one-way turnover per year, :math:`\frac1Y\sum_t \tfrac12\sum_i|z_{ti}|`;
        * ``cost_bps`` — all costs in bp of value per year, and one ``<component>_bps`` each;
        * ``tracking_error`` — :math:`\sqrt P` × the sample standard deviation (ddof = 1) of
          the *gross* (before costs) period return minus the costless, always-rebalanced target's;
        * ``rebalances`` — periods with a trade (int);
        * ``return`` — annualized net return (time-weighted with flows); ``excess_return`` —
          that minus the target portfolio's annualized return;
        * ``volatility`` — :math:`\sqrt P` × the sample standard deviation (ddof = 1) of the net
          period returns;
        * ``max_drawdown`` — the largest fall of the net wealth from a previous peak (< 0);
        * ``avg_max_drift`` — the mean over periods of :math:`\max_i|w^-_{ti} - w^*_i|`.

        With a single period the standard deviations use ddof = 0.
        """
        ppy, years = self.periods_per_year, self.years
        raw = self.raw
        active = raw["gross_return"] - self._target_returns
        net = self._net_returns
        wealth = np.concatenate(([1.0], np.cumprod(1.0 + net)))  # V_t / V_0 without flows
        growth = float(wealth[-1])
        target_growth = float(np.prod(1.0 + self._target_returns))
        cost_by = {
            f"{name}_bps": 1e4 * float(col.sum()) / years
            for name, col in zip(self.cost_names, raw["linear_cost"].T, strict=True)
        }
        cost_by["impact_bps"] = 1e4 * float(raw["impact_cost"].sum()) / years
        total_cost = sum(cost_by.values())
        ddof = 1 if len(active) > 1 else 0
        figures = {
            "turnover": float(raw["turnover"].sum()) / years,
            "cost_bps": total_cost,
            **cost_by,
            "tracking_error": float(np.std(active, ddof=ddof)) * np.sqrt(ppy),
            "rebalances": int(raw["traded"].sum()),
            "return": growth ** (1.0 / years) - 1.0,
            "excess_return": growth ** (1.0 / years) - target_growth ** (1.0 / years),
            "volatility": float(np.std(net, ddof=ddof)) * np.sqrt(ppy),
            "max_drawdown": float(np.min(wealth / np.maximum.accumulate(wealth)) - 1.0),
            "avg_max_drift": float(raw["max_drift"].mean()),
        }
        return pd.Series(figures, name=self.policy, dtype=object)


# --- validation -----------------------------------------------------------------------------


def _check_returns(returns: Any) -> tuple[np.ndarray, pd.DatetimeIndex, pd.Index]:
    if not isinstance(returns, pd.DataFrame):
        raise TypeError(
            f"returns must be a DataFrame (dates × tickers), got {type(returns).__name__}"
        )
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("returns must be indexed by dates (a DatetimeIndex)")
    if len(returns.index) < 2 or returns.shape[1] == 0:
        raise ValueError(f"returns needs at least two dates and one ticker, got {returns.shape}")
    if not returns.index.is_monotonic_increasing or not returns.index.is_unique:
        raise ValueError("returns: dates must be strictly increasing (sorted, no duplicates)")
    if not returns.columns.is_unique:
        raise ValueError("returns: tickers must be unique")
    values = as_float_array(returns.to_numpy(), "returns")
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"returns must be finite: {returns.columns[col]} on {returns.index[row].date()} "
            f"is {values[row, col]}"
        )
    wiped = values <= -1.0
    if wiped.any():
        row, col = np.argwhere(wiped)[0]
        raise ValueError(
            f"returns must be > -100%: {returns.columns[col]} on {returns.index[row].date()} "
            f"is {values[row, col]:.4g}"
        )
    index = returns.index.tz_localize(None) if returns.index.tz is not None else returns.index
    days = index.normalize()
    if days.has_duplicates:
        day = days[days.duplicated()][0]
        raise ValueError(
            f"returns has several rows on {day.date()} (intraday timestamps): a backtest's "
            "periods are days or longer; resample to daily returns first"
        )
    return np.ascontiguousarray(values), index, returns.columns


def _check_weights(value: Any, name: str, tickers: pd.Index) -> np.ndarray:
    arr = as_float_array(align_to_tickers(value, tickers, name, "the returns' columns"), name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one weight per ticker, got a scalar")
    if arr.shape != (len(tickers),):
        raise ValueError(f"{name} must have {len(tickers)} weights, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    check_weights_sum(arr, name)
    return np.ascontiguousarray(arr)


# --- running ---------------------------------------------------------------------------------


def _periods_per_year(index: pd.DatetimeIndex, given: float | None) -> float:
    if given is None:
        return periods_per_year(index)
    return check_scalar(given, "periods_per_year", minimum=0.0, strict=True)


def _check_flows(flows: Any, index: pd.DatetimeIndex) -> np.ndarray | None:
    """flows as one float per row of returns (None: no flows)."""
    if flows is None:
        return None
    if isinstance(flows, pd.Series):
        dates = pd.DatetimeIndex(flows.index)
        unknown = dates.difference(index)
        if len(unknown):
            shown = ", ".join(str(d.date()) for d in unknown[:3])
            raise ValueError(f"flows: dates not in the returns: {shown}")
        if dates.has_duplicates:
            raise ValueError("flows: a date appears twice")
        cash = np.zeros(len(index))
        cash[index.get_indexer(dates)] = as_float_array(flows.to_numpy(), "flows")
    elif isinstance(flows, int | float | np.integer | np.floating) and not isinstance(flows, bool):
        cash = np.full(len(index), float(flows))
    else:
        cash = np.array(as_float_array(flows, "flows"), dtype=float)
        if cash.shape != (len(index),):
            raise ValueError(f"flows must have one value per row ({len(index)}), got {cash.shape}")
    if not np.isfinite(cash).all():
        raise ValueError("flows must be finite")
    return np.ascontiguousarray(cash)


def _run(setup: Backtester, policy: Policy, name: str) -> BacktestResult:
    values, index, tickers = setup.returns, setup.index, setup.tickers
    rates = setup.costs.linear_rates(tickers)
    cost_names = list(rates) or ["commission"]
    linear = np.vstack([rates[k] for k in cost_names]) if rates else np.zeros((1, len(tickers)))
    impact = setup.costs.impact(values, tickers, setup.periods_per_year)
    inputs = PlanInputs(
        values, index, tickers, setup.target, setup.periods_per_year, linear.sum(axis=0)
    )
    plan: Plan = policy.plan(inputs)
    check = np.ascontiguousarray(plan.check, dtype=np.uint8)
    if check.shape != (len(index),):
        raise ValueError(
            f"policy {policy.name!r} planned {check.shape} checks for {len(index)} rows"
        )
    engine = _core.Backtest(
        values,
        setup.target,
        check,
        plan.band,
        linear,
        impact,
        setup.initial,
        setup.initial_nav,
        plan.decide is not None,
        setup.flows,
        setup.flow_to == "underweight",
    )
    try:
        if plan.decide is not None:
            while (t := engine.run()) >= 0:
                weights = engine.weights()
                new = plan.decide(t, weights)
                if new is None or float(np.max(np.abs(new - weights))) <= NO_TRADE:
                    continue
                engine.trade(_check_decided(new, policy, index[t]))
        else:
            engine.run()
    except ValueError as err:  # the engine names rows by number: add their dates
        raise ValueError(_with_dates(str(err), index)) from None
    raw = engine.results()
    _check_finite_value(raw["nav"], index)
    raw["initial"] = np.array(setup.initial)
    return BacktestResult(
        policy=name,
        index=index,
        tickers=tickers,
        target=np.array(setup.target),
        returns=values,
        periods_per_year=setup.periods_per_year,
        initial_nav=setup.initial_nav,
        raw=raw,
        cost_names=tuple(cost_names),
        notes=tuple(dict.fromkeys(plan.notes)),
    )


def _check_finite_value(nav: np.ndarray, index: pd.DatetimeIndex) -> None:
    """The portfolio value must stay a float64: growth beyond 1.8e308 is an error naming the
    date, never an inf in the results."""
    bad = ~np.isfinite(nav)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"the portfolio value overflows float64 on {index[row].date()} (row {row}): "
            "the returns compound beyond 1.8e308; check their units (0.01 = 1 %) or use a "
            "smaller initial_nav"
        )


def _with_dates(message: str, index: pd.DatetimeIndex) -> str:
    """``message`` with every "period N" followed by the date of row N."""

    def dated(match: re.Match[str]) -> str:
        row = int(match.group(1))
        return f"{match.group(0)} ({index[row].date()})" if row < len(index) else match.group(0)

    return re.sub(r"period (\d+)", dated, message)


def _check_decided(new: np.ndarray, policy: Policy, date: pd.Timestamp) -> np.ndarray:
    new = np.ascontiguousarray(new, dtype=float)
    if not np.isfinite(new).all() or abs(float(new.sum()) - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(
            f"policy {policy.name!r} chose invalid weights on {date.date()} "
            f"(they must be finite and sum to 1)"
        )
    return new


def _named(policies: Mapping[str, Policy] | Iterable[Policy]) -> dict[str, Policy]:
    if isinstance(policies, Policy):
        policies = [policies]
    if isinstance(policies, str | bytes) or not isinstance(policies, Mapping | Iterable):
        raise TypeError(
            "policies must be a Policy, a list of policies or a dict name -> policy, "
            f"got {type(policies).__name__}"
        )
    items = (
        list(policies.items())
        if isinstance(policies, Mapping)
        else [
            (getattr(p, "name", repr(p)) if isinstance(p, Policy) else repr(p), p) for p in policies
        ]
    )
    named: dict[str, Policy] = {}
    for name, policy in items:
        if not isinstance(policy, Policy):
            raise TypeError(f"policies: {name} is not a Policy (Calendar, Threshold, ...)")
        if name in named:
            raise ValueError(f"policies: two policies are named {name!r}; pass a dict to name them")
        named[name] = policy
    if not named:
        raise ValueError("policies must not be empty")
    return named


class BacktestOptions(TypedDict, total=False):
    """The options shared by :class:`Backtester`, :func:`backtest`, :func:`backtests` and
    :func:`compare` (one parameter set, documented once here).

    initial : weights (Series by ticker, mapping or array), optional
        Starting weights (default: the target, at no cost).
    initial_nav : float
        Starting value in currency (default 1e6; matters for market impact and flows).
    periods_per_year : float, optional
        Rows per year; inferred from the dates by default (252, 52, 12, 4 or 1).
    flows : Series (by date), number or array, optional
        Cash flows in currency at the end of periods: a Series indexed by dates of ``returns``
        (other dates are an error), one number for every period, or one value per row.
        Contributions > 0, withdrawals < 0 (never the whole value).
    flow_to : {"underweight", "pro_rata"}
        How flows are invested: towards the target without selling (contributions) or buying
        (withdrawals), or in proportion to the current weights.
    """

    initial: Any
    initial_nav: float
    periods_per_year: float | None
    flows: Any
    flow_to: Literal["underweight", "pro_rata"]


_OPTIONS = frozenset(BacktestOptions.__annotations__)


class Backtester:
    """Returns, target, costs and options validated once; policies run on them.

    Parameters
    ----------
    returns : DataFrame
        Simple returns, dates × tickers; finite and > −100 %.
    target : Series (by ticker), mapping or array
        Target weights (fractions of the portfolio), summing to one.
    costs : CostModel, LinearCost, MarketImpact, a number, or None
        Charged on every trade; a number is a fraction of the amount traded (0.001 = 10 bp),
        like every cost in the library. Its linear part drives :class:`CostAware`.
    **options
        :class:`BacktestOptions`: ``initial``, ``initial_nav``, ``periods_per_year``,
        ``flows``, ``flow_to``.

    Examples
    --------
    >>> import rebalancing as rb
    >>> from rebalancing import datasets
    >>> returns = datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    >>> bt = rb.Backtester(returns, {"stocks": 0.6, "bonds": 0.4}, costs=0.001)
    >>> bt.run(rb.Calendar("annual")).rebalances
    92
    """

    def __init__(
        self,
        returns: pd.DataFrame,
        target: Weights,
        costs: Costs = None,
        **options: Unpack[BacktestOptions],
    ) -> None:
        unknown = set(options) - _OPTIONS
        if "tax" in unknown:
            raise TypeError(
                "backtests no longer take tax=: post-process the result with "
                "rebalancing.tax.after_tax(result, TaxPolicy(...))"
            )
        if unknown:
            raise TypeError(
                f"unknown backtest option(s) {sorted(unknown)}; expected {sorted(_OPTIONS)}"
            )
        self.returns, self.index, self.tickers = _check_returns(returns)
        self.target = _check_weights(target, "target", self.tickers)
        initial = options.get("initial")
        self.initial = (
            self.target.copy()
            if initial is None
            else _check_weights(initial, "initial", self.tickers)
        )
        self.periods_per_year = _periods_per_year(self.index, options.get("periods_per_year"))
        self.initial_nav = check_scalar(
            options.get("initial_nav", 1e6), "initial_nav", minimum=0.0, strict=True
        )
        self.flows = _check_flows(options.get("flows"), self.index)
        self.flow_to = check_choice(
            options.get("flow_to", "underweight"), "flow_to", ("underweight", "pro_rata")
        )
        self.costs = as_cost_model(costs)

    def run(self, policy: Policy, name: str | None = None) -> BacktestResult:
        """Backtest one policy (named ``name``, by default its own name)."""
        if not isinstance(policy, Policy):
            raise TypeError(f"policy must be a Policy (Calendar, Threshold, ...), got {policy!r}")
        return _run(self, policy, policy.name if name is None else name)

    def run_all(
        self,
        policies: Mapping[str, Policy] | Iterable[Policy],
        progress: Callable[[str], object] | None = None,
    ) -> dict[str, BacktestResult]:
        """One result per policy, keyed by name (a list is named by each policy's ``name``;
        a dict names them). ``progress``, if given, is called with each name before its run."""
        out: dict[str, BacktestResult] = {}
        for name, policy in _named(policies).items():
            if progress is not None:
                progress(name)
            out[name] = self.run(policy, name)
        return out

    def compare(self, policies: Mapping[str, Policy] | Iterable[Policy]) -> pd.DataFrame:
        """:meth:`BacktestResult.summary` of every policy, one row each."""
        return summary_table(self.run_all(policies))


def backtest(
    returns: pd.DataFrame,
    target: Weights,
    policy: Policy,
    costs: Costs = None,
    **options: Unpack[BacktestOptions],
) -> BacktestResult:
    """Run ``policy`` over ``returns``: ``Backtester(returns, target, costs, **options).run``.

    See :class:`Backtester` for the arguments, :class:`BacktestOptions` for the options and the
    module docstring for every convention.

    Examples
    --------
    >>> import rebalancing as rb
    >>> returns = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    >>> target = {"stocks": 0.6, "bonds": 0.4}
    >>> res = rb.backtest(returns, target, rb.Threshold(0.05), costs=0.001)
    >>> res.rebalances, round(res.summary()["turnover"], 3)
    (68, 0.043)
    """
    return Backtester(returns, target, costs, **options).run(policy)


def backtests(
    returns: pd.DataFrame,
    target: Weights,
    policies: Mapping[str, Policy] | Iterable[Policy],
    costs: Costs = None,
    *,
    progress: Callable[[str], object] | None = None,
    **options: Unpack[BacktestOptions],
) -> dict[str, BacktestResult]:
    """One backtest per policy on the same data and costs, keyed by policy name
    (:meth:`Backtester.run_all`).

    Examples
    --------
    >>> import rebalancing as rb
    >>> returns = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    >>> policies = [rb.Never(), rb.Calendar("annual")]
    >>> results = rb.backtests(returns, {"stocks": 0.6, "bonds": 0.4}, policies)
    >>> {name: r.rebalances for name, r in results.items()}
    {'never': 0, 'annual': 92}
    """
    return Backtester(returns, target, costs, **options).run_all(policies, progress)


def compare(
    returns: pd.DataFrame,
    target: Weights,
    policies: Mapping[str, Policy] | Iterable[Policy],
    costs: Costs = None,
    **options: Unpack[BacktestOptions],
) -> pd.DataFrame:
    """The figures of :meth:`BacktestResult.summary` for every policy, one row each
    (:meth:`Backtester.compare`).

    Examples
    --------
    >>> import rebalancing as rb
    >>> returns = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    >>> policies = [rb.Calendar("annual"), rb.Threshold(0.05)]
    >>> table = rb.compare(returns, {"stocks": 0.6, "bonds": 0.4}, policies, costs=0.001)
    >>> table[["turnover", "rebalances"]].round(3)
             turnover  rebalances
    policy
    annual      0.038          92
    5% band     0.043          68
    """
    return Backtester(returns, target, costs, **options).compare(policies)


def summary_table(results: Mapping[str, BacktestResult]) -> pd.DataFrame:
    """One row of figures per backtest result.

    Examples
    --------
    >>> import rebalancing as rb
    >>> returns = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    >>> policies = [rb.Never(), rb.Calendar("annual")]
    >>> results = rb.backtests(returns, {"stocks": 0.6, "bonds": 0.4}, policies)
    >>> rb.summary_table(results)["rebalances"].to_dict()
    {'never': 0, 'annual': 92}
    """
    table = pd.DataFrame([r.summary() for r in results.values()]).infer_objects()
    table.index = pd.Index(list(results), name="policy")
    return table
