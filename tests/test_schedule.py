"""Schedules on a real exchange calendar, business days without one, and explicit dates."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import rebalancing as rb
from rebalancing import datasets
from rebalancing.schedule import BUSINESS_DAYS_NOTE, trading_days


def checked(schedule: rb.Schedule, index: pd.DatetimeIndex) -> list[str]:
    mask, _ = schedule.mask(index)
    return [d.strftime("%Y-%m-%d") for d in index[mask]]


def test_last_trading_day_knows_good_friday():
    # 2024-03-29 was Good Friday: the NYSE was closed, so March's last session is the 28th.
    index = pd.bdate_range("2024-03-01", "2024-04-30")
    assert checked(rb.Schedule("monthly"), index) == ["2024-03-28", "2024-04-30"]
    # Business days do not know holidays, and the note says so.
    mask, note = rb.Schedule("monthly", calendar=None).mask(index)
    assert [d.strftime("%Y-%m-%d") for d in index[mask]] == ["2024-03-29", "2024-04-30"]
    assert "no exchange calendar" in note


def test_first_trading_day_skips_new_year():
    index = pd.bdate_range("2023-12-01", "2024-02-29")
    assert checked(rb.Schedule("monthly", when="first"), index) == [
        "2023-12-01",
        "2024-01-02",
        "2024-02-01",
    ]


def test_period_cut_by_the_end_of_the_data_is_not_checked():
    index = pd.bdate_range("2024-01-02", "2024-05-15")
    assert checked(rb.Schedule("quarterly"), index) == ["2024-03-28"]
    assert checked(rb.Schedule("annual"), index) == []


def test_weekly_and_daily():
    index = pd.bdate_range("2024-07-01", "2024-07-19")
    # Independence Day, Thursday 4 July, is not a session; Friday the 5th is the week's last.
    assert checked(rb.Schedule("weekly"), index) == ["2024-07-05", "2024-07-12", "2024-07-19"]
    assert len(checked(rb.Schedule("daily"), index)) == len(index)


def test_monthly_data_labelled_at_month_end_checks_its_own_rows():
    # 1926-07-31 was a Saturday: the scheduled session (Friday the 30th) is acted on at the first
    # row dated on or after it, the month-end row.
    index = pd.date_range("1926-07-31", periods=24, freq="ME")
    assert checked(rb.Schedule("quarterly"), index)[:3] == [
        "1926-09-30",
        "1926-12-31",
        "1927-03-31",
    ]
    assert len(checked(rb.Schedule("monthly"), index)) == 24
    assert checked(rb.Schedule("annual"), index) == ["1926-12-31", "1927-12-31"]


def test_explicit_dates_snap_forward_to_the_next_row():
    index = pd.bdate_range("2024-01-01", "2024-01-31")
    sched = rb.Schedule(dates=["2024-01-06", "2024-01-10"])  # a Saturday, then a Wednesday
    assert checked(sched, index) == ["2024-01-08", "2024-01-10"]
    with pytest.raises(ValueError, match="outside the data"):
        rb.Schedule(dates=["2025-01-01"]).mask(index)


def test_trading_days_and_bad_arguments():
    days, note = trading_days("2024-12-23", "2024-12-27")
    assert [d.day for d in days] == [23, 24, 26, 27] and "XNYS" in note
    days, note = trading_days("2024-12-23", "2024-12-27", calendar=None)
    assert len(days) == 5
    with pytest.raises(ValueError, match="unknown exchange calendar"):
        trading_days("2024-01-01", "2024-02-01", calendar="NOPE")
    with pytest.raises(ValueError, match="must not be after"):
        trading_days("2024-02-01", "2024-01-01")
    with pytest.raises(ValueError, match="freq must be one of"):
        rb.Schedule("hourly")
    with pytest.raises(ValueError, match="when must be"):
        rb.Schedule("monthly", when="middle")
    with pytest.raises(TypeError, match="DatetimeIndex"):
        rb.Schedule("monthly").mask(pd.RangeIndex(5))
    assert "exchange_calendars" in BUSINESS_DAYS_NOTE


# --- without exchange_calendars ------------------------------------------------------------------


@pytest.fixture
def without_exchange_calendars(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import exchange_calendars` raises ImportError, as when the package is not installed."""
    monkeypatch.setitem(sys.modules, "exchange_calendars", None)


