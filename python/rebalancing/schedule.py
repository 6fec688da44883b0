r"""Rebalancing schedules: on which rows of a returns table a policy looks at the portfolio.

A schedule is a frequency (``"daily"``, ``"weekly"``, ``"monthly"``, ``"quarterly"``,
``"annual"``) and a side (the ``"first"`` or ``"last"`` trading day of each period), or an explicit
list of dates.

Trading days come from a real exchange calendar when the optional ``exchange_calendars`` package
is installed (``pip install "rebalancing[calendars]"``; New York, ``"XNYS"``, by default), so
"the last trading day of March" knows about Good Friday. Without it (or with ``calendar=None``)
the data are the calendar: the last (first) trading day of a period is the last (first) row of
that period present in the data, and the note returned with the mask says so (the CLI prints it).

How a scheduled date meets the data: row ``t`` of a returns table is the return *up to* its date,
and the policy acts at the end of that date. With a calendar, a scheduled trading day is acted on
at the first row dated on or after it within the same period (the same day when the data have
it; the next available row when the data skip it, e.g. monthly data labelled at calendar month
ends, where the last session can be a Friday before a Saturday month end). When the period has
no such row but the data go on past the scheduled day (a session missing from the data, or
weekly data checked monthly), the period's last row before that day is acted on instead. A
period whose scheduled day is after the end of the data (the data end first) has no check;
without a calendar the last period is judged complete when the data reach its last weekday.
An explicit date is acted on at the first row on or after it. Weekly periods run Monday to
Sunday.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["FREQUENCIES", "Schedule", "as_schedule", "trading_days"]

#: Accepted frequency names (and aliases) → pandas period codes.
FREQUENCIES: dict[str, str] = {
    "daily": "D",
    "D": "D",
    "weekly": "W",
    "W": "W",
    "monthly": "M",
    "M": "M",
    "quarterly": "Q",
    "Q": "Q",
    "annual": "Y",
    "annually": "Y",
    "yearly": "Y",
    "Y": "Y",
    "A": "Y",
}

_CANONICAL = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "annual"}

BUSINESS_DAYS_NOTE = (
    "exchange_calendars is not installed: schedules use business days (Monday to Friday, "
    "no exchange holidays). Install rebalancing[calendars] for a real trading calendar."
)

#: The note of a schedule that had no exchange calendar: the data's own rows decide.
DATA_ROWS_NOTE = (
    "exchange_calendars is not installed: schedules use the first or last row of each period "
    "in the data as its first or last trading day. Install rebalancing[calendars] for a real "
    "trading calendar."
)


def trading_days(
    start: Any, end: Any, calendar: str | None = "XNYS"
) -> tuple[pd.DatetimeIndex, str]:
    """Trading days from ``start`` to ``end`` (inclusive) and a note on where they came from.

    With ``calendar`` (an ``exchange_calendars`` code such as ``"XNYS"``) and that package
    installed, the exchange's sessions; otherwise (or with ``calendar=None``) business days,
    and the note says so.
    """
    start_ts, end_ts = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if start_ts > end_ts:
        raise ValueError(f"start ({start_ts.date()}) must not be after end ({end_ts.date()})")
    if calendar is not None and _exchange_calendars_installed():
        sessions = _exchange_sessions(calendar, start_ts, end_ts)
        if sessions is not None:
            return (
                sessions,
                f"schedules follow the {calendar} trading calendar (exchange_calendars)",
            )
    days = pd.bdate_range(start_ts, end_ts)
    note = BUSINESS_DAYS_NOTE if calendar is not None else "business days (Monday to Friday)"
    return days, note


def _exchange_calendars_installed() -> bool:
    """Whether ``exchange_calendars`` can be imported. Not cached (the import itself is, by
    Python): the cached calendar results below must not outlive the package (tests remove it)."""
    try:
        import exchange_calendars  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _exchange_sessions(
    calendar: str, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DatetimeIndex | None:
    """The exchange's sessions in [start, end], or None without exchange_calendars or when the
    range is outside the calendar's history. Cached: building a calendar takes ~0.2 s."""
    try:
        import exchange_calendars as xcals
    except ImportError:
        return None
    with warnings.catch_warnings():
        # exchange_calendars triggers pandas deprecation warnings of its own; not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            cal = xcals.get_calendar(calendar, start=start, end=end)
        except xcals.errors.InvalidCalendarName as err:
            raise ValueError(f"calendar: unknown exchange calendar {calendar!r}") from err
        except ValueError:  # before the calendar's own history
            return None
        first = max(start, cal.first_session.tz_localize(None))
        last = min(end, cal.last_session.tz_localize(None))
        sessions = cal.sessions_in_range(first, last)
    naive: pd.DatetimeIndex = pd.DatetimeIndex(sessions.tz_localize(None))
    return naive


