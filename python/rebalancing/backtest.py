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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from rebalancing import _core
from rebalancing._validation import WEIGHT_SUM_TOLERANCE, align_to_tickers, as_float_array
from rebalancing.costs import CostModel, as_cost_model
from rebalancing.policies import Plan, PlanInputs, Policy
from rebalancing.tax.after_tax import AfterTaxResult, TaxPolicy, after_tax

__all__ = [
    "BacktestResult",
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


@dataclass
class BacktestResult:
    """The path of one backtest and its figures (see the module docstring for definitions)."""

    policy: str
    index: pd.DatetimeIndex
    tickers: pd.Index
    target: np.ndarray
    returns: np.ndarray = field(repr=False)
    periods_per_year: float
    initial_nav: float
    raw: dict[str, np.ndarray] = field(repr=False)
    cost_names: list[str]
    notes: list[str] = field(default_factory=list)
    #: After-tax figures when the backtest was given a tax policy (see rebalancing.tax.after_tax).
    after_tax: AfterTaxResult | None = None

    # --- time series --------------------------------------------------------------------------

    @property
    def weights(self) -> pd.DataFrame:
        """Post-trade weights at the end of every period."""
        return pd.DataFrame(self.raw["weights"], index=self.index, columns=self.tickers)

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
        return pd.DataFrame(z, index=self.index, columns=self.tickers)

    @property
    def nav(self) -> pd.Series:
        """Portfolio value after flows and costs."""
        return pd.Series(self.raw["nav"], index=self.index, name="nav")

    @property
    def flows(self) -> pd.Series:
        """The cash flow invested at the end of each period (currency; 0 without flows)."""
        return pd.Series(self.raw["flow"], index=self.index, name="flow")

    @property
    def net_returns(self) -> pd.Series:
        """Time-weighted net returns :math:`(V_t - F_t) / V_{t-1} - 1`."""
        return pd.Series(self._net_returns, index=self.index, name="net return")

    @cached_property
    def _net_returns(self) -> np.ndarray:
        nav = self.raw["nav"]
        before = np.concatenate(([self.initial_nav], nav[:-1]))
        returns: np.ndarray = (nav - self.raw["flow"]) / before - 1.0
        return returns

    @property
    def drift(self) -> pd.Series:
        """:math:`\\max_i |w^-_{ti} - w^*_i|` before any trade, per period."""
        return pd.Series(self.raw["max_drift"], index=self.index, name="max drift")

    @property
    def costs(self) -> pd.DataFrame:
        """Costs per period by component, as fractions of the pre-trade value (with flows, of
        the value after the flow; the costs of investing the flow are included)."""
        data = dict(zip(self.cost_names, self.raw["linear_cost"].T, strict=True))
        data["impact"] = self.raw["impact_cost"]
        return pd.DataFrame(data, index=self.index)

    # --- figures ------------------------------------------------------------------------------

    @property
    def years(self) -> float:
        return len(self.index) / self.periods_per_year

    @cached_property
    def _target_returns(self) -> np.ndarray:
        return np.asarray(self.returns @ self.target)

    def summary(self) -> pd.Series:
        """The reported figures (see the module docstring for their definitions)."""
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
        if self.after_tax is not None:
            figures.update(self.after_tax.summary().to_dict())
        return pd.Series(figures, name=self.policy)


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
    return np.ascontiguousarray(values), index, returns.columns


def _check_weights(value: Any, name: str, tickers: pd.Index) -> np.ndarray:
    if isinstance(value, Mapping) and not isinstance(value, pd.Series):
        value = pd.Series(value, dtype=float)
    arr = as_float_array(align_to_tickers(value, tickers, name), name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one weight per ticker, got a scalar")
    if arr.shape != (len(tickers),):
        raise ValueError(f"{name} must have {len(tickers)} weights, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(
            f"{name} must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}), got {total:.10g}"
        )
    return np.ascontiguousarray(arr)


# --- running ---------------------------------------------------------------------------------


def backtest(
    returns: pd.DataFrame,
    target: Any,
    policy: Policy,
    costs: Any = None,
    *,
    initial: Any = None,
    initial_nav: float = 1e6,
    periods_per_year: float | None = None,
    tax: TaxPolicy | None = None,
    flows: Any = None,
    flow_to: str = "underweight",
) -> BacktestResult:
    """Run ``policy`` over ``returns`` (see the module docstring for every convention).

    Parameters
    ----------
    returns : DataFrame
        Simple returns, dates × tickers; finite and > −100 %.
    target : Series (by ticker), mapping or array
        Target weights, summing to one.
    policy : Policy
        :class:`~rebalancing.policies.Calendar`, :class:`~rebalancing.policies.Threshold`,
        :class:`~rebalancing.policies.CostAware`, :class:`~rebalancing.policies.Never`, ...
    costs : CostModel, LinearCost, MarketImpact, number of bps, or None
        Charged on every trade; its linear part drives :class:`CostAware`.
    initial : weights, optional
        Starting weights (default: the target, at no cost).
    initial_nav : float
        Starting value in currency (matters only for market impact).
    periods_per_year : float, optional
        Rows per year; inferred from the dates by default.
    tax : rebalancing.tax.TaxPolicy, optional
        Replay the trades in a tax-lot ledger and add after-tax figures (realized short- and
        long-term gains, harvested losses, tax paid, after-tax return) to the summary; see
        :mod:`rebalancing.tax.after_tax` for the conventions. Slower: about 0.2 ms per trade
        per asset.
    flows : Series (by date), number or array, optional
        Cash flows in currency at the end of periods: a Series indexed by dates of ``returns``
        (other dates are an error), one number for every period, or one value per row.
        Contributions > 0, withdrawals < 0 (never the whole value). Not combined with ``tax``.
    flow_to : {"underweight", "pro_rata"}
        How flows are invested: towards the target without selling (contributions) or buying
        (withdrawals), or in proportion to the current weights.
    """
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy (Calendar, Threshold, ...), got {policy!r}")
    results = backtests(
        returns,
        target,
        {policy.name: policy},
        costs,
        initial=initial,
        initial_nav=initial_nav,
        periods_per_year=periods_per_year,
        tax=tax,
        flows=flows,
        flow_to=flow_to,
    )
    return results[policy.name]


def _periods_per_year(index: pd.DatetimeIndex, given: float | None) -> float:
    if given is None:
        return periods_per_year(index)
    if not (isinstance(given, int | float) and np.isfinite(given) and given > 0):
        raise ValueError(f"periods_per_year must be a positive number, got {given!r}")
    return float(given)


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
    elif isinstance(flows, int | float) and not isinstance(flows, bool):
        cash = np.full(len(index), float(flows))
    else:
        cash = np.array(as_float_array(flows, "flows"), dtype=float)
        if cash.shape != (len(index),):
            raise ValueError(f"flows must have one value per row ({len(index)}), got {cash.shape}")
    if not np.isfinite(cash).all():
        raise ValueError("flows must be finite")
    return np.ascontiguousarray(cash)


def _run(
    values: np.ndarray,
    index: pd.DatetimeIndex,
    tickers: pd.Index,
    target: np.ndarray,
    initial: np.ndarray,
    policy: Policy,
    model: CostModel,
    initial_nav: float,
    ppy: float,
    flows: np.ndarray | None = None,
    flow_to: str = "underweight",
) -> BacktestResult:
    rates = model.linear_rates(tickers)
    cost_names = list(rates) or ["commission"]
    linear = np.vstack([rates[k] for k in cost_names]) if rates else np.zeros((1, len(tickers)))
    impact = model.impact(values, tickers, ppy)
    inputs = PlanInputs(values, index, tickers, target, ppy, linear.sum(axis=0))
    plan: Plan = policy.plan(inputs)
    check = np.ascontiguousarray(plan.check, dtype=np.uint8)
    if check.shape != (len(index),):
        raise ValueError(
            f"policy {policy.name!r} planned {check.shape} checks for {len(index)} rows"
        )
    engine = _core.Backtest(
        values,
        target,
        check,
        plan.band,
        linear,
        impact,
        initial,
        initial_nav,
        plan.decide is not None,
        flows,
        flow_to == "underweight",
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
    raw["initial"] = initial
    return BacktestResult(
        policy=policy.name,
        index=index,
        tickers=tickers,
        target=target,
        returns=values,
        periods_per_year=ppy,
        initial_nav=initial_nav,
        raw=raw,
        cost_names=cost_names,
        notes=list(dict.fromkeys(plan.notes)),
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
    items = policies.items() if isinstance(policies, Mapping) else ((p.name, p) for p in policies)
    named: dict[str, Policy] = {}
    for name, policy in items:
        if not isinstance(policy, Policy):
            raise TypeError(f"policies: {name!r} is not a Policy (Calendar, Threshold, ...)")
        if name in named:
            raise ValueError(f"policies: two policies are named {name!r}; pass a dict to name them")
        named[name] = policy
    if not named:
        raise ValueError("policies must not be empty")
    return named


def backtests(
    returns: pd.DataFrame,
    target: Any,
    policies: Mapping[str, Policy] | Iterable[Policy],
    costs: Any = None,
    *,
    initial: Any = None,
    initial_nav: float = 1e6,
    periods_per_year: float | None = None,
    tax: TaxPolicy | None = None,
    flows: Any = None,
    flow_to: str = "underweight",
    progress: Any = None,
) -> dict[str, BacktestResult]:
    """One :func:`backtest` per policy on the same data and costs, keyed by policy name.

    ``policies`` is a list (named by each policy's ``name``) or a dict name → policy; the
    other arguments are :func:`backtest`'s. ``progress``, if given, is called with each name
    before its backtest runs.
    """
    named = _named(policies)
    values, index, tickers = _check_returns(returns)
    tgt = _check_weights(target, "target", tickers)
    start = tgt.copy() if initial is None else _check_weights(initial, "initial", tickers)
    ppy = _periods_per_year(index, periods_per_year)
    if not (isinstance(initial_nav, int | float) and np.isfinite(initial_nav) and initial_nav > 0):
        raise ValueError(f"initial_nav must be a positive number, got {initial_nav!r}")
    if tax is not None and not isinstance(tax, TaxPolicy):
        raise TypeError(f"tax must be a rebalancing.tax.TaxPolicy, got {type(tax).__name__}")
    cash = _check_flows(flows, index)
    if flow_to not in ("underweight", "pro_rata"):
        raise ValueError(f"flow_to must be 'underweight' or 'pro_rata', got {flow_to!r}")
    if cash is not None and tax is not None:
        raise ValueError("flows and tax cannot be combined yet (the ledger has no cash flows)")
    model = as_cost_model(costs)
    out: dict[str, BacktestResult] = {}
    for name, policy in named.items():
        if progress is not None:
            progress(name)
        result = _run(
            values,
            index,
            tickers,
            tgt,
            start,
            policy,
            model,
            float(initial_nav),
            ppy,
            cash,
            flow_to,
        )
        result.policy = name
        if tax is not None:
            result.after_tax = after_tax(result, tax)
        out[name] = result
    return out


def compare(
    returns: pd.DataFrame,
    target: Any,
    policies: Mapping[str, Policy] | Iterable[Policy],
    costs: Any = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """The figures of :meth:`BacktestResult.summary` for every policy, one row each."""
    results = backtests(returns, target, policies, costs, **kwargs)
    return summary_table(results)


def summary_table(results: Mapping[str, BacktestResult]) -> pd.DataFrame:
    """One row of figures per backtest result."""
    table = pd.DataFrame([r.summary() for r in results.values()])
    table.index = pd.Index(list(results), name="policy")
    table["rebalances"] = table["rebalances"].astype(int)
    return table
