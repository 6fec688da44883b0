r"""Rebalancing policies: when to look at the portfolio and what to trade.

A policy turns the backtest's inputs into a :class:`Plan`: a boolean mask of check rows, an
optional per-asset band (the C++ loop only stops where some :math:`|w_i - w^*_i| > b_i`), and either
"trade to target" (done inside the C++ loop) or a Python ``decide`` step called at each event with
the pre-trade weights, which may return new weights or ``None`` (no trade).

* :class:`Never` — buy and hold.
* :class:`Calendar` — trade to target on a schedule (``"monthly"``, first/last trading day, ...).
* :class:`Threshold` — check on a schedule (every row by default) and trade only when a band is
  breached; to target, to the band edge, or to an inner band (see :func:`rebalancing.band_trades`
  for the band semantics and how the residual is allocated). ``Threshold(0.05,
  check="quarterly")`` is calendar-plus-threshold.
* :class:`CostAware` — on each check, solve the cost-aware problem
  :math:`\min_w \lambda (w - w^*)^\top \hat\Sigma_t (w - w^*) + \sum_i c_i |w_i - w_i^-|` with
  :math:`\hat\Sigma_t` estimated only from returns up to that date (see :mod:`rebalancing.risk`)
  and :math:`c` the linear part of the backtest's cost model (or its own ``costs``).

:func:`policies_from_toml` reads named policies from a TOML file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rebalancing._validation import (
    align_to_tickers,
    as_float_array,
    as_labelled,
    check_choice,
    check_costs,
    check_count,
    check_fraction,
    check_scalar,
    require_finite,
)
from rebalancing.drift import band_trades, check_drift
from rebalancing.risk import RISK_MODELS, estimate_covariance
from rebalancing.schedule import Schedule, as_schedule
from rebalancing.settings import Settings, as_settings
from rebalancing.solver import solve
from rebalancing.typing import Groups, PerAsset, ScheduleLike

__all__ = [
    "Calendar",
    "CostAware",
    "Never",
    "Plan",
    "PlanInputs",
    "Policy",
    "Threshold",
    "policies_from_toml",
    "policy_from_dict",
]

Decide = Callable[[int, np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class PlanInputs:
    """What a policy may look at when planning (the whole table: a plan must only use row t and
    earlier rows at row t, which the built-in policies do)."""

    returns: np.ndarray  # (T, n)
    index: pd.DatetimeIndex
    tickers: pd.Index
    target: np.ndarray  # (n,)
    periods_per_year: float
    linear_costs: np.ndarray  # (n,) total linear cost per unit traded


@dataclass
class Plan:
    """How the backtest loop runs a policy (see the module docstring)."""

    check: np.ndarray
    band: np.ndarray | None = None
    decide: Decide | None = None
    notes: list[str] = field(default_factory=list)


class Policy:
    """Base class: subclasses define :attr:`name` and :meth:`plan`."""

    @property
    def name(self) -> str:
        raise NotImplementedError

    def plan(self, inputs: PlanInputs) -> Plan:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Never(Policy):
    """Buy and hold: never trade.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.Never().name
    'never'
    """

    @property
    def name(self) -> str:
        return "never"

    def plan(self, inputs: PlanInputs) -> Plan:
        return Plan(check=np.zeros(len(inputs.index), dtype=bool))


class Calendar(Policy):
    """Trade to target on every date of a schedule.

    Parameters
    ----------
    freq : str, Schedule or list of dates
        ``"daily"``, ``"weekly"``, ``"monthly"``, ``"quarterly"``, ``"annual"``; a
        :class:`~rebalancing.schedule.Schedule`; or explicit dates.
    when : {"last", "first"}
        Last or first trading day of each period (ignored for a Schedule or dates).

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.Calendar("quarterly").name
    'quarterly'
    """

    def __init__(
        self, freq: ScheduleLike = "monthly", when: Literal["first", "last"] = "last"
    ) -> None:
        check_choice(when, "when", ("first", "last"))
        self.schedule = _schedule(Schedule(freq, when) if isinstance(freq, str) else freq, "freq")

    @property
    def name(self) -> str:
        return self.schedule.label

    def plan(self, inputs: PlanInputs) -> Plan:
        check, note = self.schedule.mask(inputs.index)
        return Plan(check=check, notes=[note] if note else [])


def _check_band(value: Any, name: str) -> None:
    """A band (scalar, array, or Series / mapping by ticker or group) is a fraction in [0, 1]:
    checked when the policy is made, not at its first event. Its labels are checked against the
    data's tickers when the policy runs."""
    if value is None:
        return
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or one per asset, got {value!r}")
    arr = np.atleast_1d(as_float_array(as_labelled(value), name))
    require_finite(arr, name)
    if arr.size and float(arr.min()) < 0:
        raise ValueError(f"{name} must be >= 0, got {float(arr.min()):g}")
    check_fraction(arr, name)


