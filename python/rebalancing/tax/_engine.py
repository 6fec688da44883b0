"""Applying events to the state of a group of substantially identical tickers.

The state of a group is a pure function of its events taken in ``(date, seq)`` order: each trade
date's events are applied in sequence (acquisitions add lots at cost, sales relieve lots), then
the date is settled (:func:`rebalancing.tax.wash.settle`). :class:`Group` keeps that function
cheap to extend:

* ``live`` — every event up to ``day`` (the latest trade date), with the dates before ``day``
  settled and ``day`` itself not yet: what a sale on ``day`` sees;
* ``view()`` — ``live`` settled, computed on demand and cached: what queries report.

An event on ``day`` or later extends the group incrementally; an event dated *before* ``day``
(recorded late) rebuilds the group by replaying all its events, so the result is the same as if
the events had been recorded in date order. States are never changed once built: every operation
works on clones and the caller swaps the new :class:`Group` in only when everything succeeded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from rebalancing.tax._inputs import ZERO, prorate
from rebalancing.tax.holding import _first_long_term
from rebalancing.tax.lots import Event, GroupState, Lot, Piece
from rebalancing.tax.relief import select_lots
from rebalancing.tax.wash import settle

__all__ = ["Group", "Outcome", "add_event", "add_event_in_place", "replay"]

Outcome = str | tuple[tuple[str, Decimal], ...]
"""What applying an event produced: the new lot id, or a sale's ``(lot_id, shares)`` picks."""


def apply_acquisition(state: GroupState, event: Event) -> str:
    """Add the lot bought by ``event`` (at cost) and return its id."""
    lot = Lot(
        lot_id=str(event.seq),
        origin=event.seq,
        part=0,
        account=event.account,
        ticker=event.ticker,
        shares=event.shares,
        basis=event.shares * event.price,
        adjustment=ZERO,
        acquired=event.date,
        original=event.date,
        replacement=False,
        primary=event.primary,
    )
    state.accounts.setdefault(event.account, {})[lot.lot_id] = lot
    state.new_acquisitions = True
    return lot.lot_id


def apply_sale(
    state: GroupState, event: Event, kinds: Mapping[str, str]
) -> tuple[tuple[str, Decimal], ...]:
    """Relieve the lots sold by ``event``, record one :class:`Piece` per lot, return the picks.

    Raises ``ValueError`` (and changes nothing) if the account holds too few shares or a
    ``spec_id`` selection is invalid.
    """
    where = f"{event.ticker} in account {event.account!r}"
    held_lots = state.accounts.get(event.account, {})
    lots = [lot for lot in held_lots.values() if lot.ticker == event.ticker]
    held = sum((lot.shares for lot in lots), ZERO)
    if not lots:
        raise ValueError(f"ticker: no open lot of {where} on {event.date}")
    if event.shares > held:
        raise ValueError(
            f"shares: cannot sell {event.shares} {where} on {event.date}: only {held} held"
        )
    assert event.method is not None
    picks = select_lots(
        lots, event.method, event.shares, event.price, event.date, event.lots, where
    )
    kind = kinds[event.account]
    losses = False
    for index, (lot, take) in enumerate(picks):
        proceeds = take * event.price
        basis = prorate(lot.basis, take, lot.shares)
        adjustment = prorate(lot.adjustment, take, lot.shares)
        if take == lot.shares:
            del held_lots[lot.lot_id]
        else:
            held_lots[lot.lot_id] = lot._replace(
                shares=lot.shares - take,
                basis=lot.basis - basis,
                adjustment=lot.adjustment - adjustment,
            )
        loss = basis - proceeds if basis > proceeds else ZERO
        if kind == "taxable" and loss > 0:
            state.pending.append(len(state.pieces))
            losses = True
        state.pieces.append(
            Piece(
                sale=event.seq,
                position=index,
                lot_id=lot.lot_id,
                origin=lot.origin,
                account=event.account,
                kind=kind,
                ticker=event.ticker,
                shares=take,
                proceeds=proceeds,
                basis=basis,
                adjustment=adjustment,
                acquired=lot.acquired,
                original=lot.original,
                sold=event.date,
                long_term=event.date >= _first_long_term(lot.acquired),
                loss=loss,
                matched=ZERO,
                disallowed=ZERO,
                permanent=ZERO,
                replacement=lot.replacement,
                tag=event.tag,
            )
        )
    if not held_lots:
        del state.accounts[event.account]
    if losses:
        state.new_losses = True
        state.blocks.append((event.date, event.substitute))
    return tuple((lot.lot_id, take) for lot, take in picks)