@dataclass(frozen=True)
class Schedule:
    """When a policy looks at the portfolio.

    Parameters
    ----------
    freq : str, optional
        ``"daily"``, ``"weekly"``, ``"monthly"``, ``"quarterly"`` or ``"annual"`` (aliases
        ``D W M Q Y A``).
    when : {"last", "first"}
        The last or the first trading day of each period.
    dates : iterable of dates, optional
        An explicit list instead of a frequency.
    calendar : str or None
        Exchange calendar code for ``exchange_calendars`` (``None``, or without that package:
        the first or last row of each period in the data).

    Examples
    --------
    >>> import pandas as pd
    >>> import rebalancing as rb
    >>> days = pd.bdate_range("2024-01-02", "2024-03-29")
    >>> check, note = rb.Schedule("monthly", calendar=None).mask(days)
    >>> [str(d.date()) for d in days[check]]
    ['2024-01-31', '2024-02-29', '2024-03-29']
    """

    freq: str | None = "monthly"
    when: Literal["first", "last"] = "last"
    dates: tuple[pd.Timestamp, ...] | None = None
    calendar: str | None = "XNYS"

    def __post_init__(self) -> None:
        if self.dates is not None:
            stamps = tuple(sorted(pd.Timestamp(d) for d in self.dates))
            object.__setattr__(self, "dates", stamps)
            object.__setattr__(self, "freq", None)
        else:
            if self.freq not in FREQUENCIES:
                names = ", ".join(sorted({*_CANONICAL.values()}))
                raise ValueError(f"freq must be one of {names} (or D/W/M/Q/Y), got {self.freq!r}")
            object.__setattr__(self, "freq", _CANONICAL[FREQUENCIES[self.freq]])
        if self.when not in ("first", "last"):
            raise ValueError(f"when must be 'first' or 'last', got {self.when!r}")

    @property
    def label(self) -> str:
        if self.dates is not None:
            return f"{len(self.dates)} dates"
        return (
            str(self.freq)
            if self.when == "last" or self.freq == "daily"
            else f"{self.freq} (first day)"
        )

    def mask(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, str]:
        """Boolean mask over ``index``: True on the rows where the policy looks; and a note."""
        days = _as_days(index)
        n = len(days)
        if n == 0:
            return np.zeros(0, dtype=bool), ""
        if self.freq == "daily":
            return np.ones(n, dtype=bool), ""
        if self.dates is not None:
            wanted = pd.DatetimeIndex(self.dates).to_numpy().astype("datetime64[D]")
            outside = wanted[(wanted < days[0]) | (wanted > days[-1])]
            if len(outside):
                raise ValueError(
                    f"dates: {outside[0]} is outside the data ({days[0]} to {days[-1]})"
                )
            rows = np.searchsorted(days, wanted, side="left")
            note = ""
        else:
            code = FREQUENCIES[str(self.freq)]
            sessions: np.ndarray | None = None
            if self.calendar is None:
                note = "no exchange calendar: the first or last row of each period in the data"
            elif not _exchange_calendars_installed():
                note = DATA_ROWS_NOTE
            else:
                sessions, note = _scheduled_days(code, self.when, self.calendar, days[0], days[-1])
            if sessions is None:
                # No calendar: the data's own first or last row of each period.
                return _data_rows(days, code, self.when), note
            rows = _rows_for(days, sessions, code)
        mask = np.zeros(n, dtype=bool)
        mask[rows[rows < n]] = True
        return mask, note


