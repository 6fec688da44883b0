"""The shipped datasets: shape, dates, plausibility, fresh frames; and the bond-return formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rebalancing.datasets import (
    bond_returns_from_yields,
    load_sp500_20,
    load_stocks_bonds_bills,
    sp500_20_returns,
)

TICKERS = [
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
]  # fmt: skip


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    return load_stocks_bonds_bills()


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sp500_20()


# --- stocks, bonds, bills ------------------------------------------------------------------------


def test_monthly_shape_columns_and_dates(monthly: pd.DataFrame) -> None:
    assert monthly.shape == (1109, 3)
    assert list(monthly.columns) == ["stocks", "bonds", "bills"]
    assert (monthly.dtypes == np.float64).all()
    index = monthly.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.name == "date"
    assert index[0] == pd.Timestamp("1926-07-31")
    assert index[-1] == pd.Timestamp("2018-11-30")
    assert index.is_monotonic_increasing and index.is_unique
    assert index.is_month_end.all()
    assert (index.hour == 0).all()
    # one row per calendar month, none missing
    months = index.to_period("M")
    assert months.equals(pd.period_range("1926-07", "2018-11", freq="M"))


def test_monthly_has_no_missing_values(monthly: pd.DataFrame) -> None:
    assert not monthly.isna().any().any()
    assert np.isfinite(monthly.to_numpy()).all()


def test_monthly_first_row_matches_sources(monthly: pd.DataFrame) -> None:
    # French 1926-07: Mkt-RF 2.96, RF 0.22 (percent).
    first = monthly.iloc[0]
    assert first["stocks"] == pytest.approx(0.0318, abs=1e-12)
    assert first["bills"] == pytest.approx(0.0022, abs=1e-12)


def test_monthly_plausible_levels(monthly: pd.DataFrame) -> None:
    mean = 12.0 * monthly.mean()
    vol = np.sqrt(12.0) * monthly.std()
    assert 0.08 < mean["stocks"] < 0.13
    assert 0.04 < mean["bonds"] < 0.08
    assert 0.02 < mean["bills"] < 0.05
    assert mean["stocks"] > mean["bonds"] > mean["bills"]
    assert 0.15 < vol["stocks"] < 0.22
    assert 0.03 < vol["bonds"] < 0.5 * vol["stocks"]
    assert vol["bills"] < 0.015
    # bills are never far from zero in a month; no asset loses everything in one month
    assert monthly["bills"].abs().max() < 0.02
    assert (monthly > -0.5).all().all()


def test_monthly_great_crash(monthly: pd.DataFrame) -> None:
    crash = (1.0 + monthly.loc["1929-09":"1932-06", "stocks"]).prod() - 1.0
    assert crash < -0.70
    # ... while bills kept earning, and Aaa bonds (a flight to quality) did not collapse
    assert (1.0 + monthly.loc["1929-09":"1932-06", "bills"]).prod() > 1.0
    assert (1.0 + monthly.loc["1929-09":"1932-06", "bonds"]).prod() > 0.9


def test_monthly_bond_rate_shocks(monthly: pd.DataFrame) -> None:
    # Yields rose steeply in 1979-1981 (bond losses) and fell in 1982 (bond rally).
    by_year = (1.0 + monthly["bonds"]).groupby(monthly.index.year).prod() - 1.0
    assert by_year.loc[1980] < 0.0
    assert by_year.loc[1982] > 0.2


# --- 20 US stocks ------------------------------------------------------------------------------


def test_prices_shape_columns_and_dates(prices: pd.DataFrame) -> None:
    assert prices.shape == (8313, 20)
    assert list(prices.columns) == TICKERS
    assert (prices.dtypes == np.float64).all()
    index = prices.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.name == "date"
    assert index[0] == pd.Timestamp("1990-01-02")
    assert index[-1] == pd.Timestamp("2022-12-28")
    assert index.is_monotonic_increasing and index.is_unique
    assert set(index.year) == set(range(1990, 2023))
    assert (index.day_of_week < 5).all()  # trading days only
    # about 252 trading days a year in every full year
    counts = pd.Series(index.year).value_counts()
    assert counts.drop(2022).between(248, 254).all()


def test_prices_positive_and_complete(prices: pd.DataFrame) -> None:
    assert not prices.isna().any().any()
    assert (prices > 0).all().all()


def test_prices_known_values(prices: pd.DataFrame) -> None:
    # First and last rows of skfolio's sp500_dataset.csv.gz.
    assert prices.loc["1990-01-02", "AAPL"] == 0.264
    assert prices.loc["1990-01-02", "XOM"] == 4.068
    assert prices.loc["2022-12-28", "MSFT"] == 233.434


def test_returns_are_pct_change_without_first_row(prices: pd.DataFrame) -> None:
    returns = sp500_20_returns()
    assert returns.shape == (8312, 20)
    assert returns.index.equals(prices.index[1:])
    assert list(returns.columns) == TICKERS
    expected = prices.to_numpy()[1:] / prices.to_numpy()[:-1] - 1.0
    np.testing.assert_allclose(returns.to_numpy(), expected, rtol=0, atol=0)
    assert not returns.isna().any().any()
    # Known market days line up: 2020-03-16 (S&P 500 −12 %) every stock down; 2008-10-13
    # (S&P 500 +11.6 %) a broad rally.
    assert (returns.loc["2020-03-16"] < 0).all()
    assert returns.loc["2008-10-13"].median() > 0.08


# --- fresh frames ------------------------------------------------------------------------------


@pytest.mark.parametrize("loader", [load_stocks_bonds_bills, load_sp500_20, sp500_20_returns])
def test_each_call_returns_a_fresh_frame(loader: object) -> None:
    assert callable(loader)
    first = loader()
    pristine = first.copy()
    first.iloc[0, 0] = -123.0
    first.index.name = "changed"
    first.pop(first.columns[-1])
    second = loader()
    assert second is not first
    pd.testing.assert_frame_equal(second, pristine)


# --- bond returns from yields ----------------------------------------------------------------


def test_bond_returns_constant_yield_earn_the_coupon() -> None:
    out = bond_returns_from_yields([0.05, 0.05, 0.05, 0.05])
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, np.full(3, 0.05 / 12.0), rtol=1e-15)


def test_bond_returns_one_point_rise_from_five_percent() -> None:
    # By hand: 1.025**40 = 2.685063838389973, so D = 20 * (1 - 1/2.685063838389973)
    # = 12.551387526043899 years and r = 0.05/12 - 12.551387526043899 * 0.01 = -0.12134720859377.
    out = bond_returns_from_yields([0.05, 0.06])
    assert out.shape == (1,)
    assert out[0] == pytest.approx(-0.12134720859377232, rel=1e-12)


def test_bond_returns_use_previous_yield_for_duration_and_coupon() -> None:
    # A fall back from 6 % to 5 %: coupon and duration are taken at 6 %.
    # 1.03**40 = 3.262037792, so D = (1 - 1/3.262037792) / 0.06 = 11.557385987 years.
    out = bond_returns_from_yields([0.06, 0.05])
    assert out[0] == pytest.approx(0.06 / 12.0 + 11.557385987 * 0.01, rel=1e-9)


def test_bond_returns_other_maturity_and_frequency() -> None:
    # Annual coupons, 10 years, 4 % → 4.5 %: D = (1 - 1.04**-10) / 0.04 = 8.110896 years.
    out = bond_returns_from_yields([0.04, 0.045], maturity=10, frequency=1)
    assert out[0] == pytest.approx(0.04 / 12.0 - 8.110895779 * 0.005, rel=1e-9)


def test_bond_returns_duration_limit_at_zero_yield() -> None:
    # D → M as y → 0, continuously: a zero yield and a tiny one agree.
    at_zero = bond_returns_from_yields([0.0, 0.001])
    near_zero = bond_returns_from_yields([1e-12, 0.001])
    assert at_zero[0] == pytest.approx(-20.0 * 0.001, rel=1e-12)
    assert near_zero[0] == pytest.approx(at_zero[0], rel=1e-8)
    # negative yields are allowed (1 + y/2 > 0)
    assert np.isfinite(bond_returns_from_yields([-0.005, -0.004])).all()


def test_bond_returns_first_order_matches_repricing_for_small_moves() -> None:
    # Against the exact price of the 20-year semi-annual bond with coupon y0 after the yield
    # moves by 1 bp (ignoring the one month of ageing): the gap is the convexity term
    # C dy^2 / 2 ≈ 1.06e-6 (C ≈ 211 years² here), positive and second order.
    y0, y1 = 0.05, 0.0501
    c = y0 / 2.0
    k = np.arange(1, 41)
    price = (c / (1 + y1 / 2) ** k).sum() + 1.0 / (1 + y1 / 2) ** 40
    out = bond_returns_from_yields([y0, y1])
    gap = (price - 1.0) - (out[0] - y0 / 12.0)
    assert 0.0 < gap < 2e-6
    assert abs(out[0] - y0 / 12.0) > 1000 * gap


def test_bond_returns_series_in_series_out() -> None:
    dates = pd.date_range("2000-01-31", periods=4, freq="ME")
    yields = pd.Series([0.05, 0.05, 0.06, 0.06], index=dates, name="AAA")
    out = bond_returns_from_yields(yields)
    assert isinstance(out, pd.Series)
    assert out.name == "AAA"
    assert out.index.equals(dates[1:])
    assert out.iloc[0] == pytest.approx(0.05 / 12.0)
    assert out.iloc[1] == pytest.approx(-0.12134720859377232, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"yields": [0.05]}, ValueError, "at least two"),
        ({"yields": []}, ValueError, "yields must not be empty"),
        ({"yields": [[0.05, 0.06]]}, ValueError, "one-dimensional"),
        ({"yields": [0.05, np.nan]}, ValueError, "finite"),
        ({"yields": ["a", "b"]}, TypeError, "real numbers"),
        ({"yields": [0.05, -2.0]}, ValueError, "-frequency"),
        ({"yields": [0.05, 0.06], "maturity": 0}, ValueError, "maturity"),
        ({"yields": [0.05, 0.06], "maturity": "20"}, TypeError, "maturity"),
        ({"yields": [0.05, 0.06], "frequency": 0}, ValueError, "frequency"),
        ({"yields": [0.05, 0.06], "frequency": 2.0}, ValueError, "frequency"),
        ({"yields": [0.05, 0.06], "frequency": True}, ValueError, "frequency"),
    ],
)
def test_bond_returns_bad_input(kwargs: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bond_returns_from_yields(**kwargs)  # type: ignore[arg-type]