def apply_event(state: GroupState, event: Event, kinds: Mapping[str, str]) -> Outcome:
    """Apply one event to ``state`` in place."""
    if event.kind == "sell":
        return apply_sale(state, event, kinds)
    return apply_acquisition(state, event)


class Group:
    """Events and states of one group; see the module notes."""

    __slots__ = ("_view", "day", "events", "live")

    def __init__(self, events: list[Event], live: GroupState, day: dt.date) -> None:
        self.events = events
        self.live = live
        self.day = day
        self._view: GroupState | None = None

    def view(self, kinds: Mapping[str, str]) -> GroupState:
        """``live`` with ``day`` settled (cached)."""
        if self._view is None:
            view = self.live.clone()
            settle(view, self.day, kinds)
            self._view = view
        return self._view


def replay(
    events: list[Event], kinds: Mapping[str, str], watch: int | None = None
) -> tuple[Group, Outcome | None]:
    """Build a group from ``events`` (any order); also return the outcome of event ``watch``.

    Raises ``ValueError`` naming the first event that can no longer be applied.
    """
    ordered = sorted(events, key=lambda e: (e.date, e.seq))
    state = GroupState()
    outcome: Outcome | None = None
    last_day = ordered[-1].date
    i = 0
    while i < len(ordered) and ordered[i].date < last_day:
        day = ordered[i].date
        while i < len(ordered) and ordered[i].date == day:
            outcome = _apply_checked(state, ordered[i], kinds, watch, outcome)
            i += 1
        settle(state, day, kinds)
    for event in ordered[i:]:
        outcome = _apply_checked(state, event, kinds, watch, outcome)
    return Group(ordered, state, last_day), outcome


def _apply_checked(
    state: GroupState,
    event: Event,
    kinds: Mapping[str, str],
    watch: int | None,
    outcome: Outcome | None,
) -> Outcome | None:
    try:
        result = apply_event(state, event, kinds)
    except ValueError as exc:
        if event.seq == watch:
            raise
        raise ValueError(
            f"the event {event.seq} ({event.kind} {event.shares} {event.ticker} on "
            f"{event.date}) can no longer be applied once earlier-dated events are taken "
            f"into account: {exc}"
        ) from None
    return result if event.seq == watch else outcome


def add_event(group: Group | None, event: Event, kinds: Mapping[str, str]) -> tuple[Group, Outcome]:
    """The group with ``event`` added (a new object; ``group`` is left as it was)."""
    if group is None:
        live = GroupState()
        outcome = apply_event(live, event, kinds)
        return Group([event], live, event.date), outcome
    if event.date > group.day:
        live = group.view(kinds).clone()
        outcome = apply_event(live, event, kinds)
        return Group([*group.events, event], live, event.date), outcome
    if event.date == group.day:
        live = group.live.clone()
        outcome = apply_event(live, event, kinds)
        return Group([*group.events, event], live, group.day), outcome
    rebuilt, result = replay([*group.events, event], kinds, watch=event.seq)
    assert result is not None
    return rebuilt, result


def add_event_in_place(group: Group, event: Event, kinds: Mapping[str, str]) -> Outcome:
    """Add an event dated ``group.day`` or later by changing ``group`` itself.

    Only for a group that nothing else refers to (one created by the current transaction of
    the ledger). This is what keeps many operations in one transaction linear: no state is
    copied per event. A later date first settles ``day`` in place (the close of a trade date
    does not depend on what comes after it). If the event is refused (``ValueError``), the
    group is left meaning what it meant before: :func:`apply_event` validates before it
    changes anything, and a group settled for nothing is rebuilt from its events.
    """
    assert event.date >= group.day
    if event.date > group.day:
        settle(group.live, group.day, kinds)
        try:
            outcome = apply_event(group.live, event, kinds)
        except ValueError:
            # ``live`` is now settled through ``day``, which a later same-day event must not
            # see as open: rebuild (rare, only after a refused event inside a transaction).
            rebuilt = replay(group.events, kinds)[0]
            group.live = rebuilt.live
            group._view = None
            raise
        group.day = event.date
    else:
        outcome = apply_event(group.live, event, kinds)
    group.events.append(event)
    group.live.forget_caches()
    group._view = None
    return outcome
