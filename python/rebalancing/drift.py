r"""Drift and band checks: is a portfolio (or each of a batch) outside its bands, and what trades
bring it back.

Band semantics
--------------
For portfolio :math:`r` and asset :math:`i` the *drift* is :math:`d_{ri} = w_{ri} - w^*_{ri}`
(current minus target weight). Each asset has a band half-width

.. math::

    b_{ri} = \min\bigl(a_i,\; \rho_i\,|w^*_{ri}|\bigr)

over the rules that are given: ``abs_band`` :math:`a_i` (weight units: 0.05 = 5 percentage
points), ``rel_band`` :math:`\rho_i` (a fraction of the target weight: 0.25 = ±25 % of target),
and ``bands`` (explicit per-asset half-widths, combined with ``abs_band`` by the minimum). A rule
not given counts as :math:`+\infty`. Giving both ``abs_band=0.05`` and ``rel_band=0.25`` is the
"5/25" rule: an asset breaches when its drift exceeds 5 points or 25 % of its target,
whichever is smaller. Asset :math:`i` *breaches* when :math:`|d_{ri}| > b_{ri}` — strictly, as
the textbook ``threshold_rebalance`` — so a drift exactly on the band does not breach.

Groups (asset classes, sectors): ``groups`` maps every asset to one group :math:`g(i)`; the group
drift is :math:`D_{rg} = \sum_{i: g(i) = g} d_{ri}` and group :math:`g` breaches when
:math:`|D_{rg}| > B_g` (``group_bands``). A portfolio breaches when any asset or group does.

Weights and bands are fractions: each portfolio's weights and its target sum to 1 (within 1e-6,
as :func:`~rebalancing.solve` requires) and every band is at most 1; weights summing to 100 or
``abs_band=5`` are percentages given by mistake, and the error says so. A dict ticker → weight
is taken as a Series wherever one is accepted.

The checks (the sums included) run in one fused pass in C++ (see
``cpp/include/rebalancing/drift.hpp``), threaded over portfolios or blocks of assets, with
results bitwise identical for any ``n_threads``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from rebalancing import _core
from rebalancing._validation import (
    WEIGHT_SUM_TOLERANCE,
    as_float_array,
    check_choice,
    check_count,
    check_fraction,
    check_labels,
    require_finite,
)
from rebalancing.typing import Accounts, Groups, PerAsset, Weights

__all__ = ["DriftReport", "band_trades", "check_drift", "threshold_rebalance"]

Target = Literal["target", "edge", "inner"]


# --- input handling ------------------------------------------------------------------------------


def _finite_float(
    value: Any, name: str, ndim: tuple[int, ...], check_finite: bool = True
) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.ndim not in ndim:
        shapes = " or ".join({0: "a scalar", 1: "(n,)", 2: "(m, n)"}[d] for d in ndim)
        raise ValueError(f"{name} must be {shapes}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if check_finite:
        require_finite(arr, name)
    return arr


def _as_labelled(value: Any, name: str) -> Any:
    """A mapping ticker -> weight (what PyPortfolioOpt's ``clean_weights()`` returns) as a Series,
    so that it is aligned by ticker exactly like one; anything else unchanged. The dtype is
    inferred, not forced to float: booleans stay booleans and are rejected as not numbers."""
    if isinstance(value, Mapping):
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
        return pd.Series(dict(value))
    return value


def _check_weight_sums(
    arr: np.ndarray, name: str, accounts: pd.Index | None, rows: np.ndarray | None = None
) -> None:
    """Each portfolio's weights (a row of ``arr``, or only ``rows``) must sum to 1 within 1e-6,
    as ``solve`` requires: a drift measured against weights that do not (a target of 1.1, weights
    in percent) means nothing. Weights in percent get a message that says so."""
    picked = np.atleast_2d(arr) if rows is None else arr[rows]
    index = np.arange(picked.shape[0]) if rows is None else rows
    sums = picked.sum(axis=1)
    if not np.isfinite(sums).all():
        require_finite(picked, name)  # NaN/inf are named as such; otherwise the sum overflowed
    off = ~(np.abs(sums - 1.0) <= WEIGHT_SUM_TOLERANCE)
    if not off.any():
        return
    first = int(np.flatnonzero(off)[0])
    r, total = int(index[first]), float(sums[first])
    where = ""
    if arr.ndim == 2:
        where = f" (account {accounts[r]!r})" if accounts is not None else f" (row {r})"
    if abs(total - 100.0) <= 1.0:
        raise ValueError(
            f"{name} sums to {total:.10g}: weights are fractions of the portfolio "
            f"(0.25 = 25 %), not percent{where}"
        )
    # Close to 1 but outside the tolerance: rounded weights, typically (PyPortfolioOpt's
    # clean_weights() rounds to 5 decimals and drops weights under 1e-4). Not renormalized here:
    # silently changing what the caller gave is worse than saying so.
    hint = ": rounded weights? divide them by their sum" if abs(total - 1.0) <= 1e-2 else ""
    raise ValueError(
        f"{name} must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}), got {total:.10g}{where}{hint}"
    )


def _check_kernel_sums(
    arr: np.ndarray,
    name: str,
    accounts: pd.Index | None,
    kernel_sums: np.ndarray | float,
    max_drift: np.ndarray | float,
) -> None:
    """:func:`_check_weight_sums` on only the rows that the sums added up by the C++ kernel, in
    its one pass over the weights, do not clear: so that the check costs no second pass over
    memory. The kernel adds in another order than numpy, which changes a sum by rounding of
    order n eps sum|w|: far below half the tolerance for any sensible weights, so a row within
    half the tolerance by the kernel is within the tolerance by numpy too. Every other row (and
    every row with some |w - w*| > 1, i.e. weights large enough to doubt that) is settled by
    numpy's sum, the check ``solve`` makes: verdicts and messages are the same as without the
    screen."""
    half = WEIGHT_SUM_TOLERANCE / 2
    if isinstance(kernel_sums, np.ndarray) and kernel_sums.shape[0] == 1:
        kernel_sums, max_drift = float(kernel_sums[0]), float(np.asarray(max_drift)[0])
    if isinstance(kernel_sums, float):
        # One portfolio: float arithmetic, ~10x faster than numpy on 1-element arrays (this is
        # most of the cost of a small check). NaN compares False: doubtful.
        if not (abs(kernel_sums - 1.0) <= half and max_drift <= 1.0):
            _check_weight_sums(arr, name, accounts)
        return
    doubtful = ~(np.abs(kernel_sums - 1.0) <= half) | ~(max_drift <= 1.0)
    if doubtful.any():
        _check_weight_sums(arr, name, accounts, np.flatnonzero(doubtful) if arr.ndim == 2 else None)


@dataclass(frozen=True)
class _Labels:
    """Tickers (columns) and accounts (rows) taken from pandas inputs, or None."""

    tickers: pd.Index | None
    accounts: pd.Index | None


def _align(current: Any, target: Any) -> tuple[Any, Any, _Labels]:
    """Align labelled target to labelled current; a different set of labels is an error."""
    tickers = accounts = None
    if isinstance(current, pd.DataFrame):
        tickers, accounts = current.columns, current.index
    elif isinstance(current, pd.Series):
        tickers = current.index
    for labels, what in ((tickers, "tickers"), (accounts, "accounts")):
        if labels is not None and labels.has_duplicates:
            dup = labels[labels.duplicated()].unique().tolist()[:5]
            raise ValueError(f"current has duplicate {what}: {dup}")
    if isinstance(target, pd.Series | pd.DataFrame):
        target_tickers = target.columns if isinstance(target, pd.DataFrame) else target.index
        if tickers is None:
            raise ValueError("target has ticker labels but current does not; label both or neither")
        check_labels(target_tickers, tickers, "target", "current")
        if isinstance(target, pd.DataFrame):
            if accounts is None:
                raise ValueError("target is a DataFrame (per account) but current is not")
            check_labels(target.index, accounts, "target", "current", what="accounts")
            target = target.loc[accounts, tickers]
        else:
            target = target.loc[tickers]
    return current, target, _Labels(tickers, accounts)


def _per_asset(value: Any, name: str, n: int, tickers: pd.Index | None) -> np.ndarray | float:
    """A non-negative band: a float, or an (n,) array aligned to the tickers."""
    if isinstance(value, Mapping):
        value = pd.Series(dict(value))  # dtype inferred: booleans are rejected below
    if isinstance(value, pd.Series):
        if tickers is None:
            raise ValueError(f"{name} is labelled by ticker but the weights are not")
        check_labels(value.index, tickers, name, "the weights")
        value = value.loc[tickers]
    arr = _finite_float(value, name, (0, 1))
    if arr.ndim == 1 and arr.shape[0] != n:
        raise ValueError(
            f"{name} must be a scalar or have length {n} (one per asset), got {arr.shape[0]}"
        )
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {arr.min():g}")
    check_fraction(arr, name)
    return float(arr) if arr.ndim == 0 else arr


def _groups(
    groups: Any, group_bands: Any, n: int, tickers: pd.Index | None
) -> tuple[np.ndarray, pd.Index, np.ndarray] | None:
    """(group id per asset, group labels, band per group), or None without groups."""
    if groups is None and group_bands is None:
        return None
    if groups is None or group_bands is None:
        raise ValueError("groups and group_bands must be given together")
    if isinstance(groups, Mapping):
        groups = pd.Series(groups, dtype=object)
    if isinstance(groups, pd.Series):
        if tickers is None:
            raise ValueError("groups is labelled by ticker but the weights are not")
        missing = tickers.difference(groups.index).tolist()
        if missing:
            raise ValueError(f"groups must assign every asset to a group; missing {missing[:5]}")
        groups = groups.loc[tickers].to_numpy()
    labels = np.asarray(groups, dtype=object)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"groups must have one entry per asset ({n}), got shape {labels.shape}")
    if pd.isna(labels).any():
        i = int(np.flatnonzero(pd.isna(labels))[0])
        raise ValueError(f"groups must assign every asset to a group; asset {i} has none")
    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError:  # labels of mixed, unorderable types: first-appearance order
        codes, uniques = pd.factorize(labels, sort=False)
    names = pd.Index(uniques, name="group")
    if isinstance(group_bands, Mapping | pd.Series):
        # dtype inferred, not forced to float: booleans are rejected by _finite_float.
        given = pd.Series(dict(group_bands)) if isinstance(group_bands, Mapping) else group_bands
        missing = names.difference(given.index).tolist()
        if missing:
            raise ValueError(f"group_bands has no band for group(s) {missing[:5]}")
        bands = _finite_float(given.loc[names], "group_bands", (1,))
    else:
        bands = np.full(len(names), float(_finite_float(group_bands, "group_bands", (0,))))
    if (bands < 0).any():
        raise ValueError(f"group_bands must be >= 0, got min {bands.min():g}")
    check_fraction(bands, "group_bands")
    return codes.astype(np.int32), names, bands


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftReport:
    """Result of :func:`check_drift` for one portfolio or a batch of ``m``.

    Per-portfolio fields are arrays of shape ``(m,)`` for a batch and scalars for a single
    portfolio (pandas Series indexed by account when the input was a DataFrame).

    Attributes
    ----------
    max_drift : max over assets of :math:`|d_i|`.
    max_excess : max over assets of :math:`|d_i| - b_i`: positive by how far the worst asset is
        outside its band, otherwise minus the smallest headroom (``-inf`` without asset bands).
    n_breaches : number of assets outside their band.
    breach : whether any asset or group breaches.
    group_drift, group_excess, group_breach : per group :math:`D_g`, :math:`|D_g| - B_g` and
        :math:`|D_g| > B_g`; shape ``(m, G)`` (``(G,)`` single), DataFrames/Series by group label.
    """

    current: np.ndarray = field(repr=False)  # (m, n)
    target: np.ndarray = field(repr=False)  # (n,) or (m, n)
    abs_band: np.ndarray | float | None = field(repr=False)
    rel_band: np.ndarray | float | None = field(repr=False)
    group_ids: np.ndarray | None = field(repr=False)
    group_names: pd.Index | None = field(repr=False)
    group_bands: np.ndarray | None = field(repr=False)
    batch: bool
    labels: _Labels = field(repr=False)
    _max_drift: np.ndarray = field(repr=False)
    _max_excess: np.ndarray = field(repr=False)
    _n_breaches: np.ndarray = field(repr=False)
    _group_drift: np.ndarray = field(repr=False)

    # -- per-portfolio summaries
    def _per_portfolio(self, values: np.ndarray, name: str) -> Any:
        if not self.batch:
            return values[0].item()
        if self.labels.accounts is not None:
            return pd.Series(values, index=self.labels.accounts, name=name)
        return values

    def _per_group(self, values: np.ndarray, name: str) -> Any:
        if self.group_names is None:
            raise ValueError("no groups were given to check_drift")
        if self.batch:
            if self.labels.accounts is None:
                return values
            return pd.DataFrame(values, index=self.labels.accounts, columns=self.group_names)
        return pd.Series(values[0], index=self.group_names, name=name)

    def _per_asset(self, values: np.ndarray, name: str) -> Any:
        tickers = self.labels.tickers
        if not self.batch:
            return values[0] if tickers is None else pd.Series(values[0], index=tickers, name=name)
        if tickers is None:
            return values
        return pd.DataFrame(values, index=self.labels.accounts, columns=tickers)

    @property
    def max_drift(self) -> Any:
        return self._per_portfolio(self._max_drift, "max_drift")

    @property
    def max_excess(self) -> Any:
        return self._per_portfolio(self._max_excess, "max_excess")

    @property
    def n_breaches(self) -> Any:
        return self._per_portfolio(self._n_breaches, "n_breaches")

    @cached_property
    def _group_breach(self) -> np.ndarray:
        if self.group_bands is None:
            return np.zeros((self._max_drift.shape[0], 0), dtype=bool)
        out: np.ndarray = np.abs(self._group_drift) > self.group_bands
        return out

    @cached_property
    def _breach(self) -> np.ndarray:
        out: np.ndarray = (self._n_breaches > 0) | self._group_breach.any(axis=1)
        return out

    @property
    def breach(self) -> Any:
        return self._per_portfolio(self._breach, "breach")

    @property
    def group_drift(self) -> Any:
        return self._per_group(self._group_drift, "group_drift")

    @property
    def group_excess(self) -> Any:
        bands = (
            0.0 if self.group_bands is None else self.group_bands
        )  # no groups: _per_group raises
        return self._per_group(np.abs(self._group_drift) - bands, "group_excess")

    @property
    def group_breach(self) -> Any:
        return self._per_group(self._group_breach, "group_breach")

    # -- per-asset detail, computed on demand (only rows that breach are scanned)
    @cached_property
    def _drift(self) -> np.ndarray:
        out: np.ndarray = self.current - self.target
        return out

    @cached_property
    def _band(self) -> np.ndarray:
        """The effective band b (m, n) (or (1, n) broadcastable when the target is shared)."""
        target = np.atleast_2d(self.target)
        band = np.full(target.shape, np.inf)
        if self.abs_band is not None:
            band = np.minimum(band, self.abs_band)
        if self.rel_band is not None:
            band = np.minimum(band, self.rel_band * np.abs(target))
        return band

    @cached_property
    def _asset_breach(self) -> np.ndarray:
        mask = np.zeros(self.current.shape, dtype=bool)
        rows = np.flatnonzero(self._n_breaches > 0)
        if rows.size:
            band = np.broadcast_to(self._band, self.current.shape)
            # The kernel's arithmetic exactly: |c - t| - b > 0.
            mask[rows] = np.abs(self._drift[rows]) - band[rows] > 0.0
        return mask

    @property
    def drift(self) -> Any:
        """:math:`d = w - w^*` per asset."""
        return self._per_asset(self._drift, "drift")

    @property
    def band(self) -> Any:
        """The effective band :math:`b` per asset (``inf`` where no asset rule applies)."""
        band = np.broadcast_to(self._band, self.current.shape)
        return self._per_asset(np.array(band), "band")

    @property
    def asset_breach(self) -> Any:
        """Mask of the assets outside their band."""
        return self._per_asset(self._asset_breach, "asset_breach")

    @property
    def breached_assets(self) -> Any:
        """Indices (or tickers) of the breaching assets: one array, or a list per portfolio."""
        tickers = self.labels.tickers
        found = [
            np.flatnonzero(row) if tickers is None else tickers[row] for row in self._asset_breach
        ]
        return found if self.batch else found[0]

    def summary(self) -> pd.DataFrame:
        """One row per portfolio: max drift, max excess, breaching assets and groups, breach."""
        m = self._max_drift.shape[0]
        index = self.labels.accounts if self.labels.accounts is not None else pd.RangeIndex(m)
        frame = pd.DataFrame(
            {
                "max_drift": self._max_drift,
                "max_excess": self._max_excess,
                "n_breaches": self._n_breaches,
                "n_group_breaches": self._group_breach.sum(axis=1),
                "breach": self._breach,
            },
            index=index,
        )
        return frame

    def trades(self, to: Target = "target", inner: float = 0.5) -> Any:
        """Shorthand for :func:`band_trades` on this report."""
        return band_trades(self, to=to, inner=inner)


# --- public functions ----------------------------------------------------------------------------


def check_drift(
    current: Weights | Accounts,
    target: Weights | Accounts,
    *,
    abs_band: PerAsset | None = None,
    rel_band: PerAsset | None = None,
    bands: PerAsset | None = None,
    groups: Groups | None = None,
    group_bands: float | npt.ArrayLike | Mapping[Any, float] | None = None,
    n_threads: int = 0,
) -> DriftReport:
    """Check one portfolio or a batch against their bands (see the module docstring).

    Parameters
    ----------
    current : array-like ``(n,)`` or ``(m, n)``, pd.Series or dict by ticker, or pd.DataFrame
        (accounts × tickers)
        Current weights as fractions of the portfolio (0.25 = 25 %), one portfolio per row;
        each must sum to 1 within 1e-6, as in :func:`~rebalancing.solve`. A dict ticker →
        weight (what PyPortfolioOpt's ``clean_weights()`` returns) is taken as a Series.
    target : array-like ``(n,)`` (shared by every portfolio) or ``(m, n)``, dict, or pandas
        Target weights, summing to 1 likewise; labelled targets are aligned to ``current``'s
        labels.
    abs_band : float or ``(n,)``, optional
        Absolute half-width :math:`a_i` in weight units (0.05 = 5 points), at most 1.
    rel_band : float or ``(n,)``, optional
        Relative half-width :math:`\\rho_i` as a fraction of :math:`|w^*_i|` (0.25 = ±25 %), at
        most 1.
    bands : ``(n,)`` array, pd.Series or dict by ticker, optional
        Explicit per-asset half-widths; combined with ``abs_band`` by the minimum.
    groups : ``(n,)`` labels, pd.Series or dict ticker → group, optional
        The group of every asset (each asset in exactly one group).
    group_bands : float or mapping group → band, optional
        Half-width :math:`B_g` of each group's total drift, at most 1. Required with ``groups``.
    n_threads : int
        Threads for the C++ kernel; 0 uses every core. Results do not depend on it.

    Returns
    -------
    DriftReport

    Raises
    ------
    ValueError, TypeError
        NaN/inf, mismatched shapes or labels, empty inputs, weights not summing to 1 (in
        percent: the message says so), negative bands or bands above 1 (percent again), booleans
        where numbers belong, no band rule at all, groups that do not cover every asset or lack
        a band.

    Examples
    --------
    >>> import rebalancing as rb
    >>> report = rb.check_drift({"A": 0.7, "B": 0.3}, {"A": 0.6, "B": 0.4}, abs_band=0.05)
    >>> bool(report.breach), list(report.breached_assets)
    (True, ['A', 'B'])
    """
    current, target, labels = _align(
        _as_labelled(current, "current"), _as_labelled(target, "target")
    )
    # The weights are checked for NaN/inf by the kernel, in the same pass as the drift (and by
    # the sums below when a sum is not finite).
    cur = _finite_float(current, "current", (1, 2), check_finite=False)
    batch = cur.ndim == 2
    cur2 = cur if batch else cur[np.newaxis, :]
    m, n = cur2.shape
    tgt = _finite_float(target, "target", (1, 2), check_finite=False)
    if tgt.shape not in ((n,), (m, n)):
        raise ValueError(
            f"target must have shape ({n},)"
            + (f" or ({m}, {n})" if batch else "")
            + f" to match current {cur.shape}, got {tgt.shape}"
        )
    abs_b = None if abs_band is None else _per_asset(abs_band, "abs_band", n, labels.tickers)
    rel_b = None if rel_band is None else _per_asset(rel_band, "rel_band", n, labels.tickers)
    if bands is not None:
        explicit = _per_asset(bands, "bands", n, labels.tickers)
        abs_b = explicit if abs_b is None else np.minimum(abs_b, explicit)
    grouping = _groups(groups, group_bands, n, labels.tickers)
    if abs_b is None and rel_b is None and grouping is None:
        raise ValueError("give at least one band rule: abs_band, rel_band, bands or group_bands")
    threads = check_count(n_threads, "n_threads", minimum=0, meaning="0 = all cores")
    group_ids = grouping[0] if grouping else None
    # The kernel also sums w and w - w* per portfolio, for the sum-to-one check below.
    max_drift, max_excess, n_breaches, group_drift, nonfinite, cur_sum, drift_sum = (
        _core.check_drift(
            cur2,
            tgt,
            None if abs_b is None else np.asarray(abs_b, dtype=np.float64),
            None if rel_b is None else np.asarray(rel_b, dtype=np.float64),
            group_ids,
            0 if grouping is None else len(grouping[1]),
            threads,
        )
    )
    if nonfinite.any():
        require_finite(cur2, "current")
        require_finite(tgt, "target")
        raise ValueError(  # finite inputs whose difference overflows
            "current - target overflows float64 (weights near 1e308)"
        )
    _check_kernel_sums(cur, "current", labels.accounts, cur_sum, max_drift)
    _check_kernel_sums(tgt, "target", labels.accounts, cur_sum - drift_sum, max_drift)
    return DriftReport(
        current=cur2,
        target=tgt,
        abs_band=abs_b,
        rel_band=rel_b,
        group_ids=group_ids,
        group_names=grouping[1] if grouping else None,
        group_bands=grouping[2] if grouping else None,
        batch=batch,
        labels=labels,
        _max_drift=max_drift,
        _max_excess=max_excess,
        _n_breaches=n_breaches,
        _group_drift=group_drift,
    )


def band_trades(report: DriftReport, to: Target = "target", inner: float = 0.5) -> Any:
    r"""Trades that bring every breaching portfolio back inside its bands; zero elsewhere.

    Parameters
    ----------
    report : DriftReport
        From :func:`check_drift`.
    to : {"target", "edge", "inner"}
        ``"target"``: the whole portfolio trades to target, :math:`t = w^* - w` (what the
        textbook ``threshold_rebalance`` does). ``"edge"``: each breaching asset moves to the
        nearer edge of its band, :math:`d_i \to \operatorname{sign}(d_i)\,b_i`. ``"inner"``: to
        the inner band, :math:`d_i \to \operatorname{sign}(d_i)\,f\,b_i` with ``f = inner``.
        A group that breaches (before or after the asset moves) is brought the same way to
        :math:`f B_g` (edge: :math:`f = 1`) by scaling the drifts of all its members by one
        factor, after the asset moves.
    inner : float in [0, 1]
        The fraction ``f`` for ``to="inner"``.

    Returns
    -------
    Trades :math:`t` in weight units, shaped and labelled like the report's inputs.

    Notes
    -----
    The trades sum to zero, so :math:`\sum_i w_i` is unchanged, and every weight moves towards
    its target, never past it (so weights in [0, 1] stay there). In the ``"edge"`` and
    ``"inner"`` modes the moved assets leave a residual :math:`R = -\sum_{\text{moved}} t_i`,
    allocated in three stages, each taking what the previous one could not:

    1. the assets that did not move, *towards* their targets: those whose drift has the
       opposite sign of :math:`R` take it in proportion to their drift, never past the target,
       and, with groups, never pushing a group past its band (:math:`f B_g` for a group that
       breached or was scaled, :math:`B_g` otherwise);
    2. the moved assets, the same way (from their band edge back towards target);
    3. only if :math:`\sum_i w_i \ne \sum_i w^*_i` can anything be left: it is spread over the
       unmoved assets (all if every one moved) in proportion to their target weights.

    Stages 1 and 2 only shrink drifts and keep every group inside its band, and when the weights
    and targets have the same sum they absorb all of :math:`R`, so every breach is cleared.

    Edges are approached from inside by a rounding margin (:math:`4\varepsilon(|w_i| + |w^*_i|)`
    per asset, about 1e-15, and :math:`4\varepsilon(n_g + 1)\sum_{i \in g}(|w_i| + |w^*_i|)` per
    group), so that ``check_drift`` on ``w + t`` reports no breach although it recomputes the
    drift in floating point. Only a band of exactly 0 can still read an ulp or so past.

    Examples
    --------
    >>> import rebalancing as rb
    >>> report = rb.check_drift({"A": 0.7, "B": 0.3}, {"A": 0.6, "B": 0.4}, abs_band=0.05)
    >>> rb.band_trades(report, "edge").round(12).to_dict()
    {'A': -0.05, 'B': 0.05}
    """
    if not isinstance(report, DriftReport):
        raise TypeError(
            f"report must be a DriftReport from check_drift, got {type(report).__name__}"
        )
    check_choice(to, "to", ("target", "edge", "inner"))
    if to == "inner" and (
        isinstance(inner, bool)
        or not isinstance(inner, int | float | np.integer | np.floating)
        or not 0.0 <= inner <= 1.0
    ):
        raise ValueError(f"inner must be a number in [0, 1], got {inner!r}")
    fraction = {"target": 0.0, "edge": 1.0, "inner": float(inner)}[to]
    cur = report.current
    m, n = cur.shape
    tgt = np.broadcast_to(report.target, (m, n))
    trades = np.zeros((m, n))
    rows = np.flatnonzero(report._breach)
    if rows.size == 0:
        return report._per_asset(trades, "trade")
    if to == "target":
        trades[rows] = tgt[rows] - cur[rows]
        return report._per_asset(trades, "trade")
    drift = report._drift[rows]
    new = drift.copy()
    moved = report._asset_breach[rows].copy()
    band = np.broadcast_to(report._band, (m, n))[rows]
    # Rounding margins. Whoever applies the trades recomputes w' = w + t and the drift w' - w*
    # (check_drift does) in floating point: each step rounds by at most half an ulp of a number
    # no larger than |w| + |w*|, so a drift moved exactly to its band edge would read up to ~2
    # ulps past it about half the time, a "breach" of 1e-16. Landing 4 eps (|w| + |w*|) inside
    # (~1e-15 for weights in [0, 1]) leaves no such breach. A group drift, a sum of n_g such
    # drifts (each off by <= 2 eps (|w_i| + |w*_i|)) adding up with <= n_g eps sum |d_i| more,
    # keeps 4 eps (n_g + 1) sum (|w_i| + |w*_i|) inside its band.
    scale_w = np.abs(cur[rows]) + np.abs(tgt[rows])
    eps = np.finfo(np.float64).eps
    edge = np.maximum(fraction * band[moved] - 4.0 * eps * scale_w[moved], 0.0)
    new[moved] = np.sign(drift[moved]) * edge
    if report.group_ids is not None and report.group_bands is not None:
        ids, bands = report.group_ids, report.group_bands
        size = np.bincount(ids, minlength=len(bands))
        margin = 4.0 * eps * (size + 1) * _group_sums(scale_w, ids, len(bands))
        inner_limit = np.maximum(fraction * bands - margin, 0.0)
        outer_limit = np.maximum(bands - margin, 0.0)
        # A group that breached goes to f B_g. The asset moves can also push a group that did
        # not breach past B_g (members drifting both ways, only some moved): it goes to f B_g too.
        # Scaling every member's drift by c = f B_g / |D_g| in [0, 1) moves each towards its
        # target, never past it, and takes |D_g| to f B_g (less the margin).
        total = _group_sums(new, ids, len(bands))
        breached = report._group_breach[rows]
        changed = _group_sums(moved.astype(np.float64), ids, len(bands)) > 0
        fix = (breached & (np.abs(total) > inner_limit)) | (changed & (np.abs(total) > outer_limit))
        scale = np.ones_like(total)
        scale[fix] = inner_limit[fix] / np.abs(total[fix])
        new *= scale[:, ids]
        moved |= fix[:, ids]
        limit = np.where(breached | fix, inner_limit, outer_limit)
    else:  # one group holding every asset, without a band: stages 1 and 2 as without groups
        ids, limit = np.zeros(n, dtype=np.int32), np.full((rows.size, 1), np.inf)
    residual = -(new - drift).sum(axis=1)  # what the unmoved assets must absorb
    _absorb(new, moved, residual, tgt[rows], ids, limit)
    trades[rows] = new - drift
    return report._per_asset(trades, "trade")


def _group_sums(values: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """(rows, G): the sum of each row's values over the members of each group."""
    if n_groups == 1:  # numpy's pairwise row sum, as band_trades summed before it had groups
        one: np.ndarray = values.sum(axis=1, keepdims=True)
        return one
    rows = values.shape[0]
    flat = (np.arange(rows)[:, np.newaxis] * n_groups + ids).ravel()
    sums: np.ndarray = np.bincount(flat, values.ravel(), rows * n_groups).reshape(rows, n_groups)
    return sums


def _absorb(
    new: np.ndarray,
    moved: np.ndarray,
    residual: np.ndarray,
    target: np.ndarray,
    ids: np.ndarray,
    limit: np.ndarray,
) -> None:
    r"""Allocate each row's residual (in place; see band_trades' notes).

    Per row, with :math:`s = \operatorname{sign}(\text{left})`, a taker :math:`i` whose drift
    opposes the residual (:math:`s\,d_i < 0`) can move by up to :math:`|d_i|` towards its target;
    the takers of group :math:`g` together by :math:`N_g = \sum |d_i|`. That moves the group drift
    :math:`D_g` in the direction :math:`s`, which may go only as far as the group's limit
    :math:`L_g` (its band; :math:`+\infty` without groups): the group can take

    .. math:: C_g = \min\bigl(N_g,\; \max(0, L_g - s D_g)\bigr).

    Each group takes the same fraction :math:`\min(1, |\text{left}| / \sum_g C_g)` of its
    :math:`C_g`, shared by its takers in proportion to :math:`|d_i|`. So no drift grows or changes
    sign and no group leaves :math:`[-L_g, L_g]`.

    Enough capacity: :math:`N_g \ge \max(0, -s D_g)` (the takers' drifts outweigh the group's
    opposing total) and :math:`L_g - s D_g \ge -s D_g`, so
    :math:`\sum_g C_g \ge \sum_g \max(0, -s D_g) \ge -s \sum_g D_g = |\text{left}| - s\,\delta`
    with :math:`\delta = \sum_i (w_i - w^*_i)`, since :math:`\sum_i d_i + \text{left} = \delta`
    throughout. With equal sums (:math:`\delta = 0`) stages 1 and 2 take all of it: if stage 1
    (unmoved takers only) falls short, every group has used up its headroom or its unmoved
    takers, so in stage 2 the moved takers' capacity is the whole capacity above.
    """
    left = residual.copy()
    n_groups = limit.shape[1]
    for takers in (~moved, moved):  # unmoved assets first, then the moved ones
        direction = np.sign(left)[:, np.newaxis]
        room = np.where(takers & (direction * new < 0), np.abs(new), 0.0)
        room_g = _group_sums(room, ids, n_groups)
        headroom = np.maximum(limit - direction * _group_sums(new, ids, n_groups), 0.0)
        capacity_g = np.minimum(room_g, headroom)
        capacity = capacity_g.sum(axis=1)
        taken = np.minimum(np.abs(left), capacity)
        share = np.divide(taken, capacity, out=np.zeros_like(capacity), where=capacity > 0)
        # Fraction of each taker's |d_i| taken: C_g / N_g (exactly 1 without a binding group
        # limit) times the common share.
        used = np.divide(capacity_g, room_g, out=np.zeros_like(room_g), where=room_g > 0)
        new += direction * room * (used * share[:, np.newaxis])[:, ids]
        left -= np.sign(left) * taken
    for r in np.flatnonzero(left != 0.0):  # only when sum(current) != sum(target)
        takers = ~moved[r] if (~moved[r]).any() else np.ones(new.shape[1], dtype=bool)
        weights = np.where(takers, np.abs(target[r]), 0.0)
        if weights.sum() == 0.0:
            weights = takers.astype(np.float64)
        new[r] += left[r] * weights / weights.sum()


def threshold_rebalance(
    current_weights: Weights, target_weights: Weights, threshold: float = 0.05
) -> np.ndarray | pd.Series | None:
    """Drop-in for the textbook ``threshold_rebalance``.

    Returns ``target_weights - current_weights`` (the trades) when
    ``max(abs(current - target)) > threshold`` (strictly), else ``None``. Same signature and
    semantics as the textbook function; pandas Series or dicts by ticker in (aligned by
    ticker) give a Series out. Unlike the textbook function it checks its input: the weights
    must sum to 1 within 1e-6 and ``threshold`` must be in [0, 1] (fractions, not percent).
    For a batch of portfolios, or other band rules, use :func:`check_drift`.

    Examples
    --------
    >>> import rebalancing as rb
    >>> rb.threshold_rebalance([0.7, 0.3], [0.6, 0.4], threshold=0.05)
    array([-0.1,  0.1])
    >>> rb.threshold_rebalance([0.62, 0.38], [0.6, 0.4], threshold=0.05) is None
    True
    """
    real = int | float | np.integer | np.floating
    if isinstance(threshold, bool) or not isinstance(threshold, real):
        raise TypeError(f"threshold must be a real number, got {type(threshold).__name__}")
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be finite and >= 0, got {threshold!r}")
    check_fraction(np.asarray(float(threshold)), "threshold")
    current_weights = _as_labelled(current_weights, "current_weights")
    target_weights = _as_labelled(target_weights, "target_weights")
    if isinstance(current_weights, pd.Series | pd.DataFrame) or isinstance(
        target_weights, pd.Series | pd.DataFrame
    ):
        current_weights, target_weights, labels = _align(current_weights, target_weights)
    else:
        labels = _Labels(None, None)
    cur = _finite_float(current_weights, "current_weights", (1, 2), check_finite=False)
    if cur.ndim == 2:
        raise ValueError("threshold_rebalance takes one portfolio; use check_drift for a batch")
    tgt = _finite_float(target_weights, "target_weights", (1,), check_finite=False)
    if tgt.shape != cur.shape:
        raise ValueError(
            f"target_weights must have shape {cur.shape} like current_weights, got {tgt.shape}"
        )
    # One lean pass in C++ (max |drift|, a NaN/inf check and the sums for the sum-to-one check).
    max_drift, nonfinite, cur_sum, drift_sum = _core.max_drift(cur, tgt)
    if nonfinite:
        require_finite(cur, "current_weights")
        require_finite(tgt, "target_weights")
        raise ValueError("current_weights - target_weights overflows float64")
    _check_kernel_sums(cur, "current_weights", None, cur_sum, max_drift)
    _check_kernel_sums(tgt, "target_weights", None, cur_sum - drift_sum, max_drift)
    if not max_drift > threshold:
        return None
    trades: np.ndarray = tgt - cur
    if labels.tickers is not None:
        return pd.Series(trades, index=labels.tickers, name="trade")
    return trades
