"""Form 8949 (Sales and Other Dispositions of Capital Assets) from realized sales.

One row per realized lot piece in a **taxable** account (sales in IRA and Roth accounts are not
reported), in the shape of the form's columns:

====  ===================  ==========================================================
col   name                 value
====  ===================  ==========================================================
(a)   ``description``      ``"100 sh VOO"``
(b)   ``date_acquired``    the wash-adjusted acquisition date (holding period tacked on)
(c)   ``date_sold``        the trade date of the sale
(d)   ``proceeds``         shares × sale price
(e)   ``cost_basis``       wash-adjusted basis of the shares sold
(f)   ``code``             ``"W"`` when part of the loss is disallowed by a wash sale
(g)   ``adjustment``       the disallowed loss (positive), including any part disallowed
                           for good because the replacement was bought in an IRA
(h)   ``gain_or_loss``     ``(d) − (e) + (g)``
====  ===================  ==========================================================

``part`` is ``"I"`` (short-term, Part I) or ``"II"`` (long-term, Part II). Amounts are rounded
to cents, half up, and (h) is computed from the rounded (d), (e) and (g) so every row adds up
as the form requires. Rows are sorted by part, then date sold.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, TYPE_CHECKING, Any, cast

import pandas as pd

if TYPE_CHECKING:
    from rebalancing.tax._rows import RealizedRow

__all__ = ["COLUMNS", "form_8949", "write_form_8949"]

COLUMNS = [
    "part",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "cost_basis",
    "code",
    "adjustment",
    "gain_or_loss",
    "account",
    "ticker",
    "shares",
]

_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _shares_text(shares: Decimal) -> str:
    return format(shares.normalize(), "f")


def form_8949(realized: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Form 8949 rows from :meth:`Ledger.realized` (see the module notes).

    Parameters
    ----------
    realized : pandas.DataFrame
        The ledger's realized lot pieces.
    year : int, optional
        Keep only sales dated in this calendar year.
    """
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise TypeError(f"year must be an int, got {type(year).__name__}")
    rows = []
    # cast: pandas-stubs type the fields as pandas scalars, not the frame's Decimal/date (_rows).
    for rec in cast("Iterator[RealizedRow]", realized.itertuples(index=False)):
        if rec.kind != "taxable" or (year is not None and rec.sold.year != year):
            continue
        proceeds = _cents(rec.proceeds)
        basis = _cents(rec.basis)
        adjustment = _cents(rec.wash_disallowed)
        rows.append(
            (
                "II" if rec.term == "long" else "I",
                f"{_shares_text(rec.shares)} sh {rec.ticker}",
                rec.acquired,
                rec.sold,
                proceeds,
                basis,
                "W" if rec.wash_disallowed > 0 else "",
                adjustment,
                proceeds - basis + adjustment,
                rec.account,
                rec.ticker,
                rec.shares,
            )
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame):
        frame = frame.sort_values(["part", "date_sold"], kind="stable", ignore_index=True)
    return frame


def write_form_8949(
    realized: pd.DataFrame,
    path_or_buffer: str | os.PathLike[str] | IO[str],
    year: int | None = None,
) -> pd.DataFrame:
    """Write :func:`form_8949` as CSV (dates ISO, amounts with two decimals); return the rows."""
    frame = form_8949(realized, year)
    out: Any = path_or_buffer
    frame.to_csv(out, index=False)
    return frame
