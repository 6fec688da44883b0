r"""Holding period and character (short- or long-term) of a sale, docs/tax_rules.md §1.

A holding period starts on the day after the trade date and includes the sale date (Rev. Rul.
66-97, 70-598). A lot is long-term only if it was held for *more than one year*, counted in
calendar years, never as a number of days:

.. math::

    \text{first\_LT\_date}(a) = \text{the day } (a + 1\,\text{day}) \text{ falls on, one
    calendar year later}

and when that day would be February 29 of a year without one, March 1. A sale on ``s`` is
long-term iff :math:`s \ge \text{first\_LT\_date}(a)`.

Examples: acquired 2023-03-15 → 2024-03-16; acquired 2024-02-29 → (2024-03-01 + 1 year)
2025-03-01; acquired 2023-02-28 → (2023-03-01 + 1 year) 2024-03-01, so a sale on the leap day
2024-02-29 is short-term; acquired 2024-02-28 → (2024-02-29, no Feb 29 in 2025) 2025-03-01.

A rule such as ``days > 365`` is wrong around leap years (2023-03-01 → 2024-03-01 is 366 days
but exactly one year, hence short-term), and ``date.replace(year=...)`` fails on February 29.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Literal

from rebalancing.tax._inputs import as_date
from rebalancing.typing import DateLike

__all__ = ["first_long_term_date", "holding_term", "is_long_term"]

_ONE_DAY = dt.timedelta(days=1)


def _first_long_term(acquired: dt.date) -> dt.date:
    start = acquired + _ONE_DAY
    year = start.year + 1
    if start.month == 2 and start.day == 29 and not calendar.isleap(year):
        return dt.date(year, 3, 1)
    return dt.date(year, start.month, start.day)


def first_long_term_date(acquired: DateLike) -> dt.date:
    """The first sale date on which a lot acquired on ``acquired`` is long-term.

    Parameters
    ----------
    acquired : datetime.date or ISO string
        The (wash-adjusted) acquisition trade date.

    Returns
    -------
    datetime.date
        ``(acquired + 1 day)`` moved to the same month and day one calendar year later
        (March 1 when that would be a February 29 that does not exist).

    Examples
    --------
    >>> from rebalancing import tax
    >>> tax.first_long_term_date("2024-02-29")  # one year later has no Feb 29
    datetime.date(2025, 3, 1)
    """
    return _first_long_term(as_date(acquired, "acquired"))


def is_long_term(acquired: DateLike, sold: DateLike) -> bool:
    """True iff a lot acquired on ``acquired`` and sold on ``sold`` is a long-term holding.

    Raises
    ------
    ValueError
        If ``sold`` is before ``acquired``.

    Examples
    --------
    >>> from rebalancing import tax
    >>> tax.is_long_term("2023-01-03", "2024-01-04")
    True
    """
    acq = as_date(acquired, "acquired")
    sale = as_date(sold, "sold")
    if sale < acq:
        raise ValueError(f"sold ({sale}) must not be before acquired ({acq})")
    return sale >= _first_long_term(acq)


def holding_term(acquired: DateLike, sold: DateLike) -> Literal["short", "long"]:
    """``"long"`` if :func:`is_long_term` else ``"short"``.

    Examples
    --------
    >>> from rebalancing import tax
    >>> tax.holding_term("2023-01-03", "2024-01-03"), tax.holding_term("2023-01-03", "2024-01-04")
    ('short', 'long')
    """
    return "long" if is_long_term(acquired, sold) else "short"
