r"""Small real datasets shipped with the package, for examples, tests and backtests.

Two files live in ``rebalancing/data/`` (provenance and licences in ``data/README.md``; both are
rebuilt from their source packages by ``scripts/build_datasets.py``) and load with pandas only:

* :func:`load_stocks_bonds_bills` — monthly simple returns of US stocks, bonds and bills from
  July 1926 (month-end dates);
* :func:`load_sp500_20` — daily prices of 20 large US stocks, 1990-01-02 to 2022-12-28, and
  :func:`sp500_20_returns`, their daily simple returns.

Stocks, bonds and bills
-----------------------
*Stocks* are the Fama–French US market total return, ``Mkt-RF + RF``, and *bills* the one-month
Treasury bill return ``RF``, both from Kenneth R. French's data library as shipped by the
``arch`` package (percent, converted to decimals).

*Bonds* are not a measured return: they are approximated from the monthly Moody's seasoned Aaa
corporate bond yield shipped by ``arch``, by treating the bond held during month :math:`t` as a
20-year par bond bought at the previous month's yield :math:`y_{t-1}` (annual, decimal)
and repriced with its modified duration:

.. math::

    r_t = \frac{y_{t-1}}{12} - D_{t-1}\,(y_t - y_{t-1}),
    \qquad
    D_{t-1} = \frac{1}{y_{t-1}}\Bigl(1 - \bigl(1 + \tfrac{y_{t-1}}{2}\bigr)^{-40}\Bigr).

The first term is one month of coupon income (a par bond's coupon rate equals its yield), the
second the first-order price change for the yield move. :math:`D` is the modified duration of a
par bond with semi-annual coupons (the US convention), 40 half-years to maturity: for a par bond
with :math:`f` coupons a year and maturity :math:`M` years the Macaulay duration is
:math:`\frac{1 + y/f}{y}\bigl(1 - (1 + y/f)^{-fM}\bigr)` and dividing by :math:`1 + y/f` gives
the expression above (:math:`f = 2`, :math:`M = 20`). The approximation ignores convexity (a
second-order term, :math:`\tfrac12 C\,\Delta y^2`, at most a few basis points a month outside
the largest yield moves), the roll-down of a bond that ages by one month, and default and
call risk; and it treats each monthly value as the yield at the end of the month (``arch`` does
not say whether a value is a month-end observation or an average over the month; if it is an
average, the derived returns are smoothed and their volatility understated). It is a stand-in
for long-term high-grade bonds, good for rebalancing studies, not for bond research.
:func:`bond_returns_from_yields` implements the formula for any maturity and coupon frequency.

Dates: the French data are labelled by month (``YYYYMM``) and the yields by the first day of the
month; both are moved to the last calendar day of the month, and only months where stocks, bills
and the yields of the month and of the month before all exist are kept.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from rebalancing._validation import as_vector, check_scalar

__all__ = [
    "bond_returns_from_yields",
    "load_sp500_20",
    "load_stocks_bonds_bills",
    "sp500_20_returns",
]

STOCKS_BONDS_BILLS_FILE = "stocks_bonds_bills.csv.gz"
SP500_20_FILE = "sp500_20.csv.gz"


def _read_csv_gz(filename: str) -> pd.DataFrame:
    """A fresh DataFrame from ``rebalancing/data/<filename>`` (works from a wheel or a zip)."""
    source = resources.files("rebalancing") / "data" / filename
    with source.open("rb") as fh:
        frame = pd.read_csv(fh, compression="gzip", index_col="date", parse_dates=["date"])
    floats: pd.DataFrame = frame.astype(np.float64)
    return floats


def load_stocks_bonds_bills() -> pd.DataFrame:
    r"""Monthly simple returns of US stocks, long-term high-grade bonds and bills since July 1926.

    Returns
    -------
    pandas.DataFrame
        Index: ``DatetimeIndex`` named ``"date"``, the last calendar day of each month, from
        1926-07-31, increasing, unique, no gaps. Columns ``["stocks", "bonds", "bills"]``,
        float64 simple returns as decimals (0.01 = 1 %), no missing values. A new frame on
        every call.

    Notes
    -----
    ``stocks`` = Fama–French ``Mkt-RF + RF`` (US market total return), ``bills`` = ``RF``
    (one-month Treasury bill), from Kenneth R. French's data library as shipped by ``arch``.
    ``bonds`` is a duration approximation from Moody's Aaa corporate yield :math:`y` (annual,
    decimal): a 20-year par bond with semi-annual coupons bought at :math:`y_{t-1}`,

    .. math::

        r_t = \frac{y_{t-1}}{12} - D_{t-1}(y_t - y_{t-1}),\qquad
        D_{t-1} = \frac{1}{y_{t-1}}\Bigl(1 - \bigl(1 + \tfrac{y_{t-1}}{2}\bigr)^{-40}\Bigr);

    see the module docstring for what it ignores. The yields themselves are not shipped.

    Examples
    --------
    >>> from rebalancing.datasets import load_stocks_bonds_bills
    >>> r = load_stocks_bonds_bills()
    >>> r.columns.tolist()
    ['stocks', 'bonds', 'bills']
    >>> str(r.index[0].date())
    '1926-07-31'
    """
    return _read_csv_gz(STOCKS_BONDS_BILLS_FILE)


def load_sp500_20() -> pd.DataFrame:
    """Daily prices of 20 large US stocks (S&P 500 constituents), 1990-01-02 to 2022-12-28.

    Returns
    -------
    pandas.DataFrame
        Index: ``DatetimeIndex`` named ``"date"`` (trading days, increasing, unique), 8313 rows.
        One float64 column per ticker (AAPL, AMD, BAC, BBY, CVX, GE, HD, JNJ, JPM, KO, LLY,
        MRK, MSFT, PEP, PFE, PG, RRC, UNH, WMT, XOM). The values are exactly skfolio's
        ``load_sp500_dataset()``: daily adjusted closing prices according to skfolio, rounded
        to three decimals, with no filling or other change; the shipped file has no missing
        values. A new frame on every call.

    Notes
    -----
    skfolio describes the data as stale and meant for testing and examples only, not as
    authoritative market data; it does not state the underlying price source. Two things to
    know when using it: prices are rounded to 0.001, which makes the early returns of stocks
    with small adjusted prices coarse (AAPL starts at 0.264, a tick of 0.4 %); and some prices
    are stale (RRC is unchanged on most days of 1990–1992).

    Examples
    --------
    >>> from rebalancing.datasets import load_sp500_20
    >>> prices = load_sp500_20()
    >>> prices.shape
    (8313, 20)
    """
    return _read_csv_gz(SP500_20_FILE)


def sp500_20_returns() -> pd.DataFrame:
    r"""Daily simple returns of the 20 stocks of :func:`load_sp500_20`.

    :math:`r_t = P_t / P_{t-1} - 1` for each ticker, labelled by day :math:`t`; the first day
    (which has no previous price) is dropped, leaving 8312 rows.

    Missing prices are not filled: a NaN price would make the returns on its own day and on the
    next day NaN (pandas' ``pct_change`` would instead forward-fill, silently merging two days'
    moves into one). The shipped prices have no missing values, so the returns have none.

    Returns
    -------
    pandas.DataFrame
        Index ``"date"`` from 1990-01-03, one float64 column per ticker. A new frame on every
        call.
    """
    prices = _read_csv_gz(SP500_20_FILE)
    returns: pd.DataFrame = (prices / prices.shift(1) - 1.0).iloc[1:]
    return returns


def _par_modified_duration(
    yields: npt.NDArray[np.float64], maturity: float, frequency: int
) -> npt.NDArray[np.float64]:
    r""":math:`D(y) = \frac1y\bigl(1 - (1 + y/f)^{-fM}\bigr)`, with its limit :math:`M` at
    :math:`y = 0`.

    The bracket is written ``-expm1(-fM log1p(y/f))`` so that it stays accurate for small
    :math:`|y|`, where the direct form loses digits to cancellation.
    """
    periods = frequency * maturity
    bracket = -np.expm1(-periods * np.log1p(yields / frequency))
    nonzero = yields != 0.0
    safe = np.where(nonzero, yields, 1.0)
    return np.where(nonzero, bracket / safe, float(maturity))


def bond_returns_from_yields(
    yields: Any, maturity: float = 20, frequency: int = 2
) -> pd.Series | npt.NDArray[np.float64]:
    r"""Monthly returns of a constant-maturity par bond approximated from its yields.

    For month :math:`t` (a par bond bought at the end of month :math:`t-1` at yield
    :math:`y_{t-1}`, held one month)

    .. math::

        r_t = \frac{y_{t-1}}{12} - D_{t-1}\,(y_t - y_{t-1}),
        \qquad
        D_{t-1} = \frac{1}{y_{t-1}}\Bigl(1 - \bigl(1 + \tfrac{y_{t-1}}{f}\bigr)^{-fM}\Bigr),

    coupon income plus the first-order price change, :math:`D` being the modified duration of a
    par bond with :math:`f` coupons a year and :math:`M` years to maturity (:math:`D \to M` as
    :math:`y \to 0`). Convexity, roll-down, default and calls are ignored.

    Parameters
    ----------
    yields : pandas.Series or array-like of float, shape (n,)
        Annual yields to maturity as decimals (0.05 = 5 %), one per month, in date order,
        finite and greater than ``-frequency``; at least two.
    maturity : float, default 20
        Years to maturity :math:`M` of the bond, > 0.
    frequency : int, default 2
        Coupons a year :math:`f` (2 = semi-annual, the US convention; 1 = annual), >= 1.

    Returns
    -------
    pandas.Series or numpy.ndarray, shape (n - 1,)
        :math:`r_1, \dots, r_{n-1}` as decimals. For a Series input, a float64 Series labelled
        by ``yields.index[1:]`` (a return carries the date of the end of its month) with the
        input's name; otherwise a float64 array.

    Raises
    ------
    TypeError
        If ``yields`` is not real-valued or ``maturity`` is not a real number.
    ValueError
        If ``yields`` is not one-dimensional, has fewer than two values, is not finite or has a
        value ``<= -frequency``; if ``maturity <= 0``; if ``frequency`` is not an integer >= 1.

    Examples
    --------
    A constant yield earns one month of coupon, :math:`y/12`:

    >>> bond_returns_from_yields([0.06, 0.06, 0.06])
    array([0.005, 0.005])
    """
    y = as_vector(yields, "yields")
    if y.shape[0] < 2:
        raise ValueError(f"yields must hold at least two values (one return), got {y.shape[0]}")
    maturity_ = check_scalar(maturity, "maturity", minimum=0.0, strict=True)
    if isinstance(frequency, bool) or not isinstance(frequency, int | np.integer) or frequency < 1:
        raise ValueError(f"frequency must be an integer >= 1 (coupons a year), got {frequency!r}")
    freq = int(frequency)
    if np.any(y <= -freq):
        bad = np.flatnonzero(y <= -freq)[:5].tolist()
        raise ValueError(
            f"yields must be > -frequency = {-freq} (so that 1 + y/frequency > 0); "
            f"found values at or below it at position(s) {bad}"
        )
    previous, current = y[:-1], y[1:]
    duration = _par_modified_duration(previous, maturity_, freq)
    returns: npt.NDArray[np.float64] = previous / 12.0 - duration * (current - previous)
    if isinstance(yields, pd.Series):
        labelled: pd.Series = pd.Series(
            returns, index=yields.index[1:], name=yields.name, dtype=np.float64
        )
        return labelled
    return returns
