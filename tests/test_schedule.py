"""Schedules on a real exchange calendar, business days without one, and explicit dates."""

from __future__ import annotations

import pandas as pd
import pytest

import rebalancing as rb
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
    assert "business days" in note


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
