r"""Transaction-cost models for backtests, composable with ``+``.

Units: as everywhere in the library, a cost rate is a fraction of the amount traded (0.001 =
10 bp); arguments in basis points say so in their name (``commission_bps``). A plain number
given as ``costs=`` is such a fraction. The costs charged are fractions of the portfolio value
before the trade (multiply by 1e4 for basis points). For a trade :math:`z` (post-trade minus
pre-trade weights):

* :class:`LinearCost` — commission and half-spread, per asset, in basis points of the amount
  traded: :math:`\sum_i (\text{commission}_i + \text{half\_spread}_i)\,|z_i| / 10^4`;
* :class:`MarketImpact` — the square-root law: trading :math:`Z_i = |z_i|\,V` in currency
  (:math:`V` the portfolio value) costs :math:`k\,\sigma_i\,Z_i^{3/2} / \mathrm{ADV}_i^{1/2}`,
  :math:`\sigma_i` the asset's daily volatility and :math:`\mathrm{ADV}_i` its average daily
  traded value; as a fraction of :math:`V` that is
  :math:`k\,\sigma_i\,|z_i|^{3/2}\,\sqrt{V / \mathrm{ADV}_i}`.

``LinearCost(...) + MarketImpact(...)`` is a :class:`CostModel`; the backtest charges every
component and reports each one. Only the linear part (:meth:`CostModel.linear_rates`) drives the
cost-aware policy's optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from rebalancing._validation import (
    COST_UNIT_SLIP,
    align_to_tickers,
    as_float_array,
    check_costs,
    check_count,
    check_scalar,
)
from rebalancing.typing import PerAsset

__all__ = ["CostModel", "Costs", "LinearCost", "MarketImpact", "as_cost_model"]


def _per_asset_bps(value: Any, name: str, tickers: pd.Index) -> np.ndarray:
    """A scalar, a sequence of length n, or a Series labelled by ticker → (n,) array."""
    n = len(tickers)
    arr = as_float_array(align_to_tickers(value, tickers, name, "the returns' columns"), name)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have {n} entries, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return arr


def _rate_bps(value: Any, name: str, tickers: pd.Index) -> np.ndarray:
    """A rate given in basis points, as a fraction; 500 bp (5 % of every trade) or more is the
    same unit slip as a fraction of 0.05 or more (percent, or a fraction, given as bp)."""
    bps = _per_asset_bps(value, name, tickers)
    if bps.size and float(bps.max()) >= COST_UNIT_SLIP * 1e4:
        raise ValueError(
            f"{name} is in basis points (10 = 0.1 % of the amount traded), got "
            f"{float(bps.max()):g}: 5 % or more of every trade is almost surely a unit slip"
        )
    rate: np.ndarray = bps / 1e4
    return rate


class _Term:
    """A single cost component; ``term + term`` makes a :class:`CostModel`."""

    def __add__(self, other: Any) -> CostModel:
        model: CostModel = as_cost_model(self) + other
        return model

    def __radd__(self, other: Any) -> CostModel:
        if isinstance(other, int) and other == 0:  # sum([...]) starts from 0
            return as_cost_model(self)
        model: CostModel = as_cost_model(other) + self
        return model


@dataclass(frozen=True)
class LinearCost(_Term):
    """Commission and half-spread in basis points of the amount traded (scalar or per asset).

    Per-asset values may be a ``pd.Series`` labelled by ticker.

    Examples
    --------
    >>> import pandas as pd
    >>> import rebalancing as rb
    >>> rb.LinearCost(commission_bps=1, half_spread_bps=5).components(pd.Index(["A", "B"]))
    {'commission': array([0.0001, 0.0001]), 'spread': array([0.0005, 0.0005])}
    """

    commission_bps: PerAsset = 0.0
    half_spread_bps: PerAsset = 0.0

    def components(self, tickers: pd.Index) -> dict[str, np.ndarray]:
        """Cost per unit of weight traded, one (n,) array per named component."""
        return {
            "commission": _rate_bps(self.commission_bps, "commission_bps", tickers),
            "spread": _rate_bps(self.half_spread_bps, "half_spread_bps", tickers),
        }


@dataclass(frozen=True)
class MarketImpact(_Term):
    r"""Square-root-law impact :math:`k\,\sigma_i\,|z_i|^{3/2}\sqrt{V/\mathrm{ADV}_i}`.

    Parameters
    ----------
    adv : scalar, array or Series
        Average daily traded value per asset, in the same currency as the backtest's
        ``initial_nav``.
    coefficient : float
        :math:`k`, of order one in the empirical literature.
    sigma : scalar, array or Series, optional
        Daily volatility per asset. If not given it is estimated from the returns as the
        standard deviation over the previous ``window`` rows (the current row excluded, so no
        look-ahead), scaled to one day when the rows are not daily. The first two rows have no
        estimate and are charged no impact (the backtest starts at target, so it rarely trades
        there).
    window : int
        Rows of history for the volatility estimate.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> import rebalancing as rb
    >>> impact = rb.MarketImpact(adv=1e8, sigma=0.02)  # k σ / sqrt(ADV) = 0.02 / 1e4
    >>> impact.coefficients(np.zeros((1, 2)), pd.Index(["A", "B"]), 252.0)
    array([[2.e-06, 2.e-06]])
    """

    adv: PerAsset
    coefficient: float = 1.0
    sigma: PerAsset | None = None
    window: int = 21

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "coefficient", check_scalar(self.coefficient, "coefficient", minimum=0.0)
        )
        object.__setattr__(self, "window", check_count(self.window, "window", minimum=2))

    def coefficients(
        self, returns: np.ndarray, tickers: pd.Index, periods_per_year: float
    ) -> np.ndarray:
        """The (periods, n) array :math:`k\\,\\sigma_{ti}/\\sqrt{\\mathrm{ADV}_i}`."""
        adv = _per_asset_bps(self.adv, "adv", tickers)
        if np.any(adv <= 0):
            raise ValueError("adv must be positive")
        if self.sigma is not None:
            sigma = np.broadcast_to(_per_asset_bps(self.sigma, "sigma", tickers), returns.shape)
        else:
            sigma = _trailing_daily_vol(returns, self.window, periods_per_year)
        return np.ascontiguousarray(self.coefficient * sigma / np.sqrt(adv))


def _trailing_daily_vol(returns: np.ndarray, window: int, periods_per_year: float) -> np.ndarray:
    """Std of the previous ``window`` rows for every row (row t uses rows < t), per day."""
    if window < 2:
        raise ValueError(f"window must be at least 2, got {window}")
    frame = pd.DataFrame(returns)
    vol = frame.rolling(window, min_periods=2).std().shift(1).to_numpy()
    vol = np.nan_to_num(vol, nan=0.0)
    # Per-row variance is (252 / periods_per_year) daily variances.
    daily: np.ndarray = vol * np.sqrt(periods_per_year / 252.0)
    return daily


@dataclass(frozen=True)
class CostModel:
    """A sum of cost components (``LinearCost`` and ``MarketImpact`` terms).

    Examples
    --------
    >>> import pandas as pd
    >>> import rebalancing as rb
    >>> model = rb.LinearCost(half_spread_bps=5) + rb.MarketImpact(adv=1e8)
    >>> len(model.terms), model.linear_total(pd.Index(["A", "B"]))
    (2, array([0.0005, 0.0005]))
    """

    terms: tuple[LinearCost | MarketImpact, ...] = field(default_factory=tuple)

    def __add__(self, other: Any) -> CostModel:
        return CostModel((*self.terms, *as_cost_model(other).terms))

    def __radd__(self, other: Any) -> CostModel:
        if isinstance(other, int) and other == 0:  # sum([...]) starts from 0
            return self
        return as_cost_model(other) + self

    def linear_rates(self, tickers: pd.Index) -> dict[str, np.ndarray]:
        """Linear cost per unit of weight traded, summed by component name."""
        out: dict[str, np.ndarray] = {}
        for term in self.terms:
            if isinstance(term, LinearCost):
                for name, rate in term.components(tickers).items():
                    out[name] = out.get(name, 0.0) + rate
        return out

    def linear_total(self, tickers: pd.Index) -> np.ndarray:
        """Total linear cost per unit of weight traded, per asset: what the optimizer sees."""
        rates = self.linear_rates(tickers)
        return sum(rates.values(), np.zeros(len(tickers)))

    def impact(
        self, returns: np.ndarray, tickers: pd.Index, periods_per_year: float
    ) -> np.ndarray | None:
        """The (periods, n) impact coefficients summed over impact terms, or None."""
        total: np.ndarray | None = None
        for term in self.terms:
            if isinstance(term, MarketImpact):
                coef = term.coefficients(returns, tickers, periods_per_year)
                total = coef if total is None else total + coef
        return total


def as_cost_model(value: Any) -> CostModel:
    """``None`` (costless), a number (a fraction of the amount traded, 0.001 = 10 bp, charged
    as a half-spread: the library's one unit for money per amount traded), a term or a model."""
    if value is None:
        return CostModel()
    if isinstance(value, CostModel):
        return value
    if isinstance(value, LinearCost | MarketImpact):
        return CostModel((value,))
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        fraction = float(value)
        if not np.isfinite(fraction):
            raise ValueError(f"costs must be finite, got {value!r}")
        check_costs(np.array([fraction]), "costs")
        return CostModel((LinearCost(half_spread_bps=fraction * 1e4),))
    raise TypeError(
        "costs must be None, a fraction of the amount traded (0.001 = 10 bp), LinearCost, "
        f"MarketImpact or CostModel, got {type(value).__name__}"
    )


#: What a backtest accepts as ``costs``: a cost model, one of its terms, or a number (a fraction
#: of the amount traded, 0.001 = 10 bp, charged as a half-spread); None for none.
Costs: TypeAlias = CostModel | LinearCost | MarketImpact | float | None
