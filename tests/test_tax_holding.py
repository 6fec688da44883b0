"""Holding period (docs/tax_rules.md §1): calendar years from the day after buying, leap days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _tax import D, day
from rebalancing.tax import first_long_term_date, holding_term, is_long_term


@pytest.mark.parametrize(
    ("acquired", "first_lt"),
    [
        ("2023-03-15", "2024-03-16"),  # the rules' example
        ("2024-02-29", "2025-03-01"),  # acq + 1 = 2024-03-01 → 2025-03-01
        ("2023-02-28", "2024-03-01"),  # acq + 1 = 2023-03-01 → 2024-03-01 (not the leap day)
        ("2024-02-28", "2025-03-01"),  # acq + 1 = 2024-02-29, no Feb 29 in 2025 → Mar 1
        ("2023-02-27", "2024-02-28"),
        ("2023-12-31", "2025-01-01"),  # acq + 1 crosses the year
        ("2024-01-31", "2025-02-01"),
        ("2027-02-28", "2028-03-01"),  # acq + 1 = 2027-03-01
        ("2028-02-28", "2029-03-01"),  # acq + 1 = 2028-02-29 → 2029 has no Feb 29
    ],
)
def test_first_long_term_date(acquired: str, first_lt: str) -> None:
    assert first_long_term_date(acquired) == day(first_lt)
    assert first_long_term_date(day(acquired)) == day(first_lt)


def test_exactly_one_year_is_short_and_one_year_and_a_day_is_long() -> None:
    assert holding_term("2023-03-15", "2024-03-15") == "short"
    assert holding_term("2023-03-15", "2024-03-16") == "long"
    assert not is_long_term("2022-06-01", "2023-06-01")
    assert is_long_term("2022-06-01", "2023-06-02")


def test_leap_day_acquisitions_and_sales() -> None:
    # Bought on the leap day: one year later is "2025-02-29", which does not exist.
    assert holding_term("2024-02-29", "2025-02-28") == "short"
    assert holding_term("2024-02-29", "2025-03-01") == "long"
    # Fairmark's "Don't sell on leap day": 2023-02-28 → 2024-02-29 is exactly one year.
    assert holding_term("2023-02-28", "2024-02-29") == "short"
    assert holding_term("2023-02-28", "2024-03-01") == "long"


def test_never_counts_days() -> None:
    # 366 days, but exactly one calendar year (2024 is a leap year): short-term.
    assert (day("2024-03-01") - day("2023-03-01")).days == 366
    assert holding_term("2023-03-01", "2024-03-01") == "short"
    # 366 days and more than a year: long-term.
    assert (day("2023-03-02") - day("2022-03-01")).days == 366
    assert holding_term("2022-03-01", "2023-03-02") == "long"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="sold"):
        is_long_term("2024-03-01", "2024-02-01")
    with pytest.raises(ValueError, match="acquired"):
        first_long_term_date("2024-13-01")
    with pytest.raises(TypeError, match="acquired"):
        first_long_term_date(20240101)
    with pytest.raises(TypeError, match="acquired"):
        first_long_term_date(D(1))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_first_long_term_date_properties(acquired: dt.date) -> None:
    first = first_long_term_date(acquired)
    start = acquired + dt.timedelta(days=1)
    # Same month and day as acquired + 1 one year later, or Mar 1 for a missing Feb 29.
    if (start.month, start.day) == (2, 29) and first.month == 3:
        assert first == dt.date(start.year + 1, 3, 1)
    else:
        assert (first.year, first.month, first.day) == (start.year + 1, start.month, start.day)
    assert (first - acquired).days in (366, 367)
    assert not is_long_term(acquired, first - dt.timedelta(days=1))
    assert is_long_term(acquired, first)


def test_the_ledger_reports_the_term_of_leap_day_lots() -> None:
    from rebalancing.tax import Ledger

    led = Ledger()
    led.buy("2024-02-29", "VOO", 2, 100)
    led.buy("2023-02-28", "VTI", 2, 100)
    led.sell("2025-02-28", "VOO", 1, 110)  # short: first long-term date is 2025-03-01
    led.sell("2025-03-01", "VOO", 1, 110)  # long
    led.sell("2024-02-29", "VTI", 1, 110)  # short: exactly one year
    led.sell("2024-03-01", "VTI", 1, 110)  # long
    realized = led.realized()
    assert realized[["ticker", "sold", "term"]].values.tolist() == [
        ["VTI", day("2024-02-29"), "short"],
        ["VTI", day("2024-03-01"), "long"],
        ["VOO", day("2025-02-28"), "short"],
        ["VOO", day("2025-03-01"), "long"],
    ]
    assert led.form_8949().part.tolist() == ["I", "I", "II", "II"]
