"""Helpers shared by the tax tests: short constructors, canonical snapshots and invariants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd

from rebalancing.tax import Ledger

__all__ = ["D", "check_invariants", "day", "rows", "snapshot", "unlabelled"]


def D(value: Any) -> Decimal:
    """Decimal from an int or string (tests never build money from floats)."""
    return Decimal(str(value))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _plain(row: Any) -> tuple[Any, ...]:
    """A row as a tuple with missing values (None, NaN, NA) all as None, so rows compare."""
    return tuple(
        None if (x is None or (not isinstance(x, Decimal) and pd.isna(x))) else x for x in row
    )


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [_plain(r) for r in frame.itertuples(index=False)]


def snapshot(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a ledger reports, as plain comparable tuples."""
    return {
        "lots": rows(ledger.lots()),
        "realized": rows(ledger.realized()),
        "wash": rows(ledger.wash_sales()),
        "events": [tuple(str(x) for x in r) for r in ledger.events().itertuples(index=False)],
        "accounts": sorted(ledger.accounts.items()),
    }


def unlabelled(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """The ledger's lots and realized pieces without ids or sequence numbers, sorted."""
    lots = ledger.lots()
    realized = ledger.realized()
    lot_rows = sorted(
        (
            r.account,
            r.ticker,
            r.shares,
            r.basis,
            r.adjustment,
            r.acquired,
            r.original,
            r.replacement,
        )
        for r in lots.itertuples(index=False)
    )
    realized_rows = sorted(
        (
            r.sold,
            r.account,
            r.ticker,
            r.shares,
            r.proceeds,
            r.basis,
            r.acquired,
            r.original,
            r.wash_disallowed,
            r.permanent_disallowed,
            r.term,
            r.matched,
        )
        for r in realized.itertuples(index=False)
    )
    return {"lots": lot_rows, "realized": realized_rows}


def _total(values: Any) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def check_invariants(ledger: Ledger) -> None:
    """Conservation laws every ledger state must satisfy (derivations in the comments)."""
    events = ledger.events()
    lots = ledger.lots()
    realized = ledger.realized()
    wash = ledger.wash_sales()
    acquisitions = events[events.kind != "sell"]
    sales = events[events.kind == "sell"]

    # Shares: acquired − sold = open, per (account, ticker).
    held: dict[tuple[str, str], Decimal] = {}
    for e in acquisitions.itertuples(index=False):
        held[(e.account, e.ticker)] = held.get((e.account, e.ticker), Decimal(0)) + e.shares
    for e in sales.itertuples(index=False):
        held[(e.account, e.ticker)] = held.get((e.account, e.ticker), Decimal(0)) - e.shares
    open_shares: dict[tuple[str, str], Decimal] = {}
    for r in lots.itertuples(index=False):
        assert r.shares > 0
        open_shares[(r.account, r.ticker)] = open_shares.get((r.account, r.ticker), 0) + r.shares
    assert {k: v for k, v in held.items() if v != 0} == open_shares
    # Sold shares = realized shares, per sale.
    sold = realized.groupby("sale")["shares"].apply(_total)
    for e in sales.itertuples(index=False):
        assert sold[e.seq] == e.shares

    cost = _total(a.shares * a.price for a in acquisitions.itertuples(index=False))
    proceeds = _total(realized.proceeds)
    open_basis = _total(lots.basis)
    realized_basis = _total(realized.basis)
    open_adjustment = _total(lots.adjustment)
    realized_adjustment = _total(realized.adjustment)
    disallowed = _total(realized.wash_disallowed)
    permanent = _total(realized.permanent_disallowed)

    # Basis only ever enters through an acquisition's cost or a deferred wash adjustment, and
    # leaves only through a sale: Σ cost + Σ adjustments = Σ open basis + Σ realized basis.
    assert cost + open_adjustment + realized_adjustment == open_basis + realized_basis
    # Every deferred (non-permanent) disallowed loss sits in exactly one lot's basis, open or
    # sold: Σ (disallowed − permanent) = Σ adjustments.
    assert disallowed - permanent == open_adjustment + realized_adjustment
    # Hence what is reported (h = proceeds − basis + disallowed) adds up to the economic result
    # of the sold shares plus the losses lost for good:
    # Σ h = Σ proceeds − Σ cost + Σ open basis + Σ permanent.
    assert _total(realized.reported_gain) == proceeds - cost + open_basis + permanent
    assert proceeds == _total(s.shares * s.price for s in sales.itertuples(index=False))

    for r in realized.itertuples(index=False):
        loss = max(r.basis - r.proceeds, Decimal(0))
        assert 0 <= r.permanent_disallowed <= r.wash_disallowed <= loss
        assert 0 <= r.matched <= r.shares
        if r.kind != "taxable" or loss == 0:
            assert r.wash_disallowed == 0 and r.matched == 0
        assert r.gain == r.proceeds - r.basis
        assert r.term == ("long" if r.sold >= _first_lt(r.acquired) else "short")

    # A replacement share absorbs one loss: matched shares = shares of replacement lots.
    matched = _total(realized.matched)
    assert matched == _total(wash.shares)
    replacement_shares = _total(lots.shares[lots.replacement]) + _total(
        realized.shares[realized.replacement]
    )
    assert matched == replacement_shares
    assert _total(wash.disallowed) == disallowed
    for m in wash.itertuples(index=False):
        assert abs((m.replaced - m.sold).days) <= 30
        assert m.acquired <= m.replaced
        assert (m.kind != "taxable") == bool(m.permanent)

    form = ledger.form_8949()
    assert len(form) == int((realized.kind == "taxable").sum())


def _first_lt(acquired: dt.date) -> dt.date:
    from rebalancing.tax import first_long_term_date

    return first_long_term_date(acquired)