def _period_rows(index: pd.DatetimeIndex, code: str, when: str) -> pd.DatetimeIndex:
    """The first or last row of every period present in the data (plain pandas)."""
    dates = pd.Series(index, index=index.to_period(code))
    picked = dates.groupby(level=0).min() if when == "first" else dates.groupby(level=0).max()
    return pd.DatetimeIndex(picked.to_numpy())


@pytest.mark.usefixtures("without_exchange_calendars")
@pytest.mark.parametrize(
    ("freq", "code"), [("weekly", "W"), ("monthly", "M"), ("quarterly", "Q"), ("annual", "Y")]
)
def test_without_a_calendar_the_last_row_of_each_period_is_checked(freq: str, code: str) -> None:
    # Good Friday and Memorial Day can be the last weekday of a month or quarter (July 4th or
    # Christmas of a week): the data have no row then, and the last row they do have is the
    # period's last trading day.
    index = datasets.sp500_20_returns().index
    assert index[-1] == pd.Timestamp("2022-12-28")  # before the year's last sessions (29, 30)
    mask, note = rb.Schedule(freq).mask(index)
    # Every period but the last, which the end of the data cuts.
    expected = _period_rows(index, code, "last")[:-1]
    assert list(index[mask]) == list(expected)
    assert mask.sum() == index.to_period(code).nunique() - 1
    assert {"monthly": 395, "quarterly": 131}.get(freq, mask.sum()) == mask.sum()
    assert "exchange_calendars is not installed" in note


@pytest.mark.usefixtures("without_exchange_calendars")
@pytest.mark.parametrize(
    ("freq", "code"), [("weekly", "W"), ("monthly", "M"), ("quarterly", "Q"), ("annual", "Y")]
)
def test_without_a_calendar_the_first_row_of_each_period_is_checked(freq: str, code: str) -> None:
    index = datasets.sp500_20_returns().index
    mask, _ = rb.Schedule(freq, when="first").mask(index)
    assert list(index[mask]) == list(_period_rows(index, code, "first"))


@pytest.mark.parametrize("calendar", ["XNYS", None])
def test_a_holiday_at_the_end_of_a_month_without_a_row(calendar: str | None) -> None:
    # Good Friday 2024-03-29 has no row, as in real data: the 28th is March's last row.
    index = pd.bdate_range("2024-03-01", "2024-04-30").drop(pd.Timestamp("2024-03-29"))
    assert checked(rb.Schedule("monthly", calendar=calendar), index) == [
        "2024-03-28",
        "2024-04-30",
    ]


def test_the_calendar_gives_the_same_rows_on_complete_data() -> None:
    pytest.importorskip("exchange_calendars")
    index = datasets.sp500_20_returns().index
    for freq, code in (("weekly", "W"), ("monthly", "M"), ("quarterly", "Q"), ("annual", "Y")):
        mask, note = rb.Schedule(freq).mask(index)
        assert "XNYS" in note
        assert list(index[mask]) == list(_period_rows(index, code, "last")[:-1])


def test_a_session_missing_from_the_data_is_checked_at_the_periods_last_row() -> None:
    # Weekly data labelled on Fridays, checked monthly on the XNYS calendar: May 2024's last
    # session (Friday the 31st) is a row; June's (Friday the 28th) too; July's (Wednesday the
    # 31st) is not, and the month's last row, Friday the 26th, is checked instead of nothing.
    index = pd.date_range("2024-05-03", "2024-08-30", freq="W-FRI")
    assert checked(rb.Schedule("monthly"), index) == [
        "2024-05-31",
        "2024-06-28",
        "2024-07-26",
        "2024-08-30",
    ]
    # The data ending before a period's last session still cut it.
    assert checked(rb.Schedule("monthly"), index[:-1]) == ["2024-05-31", "2024-06-28", "2024-07-26"]
