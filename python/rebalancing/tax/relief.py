r"""Lot relief: which lots a sell order takes its shares from, docs/tax_rules.md §6.

Every method looks at lots as they stand for the sale: wash-adjusted basis and adjusted
acquisition dates (a replacement lot carries the holding period of the shares it replaced, so
FIFO may sell it before an older-looking purchase). "Acquisition order" below means the key
``(adjusted date, original date, acquisition sequence number, split number)``, so ties always
resolve the same way.

=============  =================================================================================
method         lots sold first
=============  =================================================================================
``fifo``       oldest acquisition (acquisition order)
``lifo``       newest acquisition (reverse acquisition order)
``hifo``       highest basis per share :math:`b/q`; ties go to the earliest acquisition
``spec_id``    the lots and share counts the caller names (``lots={"12": 5, "17.1": 10}``)
``tax_optimal``with per-share gain :math:`g = p - b/q` at the sale price :math:`p`: short-term
               losses (most negative :math:`g` first), then long-term losses (most negative
               first), short-term zero, long-term zero, long-term gains (smallest first), then
               short-term gains (smallest first) — Vanguard's MinTax / Schwab's Tax Lot
               Optimizer order; ties go to the earliest acquisition
=============  =================================================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from rebalancing.tax._inputs import as_positive
from rebalancing.tax.holding import _first_long_term
from rebalancing.tax.lots import Lot

__all__ = ["METHODS", "normalize_spec", "select_lots"]

METHODS = ("fifo", "lifo", "hifo", "spec_id", "tax_optimal")
"""The lot-relief methods :meth:`Ledger.sell` accepts."""


def _acquisition_key(lot: Lot) -> tuple[dt.date, dt.date, int, int]:
    return (lot.acquired, lot.original, lot.origin, lot.part)


def _tax_optimal_key(
    lot: Lot, price: Decimal, date: dt.date
) -> tuple[int, Decimal, tuple[dt.date, dt.date, int, int]]:
    gain = price - lot.basis / lot.shares
    long_term = date >= _first_long_term(lot.acquired)
    if gain < 0:
        category = 1 if long_term else 0
    elif gain == 0:
        category = 3 if long_term else 2
    else:
        category = 4 if long_term else 5
    # Losses: most negative gain first; gains: smallest first; both are "ascending gain".
    return (category, gain, _acquisition_key(lot))


def order_lots(lots: Iterable[Lot], method: str, price: Decimal, date: dt.date) -> list[Lot]:
    """The lots in the order ``method`` relieves them (all methods but ``spec_id``)."""
    if method == "fifo":
        return sorted(lots, key=_acquisition_key)
    if method == "lifo":
        return sorted(lots, key=_acquisition_key, reverse=True)
    if method == "hifo":
        return sorted(lots, key=lambda lot: (-(lot.basis / lot.shares), _acquisition_key(lot)))
    if method == "tax_optimal":
        return sorted(lots, key=lambda lot: _tax_optimal_key(lot, price, date))
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def normalize_spec(lots: Any) -> tuple[tuple[str, Decimal], ...]:
    """``lots=`` of a ``spec_id`` sale as ``((lot_id, shares), ...)``, merged per lot id.

    Accepts a mapping ``{lot_id: shares}`` or an iterable of ``(lot_id, shares)`` pairs.
    """
    if isinstance(lots, Mapping):
        pairs: Iterable[Any] = lots.items()
    elif isinstance(lots, str | bytes) or not isinstance(lots, Iterable):
        raise TypeError(
            "lots must be a mapping {lot_id: shares} or a sequence of (lot_id, shares) pairs, "
            f"got {type(lots).__name__}"
        )
    else:
        pairs = lots
    merged: dict[str, Decimal] = {}
    for pair in pairs:
        try:
            lot_id, shares = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"lots: each entry must be a (lot_id, shares) pair, got {pair!r}"
            ) from None
        if not isinstance(lot_id, str):
            raise TypeError(f"lots: lot ids are strings, got {lot_id!r}")
        merged[lot_id] = merged.get(lot_id, Decimal(0)) + as_positive(shares, f"lots[{lot_id!r}]")
    if not merged:
        raise ValueError("lots must name at least one lot for a spec_id sale")
    return tuple(merged.items())


def select_lots(
    lots: list[Lot],
    method: str,
    shares: Decimal,
    price: Decimal,
    date: dt.date,
    spec: tuple[tuple[str, Decimal], ...] | None,
    where: str,
) -> list[tuple[Lot, Decimal]]:
    """``(lot, shares taken)`` pairs that relieve ``shares`` from ``lots`` by ``method``.

    ``lots`` are the open lots of one ticker in one account; the caller has checked that they
    hold at least ``shares``. ``where`` ("VOO in account 'taxable'") is used in messages.
    """
    if method == "spec_id":
        if spec is None:
            raise ValueError("lots is required when method='spec_id'")
        by_id = {lot.lot_id: lot for lot in lots}
        picks: list[tuple[Lot, Decimal]] = []
        total = Decimal(0)
        for lot_id, take in spec:
            lot = by_id.get(lot_id)
            if lot is None:
                raise ValueError(
                    f"lots: no open lot {lot_id!r} of {where} (open lots: {sorted(by_id)}; "
                    "a lot split by wash-sale matching on the sale date itself can be named "
                    "from the next trade date on)"
                )
            if take > lot.shares:
                raise ValueError(
                    f"lots: lot {lot_id!r} of {where} holds {lot.shares} shares, cannot sell {take}"
                )
            picks.append((lot, take))
            total += take
        if total != shares:
            raise ValueError(f"lots: the named share counts add up to {total}, not shares={shares}")
        return picks
    if spec is not None:
        raise ValueError(f"lots is only allowed with method='spec_id', got method={method!r}")
    picks = []
    remaining = shares
    for lot in order_lots(lots, method, price, date):
        take = min(lot.shares, remaining)
        picks.append((lot, take))
        remaining -= take
        if remaining == 0:
            break
    return picks
