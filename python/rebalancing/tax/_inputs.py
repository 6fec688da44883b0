"""Input checks and exact arithmetic shared by the tax package.

Money and share amounts are :class:`decimal.Decimal`. Accepted inputs are ``Decimal``, ``int``
(numpy integers included) and ``str``; **floats are rejected** with a ``TypeError``, because a
binary float cannot hold most cent amounts (``0.1 + 0.2 != 0.3``) and a ledger of record must
not depend on how a float happened to be rounded. Convert explicitly with ``Decimal(str(x))``
when a float is all you have.

Dates are :class:`datetime.date`; ``datetime``/``pandas.Timestamp`` (their date part),
``numpy.datetime64`` and ISO-8601 strings (``"2024-02-29"``) are accepted.

All arithmetic runs in :data:`CONTEXT` (60 significant digits, traps on invalid operations), so
sums and products of ordinary amounts are exact. The only inexact operation is pro-rating a total
over part of a lot (:func:`prorate`); see there.
"""

from __future__ import annotations

import datetime as dt
import numbers
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    getcontext,
)
from typing import Any

import numpy as np

__all__ = [
    "CONTEXT",
    "FINE",
    "ZERO",
    "as_date",
    "as_decimal",
    "as_name",
    "as_nonnegative",
    "as_positive",
    "prorate",
    "tidy",
]

CONTEXT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Decimal context of every computation in :mod:`rebalancing.tax`."""

FINE = Decimal("1e-12")
"""Quantum of a pro-rated amount whose exact value has no finite decimal expansion."""

ZERO = Decimal(0)


def as_decimal(value: Any, name: str) -> Decimal:
    """``value`` as a finite Decimal; floats and booleans are a ``TypeError``."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a Decimal, int or str, got bool {value!r}")
    elif isinstance(value, numbers.Integral):
        result = Decimal(int(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{name} must be a decimal number, got the string {value!r}") from None
    elif isinstance(value, float | np.floating):
        raise TypeError(
            f"{name} must be a Decimal, int or str, got float {value!r}: binary floats cannot "
            f"hold most decimal amounts exactly; pass Decimal(str(x)) or str(x) instead"
        )
    else:
        raise TypeError(f"{name} must be a Decimal, int or str, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def as_positive(value: Any, name: str) -> Decimal:
    """A Decimal strictly greater than zero (share counts)."""
    result = as_decimal(value, name)
    if result <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return result


def as_nonnegative(value: Any, name: str) -> Decimal:
    """A Decimal greater than or equal to zero (prices, thresholds)."""
    result = as_decimal(value, name)
    if result < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return result


def as_date(value: Any, name: str) -> dt.date:
    """``value`` as a ``datetime.date`` (see the module docstring for what is accepted)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValueError(f"{name} must be a date, got NaT")
        day = value.astype("datetime64[D]").astype(object)
        if isinstance(day, dt.date):
            return day
        raise ValueError(f"{name}: cannot convert {value!r} to a date")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{name} must be an ISO date such as '2024-02-29', got {value!r}"
            ) from None
    raise TypeError(
        f"{name} must be a datetime.date or an ISO date string, got {type(value).__name__}"
    )


def as_name(value: Any, name: str) -> str:
    """A non-empty string used as a ticker or account name (kept exactly as given)."""
    if type(value) is str and value and not value[0].isspace() and not value[-1].isspace():
        return value  # the common case, checked cheaply
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip() or value != value.strip():
        raise ValueError(
            f"{name} must be a non-empty string without surrounding spaces, got {value!r}"
        )
    return value


def prorate(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    r"""The share of ``total`` that belongs to ``part`` of ``whole`` units: ``total·part/whole``.

    Exact whenever that quotient has a finite decimal expansion within 60 digits (always the
    case for a lot bought at one price); otherwise rounded half-even to :data:`FINE`
    (:math:`10^{-12}`). Callers keep the complement as ``total − prorate(...)``, so the parts
    always add up to the total exactly and no amount is created or lost by a split.
    """
    if part == whole:
        return total
    ctx = getcontext()
    ctx.clear_flags()
    value = total * part / whole
    if ctx.flags[Inexact]:
        value = value.quantize(FINE)
    return value


def tidy(value: Decimal) -> Decimal:
    """``value`` without trailing fractional zeros (``198.000000`` → ``198``), same number."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