def _rows_for(days: np.ndarray, wanted: np.ndarray, code: str) -> np.ndarray:
    """The row acted on for each scheduled trading day (see the module docstring), or none."""
    n = len(days)
    rows = np.searchsorted(days, wanted, side="left")
    # A scheduled day after the last row: the data end first, no check in that period.
    inside = rows < n
    rows, wanted = rows[inside], wanted[inside]
    period = _period_key(wanted, code)
    # The first row on or after the scheduled day, within its period.
    same = _period_key(days[rows], code) == period
    # Otherwise (the data skip the day and go on in a later period) the period's last row
    # before the day, if the period has any row at all.
    before = np.maximum(rows - 1, 0)
    earlier = ~same & (rows > 0) & (_period_key(days[before], code) == period)
    picked: np.ndarray = np.where(same, rows, before)[same | earlier]
    return picked


def _data_rows(days: np.ndarray, code: str, when: str) -> np.ndarray:
    """Mask of the first or last row of every period present in ``days`` (sorted). The last
    period counts for ``"last"`` only if the data reach its last weekday: data ending before
    then cut it (a holiday on that weekday cannot be told apart without a calendar)."""
    key = _period_key(days, code)
    new_period = np.flatnonzero(np.diff(key)) + 1
    mask = np.zeros(len(days), dtype=bool)
    if when == "first":
        mask[np.concatenate(([0], new_period))] = True
        return mask
    mask[new_period - 1] = True
    period_end = pd.Period(pd.Timestamp(days[-1]), code).end_time.normalize()
    last_weekday = np.busday_offset(
        period_end.to_datetime64().astype("datetime64[D]"), 0, "backward"
    )
    mask[-1] = days[-1] >= last_weekday
    return mask


def _period_key(days: np.ndarray, code: str) -> np.ndarray:
    """An integer per day that is equal exactly for days in the same period (weeks Monday to
    Sunday, calendar months, quarters, years)."""
    if code == "W":
        number = days.astype("datetime64[D]").astype(np.int64)
        return (number + 3) // 7  # day 0, 1970-01-01, was a Thursday: weeks start on Mondays
    months = days.astype("datetime64[M]").astype(np.int64)
    if code == "M":
        return months
    if code == "Q":
        return months // 3
    return months // 12


@functools.lru_cache(maxsize=256)
def _scheduled_days(
    code: str, when: str, calendar: str, first: np.datetime64, last: np.datetime64
) -> tuple[np.ndarray | None, str]:
    """The first or last session of every period touching [first, last], from a year before
    ``first`` to the end of ``last``'s period, so that the first and the last periods are whole
    (a period cut by the end of the data has its last session after the data: no check
    there); None when the calendar does not cover the range. Cached: schedules are asked for the
    same data again and again (only called with exchange_calendars installed)."""
    period_end = pd.Period(pd.Timestamp(last), code).end_time.normalize()
    sessions = _exchange_sessions(
        calendar, (pd.Timestamp(first) - pd.DateOffset(years=1)).normalize(), period_end
    )
    if sessions is None:
        return None, (
            f"the {calendar} calendar does not cover the data: schedules use the first or last "
            "row of each period in the data"
        )
    days = sessions.to_numpy().astype("datetime64[D]")
    key = _period_key(days, code)
    change = np.flatnonzero(np.diff(key)) + 1  # the first day of each new period
    pick = (
        np.concatenate(([0], change)) if when == "first" else np.append(change - 1, len(days) - 1)
    )
    picked = days[pick]
    picked.flags.writeable = False  # shared through the cache
    return picked, f"schedules follow the {calendar} trading calendar (exchange_calendars)"


def as_schedule(value: Any) -> Schedule:
    """A :class:`Schedule` from a schedule, a frequency name, or an iterable of dates."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return Schedule(value)
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return Schedule(dates=tuple(pd.Timestamp(d) for d in value))
    raise TypeError(
        f"schedule must be a frequency name, a Schedule or a list of dates, got {value!r}"
    )


def _as_days(index: Any) -> np.ndarray:
    """The dates of a DatetimeIndex as datetime64[D] (time of day and time zone dropped)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(
            f"returns must be indexed by dates (a DatetimeIndex), got {type(index).__name__}"
        )
    if index.tz is not None:
        index = index.tz_localize(None)
    days: np.ndarray = index.to_numpy().astype("datetime64[D]")
    return days