def _schedule(value: Any, name: str) -> Schedule:
    """:func:`as_schedule` with errors naming the argument."""
    try:
        return value if isinstance(value, Schedule) else as_schedule(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None


def _percent(x: float) -> str:
    return f"{100 * x:g}%"


class Threshold(Policy):
    """Trade only when a band is breached, checked on a schedule (every row by default).

    Parameters
    ----------
    abs_band, rel_band, bands, groups, group_bands
        As in :func:`rebalancing.check_drift` (``abs_band=0.05, rel_band=0.25`` is the 5/25
        rule; a drift exactly on the band does not breach).
    check : str, Schedule or list of dates
        When to look: ``"daily"`` (every row of the data), ``"monthly"``, ...
    to : {"target", "edge", "inner"}
        Where a breach trades to: all the way to target, to the band edge, or to ``inner``
        times the band (see :func:`rebalancing.band_trades`).
    inner : float
        Fraction of the band for ``to="inner"``.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.Threshold(0.05, rel_band=0.25).name
    '5%/25% band'
    >>> rb.Threshold(0.05, check="monthly", to="edge").name
    'monthly 5% band to edge'
    """

    def __init__(
        self,
        abs_band: PerAsset | None = None,
        rel_band: PerAsset | None = None,
        *,
        bands: PerAsset | None = None,
        groups: Groups | None = None,
        group_bands: PerAsset | None = None,
        check: ScheduleLike = "daily",
        to: Literal["target", "edge", "inner"] = "target",
        inner: float = 0.5,
    ) -> None:
        if abs_band is None and rel_band is None and bands is None and group_bands is None:
            raise ValueError(
                "Threshold needs at least one of abs_band, rel_band, bands, group_bands"
            )
        check_choice(to, "to", ("target", "edge", "inner"))
        self.to: Literal["target", "edge", "inner"] = to
        inner = check_scalar(inner, "inner", minimum=0.0)
        if inner > 1.0:
            raise ValueError(f"inner must be a number in [0, 1], got {inner!r}")
        for value, name in (
            (abs_band, "abs_band"),
            (rel_band, "rel_band"),
            (bands, "bands"),
            (group_bands, "group_bands"),
        ):
            _check_band(value, name)
        self.band_args: dict[str, Any] = {
            "abs_band": abs_band,
            "rel_band": rel_band,
            "bands": bands,
            "groups": groups,
            "group_bands": group_bands,
        }
        self.schedule = _schedule(check, "check")
        self.inner = float(inner)

    @property
    def name(self) -> str:
        parts = []
        a, r = self.band_args["abs_band"], self.band_args["rel_band"]
        if isinstance(a, int | float) and isinstance(r, int | float):
            parts.append(f"{_percent(a)}/{_percent(r)} band")
        elif isinstance(a, int | float):
            parts.append(f"{_percent(a)} band")
        elif isinstance(r, int | float):
            parts.append(f"±{_percent(r)} rel band")
        else:
            parts.append("band")
        if self.band_args["group_bands"] is not None:
            parts.append("+ group bands")
        if self.schedule.freq != "daily":
            parts.insert(0, self.schedule.label)
        if self.to == "edge":
            parts.append("to edge")
        elif self.to == "inner":
            parts.append(f"to {self.inner:g}×band")
        return " ".join(parts)

    def plan(self, inputs: PlanInputs) -> Plan:
        check, note = self.schedule.mask(inputs.index)
        notes = [note] if note else []
        # The band arguments are resolved once, by check_drift on weights labelled by ticker (one
        # source of truth for alignment and semantics): the per-asset band b_i = min(abs_i,
        # rel_i |w*_i|) is fixed with the target, and groups become labels in the returns' order.
        # Each event then checks plain arrays.
        labelled_target = pd.Series(inputs.target, index=inputs.tickers)
        resolved = check_drift(labelled_target, labelled_target, **self.band_args)
        band = np.asarray(resolved._band, dtype=float).reshape(-1)
        band = np.ascontiguousarray(np.broadcast_to(band, inputs.target.shape))
        has_groups = self.band_args["group_bands"] is not None
        args: dict[str, Any] = {"abs_band": band}
        if has_groups:
            assert resolved.group_ids is not None and resolved.group_names is not None
            args["groups"] = resolved.group_names.to_numpy()[resolved.group_ids]
            args["group_bands"] = self.band_args["group_bands"]
        if self.to == "target" and not has_groups:
            return Plan(check=check, band=band, notes=notes)

        def decide(t: int, weights: np.ndarray) -> np.ndarray | None:
            report = check_drift(weights, inputs.target, **args)
            if not bool(np.asarray(report._breach).any()):
                return None
            trades = np.asarray(band_trades(report, to=self.to, inner=self.inner), dtype=np.float64)
            new: np.ndarray = weights + trades.reshape(-1)
            return new

        # With group bands a breach can happen without any asset breaching: stop at every check.
        return Plan(check=check, band=None if has_groups else band, decide=decide, notes=notes)


class CostAware(Policy):
    r"""Solve the cost-aware problem at each check with risk estimated from past data only.

    Parameters
    ----------
    lam : float
        Risk aversion λ (the covariance is annualized, see :mod:`rebalancing.risk`).
    risk : {"ledoit-wolf", "sample", "pca"}
        How :math:`\hat\Sigma_t` is estimated from the last ``window`` rows up to and including
        the decision date (fewer at the start; no trade before ``min_periods`` rows exist).
    window, min_periods : int
        Estimation window and the history needed before the first trade.
    check : str, Schedule or list of dates
        When to solve (every row by default).
    costs : scalar, array, Series or mapping by ticker, optional
        Linear cost per unit of weight traded seen by the optimizer, a fraction of the amount
        traded (0.001 = 10 bp); by default the linear part of the backtest's cost model. With
        no costs at all the policy trades to target.
    lower, upper : scalar or array
        Bounds on the weights.
    factors : int
        Number of factors for ``risk="pca"`` (at least 1; at most the number of assets − 1 are
        used).
    settings : Settings, optional
        The solver's settings (:class:`~rebalancing.Settings`) for every solve.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.CostAware(10.0, check="monthly", settings=rb.Settings(tol=1e-10)).name
    'monthly cost-aware λ=10'
    """

    def __init__(
        self,
        lam: float,
        risk: str = "ledoit-wolf",
        *,
        window: int = 252,
        min_periods: int = 20,
        check: ScheduleLike = "daily",
        costs: PerAsset | None = None,
        lower: PerAsset = 0.0,
        upper: PerAsset = 1.0,
        factors: int = 3,
        settings: Settings | None = None,
    ) -> None:
        self.lam = check_scalar(lam, "lam", minimum=0.0, strict=True)
        check_choice(risk, "risk", RISK_MODELS)
        self.window = check_count(window, "window", minimum=2)
        self.min_periods = check_count(min_periods, "min_periods", minimum=2)
        self.risk = risk
        self.schedule = _schedule(check, "check")
        self.costs = None if costs is None else as_labelled(costs)
        if self.costs is not None:  # a unit slip is caught here, not at the first solve
            check_costs(np.atleast_1d(as_float_array(self.costs, "costs")), "costs")
        self.lower = lower
        self.upper = upper
        self.factors = check_count(factors, "factors", minimum=1, meaning="for risk='pca'")
        self.settings = as_settings(settings)

    @property
    def name(self) -> str:
        prefix = "" if self.schedule.freq == "daily" else f"{self.schedule.label} "
        return f"{prefix}cost-aware λ={self.lam:g}"

    def plan(self, inputs: PlanInputs) -> Plan:
        check, note = self.schedule.mask(inputs.index)
        notes = [note] if note else []
        if self.costs is None:
            costs = inputs.linear_costs
        else:
            aligned = align_to_tickers(self.costs, inputs.tickers, "costs", "the returns' columns")
            costs = np.broadcast_to(as_float_array(aligned, "costs"), inputs.target.shape)

        def decide(t: int, weights: np.ndarray) -> np.ndarray | None:
            if t + 1 < self.min_periods:
                return None
            history = inputs.returns[max(0, t + 1 - self.window) : t + 1]
            cov = estimate_covariance(
                history, self.risk, inputs.periods_per_year, factors=self.factors
            )
            res = solve(
                weights,
                inputs.target,
                cov,
                costs,
                self.lam,
                lower=self.lower,
                upper=self.upper,
                settings=self.settings,
            )
            if res.status != "optimal":
                notes.append(f"{inputs.index[t].date()}: solver status {res.status}")
            return np.asarray(res.weights, dtype=float)

        return Plan(check=check, decide=decide, notes=notes)


_POLICY_TYPES: dict[str, type[Policy]] = {
    "never": Never,
    "calendar": Calendar,
    "threshold": Threshold,
    "cost-aware": CostAware,
    "cost_aware": CostAware,
}


def policy_from_dict(spec: Mapping[str, Any]) -> Policy:
    """A policy from a mapping with ``type`` (never, calendar, threshold, cost-aware) and the
    constructor's keyword arguments, e.g. ``{"type": "threshold", "abs_band": 0.05}``."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in _POLICY_TYPES:
        raise ValueError(
            f"policy type must be one of {', '.join(sorted(_POLICY_TYPES))}, got {kind!r}"
        )
    try:
        return _POLICY_TYPES[kind](**spec)
    except TypeError as err:
        raise ValueError(f"policy of type {kind!r}: {err}") from err


def policies_from_toml(source: str | Path) -> dict[str, Policy]:
    """Named policies from a TOML file (or TOML text), one table per policy::

        [policies.monthly]
        type = "calendar"
        freq = "monthly"

        ["policies"."5% band, to edge"]
        type = "threshold"
        abs_band = 0.05
        to = "edge"

    The table name is the policy's name in reports.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.policies_from_toml('''
    ... [policies.monthly]
    ... type = "calendar"
    ... freq = "monthly"
    ... ''')
    {'monthly': <Calendar 'monthly'>}
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError as err:
            raise ImportError("reading TOML on Python 3.10 needs the tomli package") from err
    path = Path(source) if not isinstance(source, str) or "\n" not in source else None
    text = path.read_text() if path is not None else str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"policies TOML: {err}") from err
    tables = data.get("policies")
    if not isinstance(tables, dict) or not tables:
        raise ValueError("policies TOML: expected [policies.<name>] tables")
    out: dict[str, Policy] = {}
    for name, spec in tables.items():
        if not isinstance(spec, dict):
            raise ValueError(f"policies TOML: [policies.{name}] must be a table")
        try:
            out[name] = policy_from_dict(spec)
        except ValueError as err:
            raise ValueError(f"policies TOML, [policies.{name}]: {err}") from err
    return out
