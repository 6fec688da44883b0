r"""Wash-sale matching, docs/tax_rules.md §2–5: which shares replace a loss, and what they inherit.

**The rule.** A loss on selling shares is disallowed to the extent that substantially identical
(SI) shares are acquired within the 61-day window :math:`[S - 30, S + 30]` around the sale date
:math:`S` (purchases, dividend reinvestments, invested deposits, in any account of the taxpayer,
IRAs included). Matching is share by share:

* loss sales are taken in order of sale date, and sales on the same date in the original
  acquisition order of the sold shares (Reg. 1.1091-1(b)) — *across* sell orders of that date,
  not only within one order;
* replacement shares are taken in acquisition order, earliest first (Reg. 1.1091-1(c),(d));
* a replacement share absorbs at most one loss (Reg. 1.1091-1(e));
* shares sold in the same sale, and shares of the lot being sold (any share of the same
  acquisition), are never replacements;
* if fewer replacement shares exist than shares sold at a loss, only
  ``loss_per_share × matched_shares`` is disallowed.

**What the replacement inherits** (IRC 1091(d), 1223(3)): its basis grows by the disallowed loss,
and its acquisition date becomes

.. math::  \text{adjusted} = \min\bigl(R,\ \max(A,\ R - (S - A))\bigr)

with :math:`A` the sold shares' (adjusted) acquisition date and :math:`R` the replacement's trade
date. For :math:`R \ge S` this is the rule's :math:`R - (S - A)`; for :math:`R < S` it is
:math:`A`. *Choice:* the rule is often written ``max(A, R − (S − A))`` alone, which for a
replacement bought **before the sold lot itself** (:math:`R < A`) would move its date *later*,
shortening a holding period the same rules say is *added to*; we never move a replacement's date
past its own trade date, hence the outer ``min``. If the replacement is in an IRA or Roth IRA the
loss is disallowed permanently: no basis changes anywhere (Rev. Rul. 2008-5). A replacement sold
later at a loss can itself be washed (a re-wash chain); its loss is computed on the adjusted
basis, so a deferred loss is never counted twice.

**When matching happens (choice).** Matching is *settled at the close of each trade date*:

* a share acquired on or before the loss sale's date is a replacement only if it is still held
  at the close of that date, so shares sold later on the day of the loss are never
  replacements (otherwise two loss sales on one day could each be the other's replacement);
* a share acquired on a date *after* the loss sale is a replacement whether or not it is sold
  again that day (docs/tax_rules.md §2–3: it is held at the later of its purchase and the loss
  sale).
  Bought and sold on that date, it takes the disallowed loss into the basis of the *sold*
  piece (split off as ``"origin.k"`` if only some shares match), whose gain, date and term
  change accordingly; within one acquisition the shares still held at the close are matched
  before the shares sold that day (choice: it changes the least of that day's realized
  results). Such a piece can then be a loss of its date, matched against open lots only;
* sells on a trade date relieve lots as they stand at the start of that date (the previous
  close's bases, plus same-day purchases at cost); the day's wash adjustments appear once the
  date is settled, which :class:`~rebalancing.tax.Ledger` does before answering any query.

With this rule the matching is a single pass per trade date — losses of earlier dates still
within 30 days get first claim on the day's acquisitions, then the day's losses take shares
acquired in their window — and equals the global "losses by date, replacements by acquisition
order" procedure whatever the order in which the events were recorded.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from rebalancing.tax._inputs import ZERO, prorate
from rebalancing.tax.holding import _first_long_term
from rebalancing.tax.lots import IRA_KINDS, GroupState, Lot, Match, Piece

__all__ = ["WINDOW", "replacement_date", "settle"]

WINDOW = dt.timedelta(days=30)
"""Half-width of the wash-sale window: replacements acquired in [S − 30 days, S + 30 days]."""


def replacement_date(sold_acquired: dt.date, sold: dt.date, replaced: dt.date) -> dt.date:
    r"""Adjusted acquisition date of a replacement: :math:`\min(R, \max(A, R - (S - A)))`.

    Parameters
    ----------
    sold_acquired : datetime.date
        :math:`A`, the (adjusted) acquisition date of the shares sold at a loss.
    sold : datetime.date
        :math:`S`, the loss sale's date.
    replaced : datetime.date
        :math:`R`, the replacement's trade date.

    Examples
    --------
    >>> import datetime as dt
    >>> from rebalancing import tax
    >>> # Bought 2024-01-02, sold at a loss 2024-08-05, replaced 2024-08-20: the replacement's
    >>> # holding period starts as if bought 2024-01-17 (the sold lot's days carry over).
    >>> tax.replacement_date(dt.date(2024, 1, 2), dt.date(2024, 8, 5), dt.date(2024, 8, 20))
    datetime.date(2024, 1, 17)
    """
    tacked = max(sold_acquired, replaced - (sold - sold_acquired))
    return min(replaced, tacked)


def _match(
    state: GroupState, piece: Piece, cand: Lot, kinds: Mapping[str, str]
) -> tuple[Piece, Lot | None]:
    """Match as many of ``piece``'s unmatched shares as ``cand`` holds; split ``cand``."""
    shares = min(piece.shares - piece.matched, cand.shares)
    matched = piece.matched + shares
    disallowed = prorate(piece.loss, matched, piece.shares)
    amount = disallowed - piece.disallowed
    kind = kinds[cand.account]
    permanent = kind in IRA_KINDS
    lots = state.accounts[cand.account]
    remainder: Lot | None
    if shares == cand.shares:
        used = cand
        remainder = None
    else:
        part = state.splits.get(cand.origin, 0) + 1
        state.splits[cand.origin] = part
        basis = prorate(cand.basis, shares, cand.shares)
        adjustment = prorate(cand.adjustment, shares, cand.shares)
        remainder = cand._replace(
            shares=cand.shares - shares,
            basis=cand.basis - basis,
            adjustment=cand.adjustment - adjustment,
        )
        lots[cand.lot_id] = remainder
        used = cand._replace(
            lot_id=f"{cand.origin}.{part}",
            part=part,
            shares=shares,
            basis=basis,
            adjustment=adjustment,
        )
    if permanent:
        used = used._replace(replacement=True)
    else:
        used = used._replace(
            basis=used.basis + amount,
            adjustment=used.adjustment + amount,
            acquired=replacement_date(piece.acquired, piece.sold, cand.original),
            replacement=True,
        )
    lots[used.lot_id] = used
    piece = _record(state, piece, cand, used, kind, shares, disallowed, permanent)
    return piece, remainder


def _record(
    state: GroupState,
    piece: Piece,
    cand: Lot | Piece,
    used: Lot | Piece,
    kind: str,
    shares: Decimal,
    disallowed: Decimal,
    permanent: bool,
) -> Piece:
    """Records the match of ``shares`` of the loss ``piece`` with the replacement ``used`` (taken
    from ``cand``) and returns the loss piece with those shares matched and the loss disallowed
    so far (``disallowed``; permanently, by an IRA replacement, if ``permanent``)."""
    amount = disallowed - piece.disallowed
    state.matches.append(
        Match(
            sale=piece.sale,
            position=piece.position,
            lot_id=used.lot_id,
            account=cand.account,
            kind=kind,
            ticker=cand.ticker,
            shares=shares,
            sold=piece.sold,
            sold_acquired=piece.acquired,
            replaced=cand.original,
            disallowed=amount,
            permanent=permanent,
            acquired=used.acquired,
        )
    )
    return piece._replace(
        matched=piece.matched + shares,
        disallowed=disallowed,
        permanent=piece.permanent + amount if permanent else piece.permanent,
    )


def _find(nxt: list[int], j: int) -> int:
    """First candidate index ``>= j`` not used up (path-halving union-find "next" pointers)."""
    while nxt[j] != j:
        nxt[j] = nxt[nxt[j]]
        j = nxt[j]
    return j


def _next_position(pieces: list[Piece], sale: int, free: dict[int, int]) -> int:
    """A free ``position`` in sale ``sale`` (its pieces are at the end of the list).

    ``free`` remembers the next free position per sale during one settlement, so that many
    splits of one large sale do not each rescan its pieces.
    """
    position = free.get(sale)
    if position is None:
        top = -1
        for piece in reversed(pieces):
            if piece.sale == sale:
                top = max(top, piece.position)
            elif piece.sale < sale:
                break
        position = top + 1
    free[sale] = position + 1
    return position


def _match_sold(
    state: GroupState, piece: Piece, index: int, kinds: Mapping[str, str], free: dict[int, int]
) -> tuple[Piece, bool]:
    """Match ``piece``'s loss with shares of ``state.pieces[index]``, sold on their purchase date.

    The matched shares take the disallowed loss into their basis and the tacked date, like an
    open replacement lot (:func:`_match`); if only some of them match they are split off as a
    new piece (lot id ``"origin.k"``). Returns the loss piece and whether the sold piece is used
    up.
    """
    pieces = state.pieces
    cand = pieces[index]
    shares = min(piece.shares - piece.matched, cand.shares)
    matched = piece.matched + shares
    disallowed = prorate(piece.loss, matched, piece.shares)
    amount = disallowed - piece.disallowed
    permanent = kinds[cand.account] in IRA_KINDS
    if shares == cand.shares:
        used = cand
    else:
        part = state.splits.get(cand.origin, 0) + 1
        state.splits[cand.origin] = part
        proceeds = prorate(cand.proceeds, shares, cand.shares)
        basis = prorate(cand.basis, shares, cand.shares)
        adjustment = prorate(cand.adjustment, shares, cand.shares)
        rest_basis = cand.basis - basis
        rest_proceeds = cand.proceeds - proceeds
        pieces[index] = cand._replace(
            shares=cand.shares - shares,
            proceeds=rest_proceeds,
            basis=rest_basis,
            adjustment=cand.adjustment - adjustment,
            loss=max(rest_basis - rest_proceeds, ZERO),
        )
        used = cand._replace(
            lot_id=f"{cand.origin}.{part}",
            position=_next_position(pieces, cand.sale, free),
            shares=shares,
            proceeds=proceeds,
            basis=basis,
            adjustment=adjustment,
        )
    if permanent:
        used = used._replace(replacement=True)
    else:
        acquired = replacement_date(piece.acquired, piece.sold, cand.original)
        basis = used.basis + amount
        used = used._replace(
            basis=basis,
            adjustment=used.adjustment + amount,
            acquired=acquired,
            long_term=used.sold >= _first_long_term(acquired),
            loss=max(basis - used.proceeds, ZERO),
            replacement=True,
        )
    if used.position == cand.position:
        pieces[index] = used
    else:
        pieces.append(used)
    piece = _record(state, piece, cand, used, cand.kind, shares, disallowed, permanent)
    return piece, shares == cand.shares


def _sort_key(pieces: list[Piece]) -> Callable[[int], tuple[Any, ...]]:
    def key(i: int) -> tuple[Any, ...]:
        p = pieces[i]
        return (p.sold, p.original, p.origin, p.sale, p.position)

    return key


def settle(state: GroupState, day: dt.date, kinds: Mapping[str, str]) -> None:
    """Settle the wash-sale matching of trade date ``day`` in place (see the module notes).

    ``state`` holds every event up to and including ``day``, and every earlier date is
    settled. Pending losses sold before ``day − 30`` can no longer be washed and are dropped
    from the pending list (their outcome is final).

    Losses of earlier dates are matched first, against the open lots and the shares bought
    *and* sold on ``day`` (in acquisition order; within one acquisition the shares still held
    come first); a sold share that absorbs a loss has its basis, date and loss adjusted before
    ``day``'s own losses are matched, against open lots only. Each loss looks up the first
    candidate of its window by bisection and skips used-up candidates through "next" pointers,
    so settling is O((losses + candidates) log candidates), not their product.
    """
    pieces = state.pieces
    horizon = day - WINDOW
    pending = [i for i in state.pending if pieces[i].sold >= horizon]
    active = bool(pending) and (state.new_acquisitions or state.new_losses)
    state.new_acquisitions = state.new_losses = False
    if not active:
        state.pending = pending
        return
    earliest = min(pieces[i].sold for i in pending) - WINDOW
    # Candidates: (sort key, open lot or index of a piece sold on ``day``).
    entries: list[tuple[tuple[Any, ...], Lot | int]] = [
        ((lot.original, lot.origin, 0, lot.part), lot)
        for lot in state.lots()
        if not lot.replacement and lot.original >= earliest
    ]
    earlier = [i for i in pending if pieces[i].sold < day]
    if earlier:
        i = len(pieces) - 1
        while i >= 0 and pieces[i].sold == day:
            p = pieces[i]
            if p.original == day and not p.replacement:
                entries.append(((p.original, p.origin, 1, p.position), i))
            i -= 1
    entries.sort(key=lambda entry: entry[0])
    candidates: list[Lot | int] = [entry[1] for entry in entries]
    dates = [entry[0][0] for entry in entries]
    origins = [entry[0][1] for entry in entries]
    nxt = list(range(len(candidates) + 1))
    free: dict[int, int] = {}  # next free piece position per sale (splits of sold shares)

    def run(losses: list[int]) -> None:
        for i in sorted(losses, key=_sort_key(pieces)):
            piece = pieces[i]
            low, high = piece.sold - WINDOW, piece.sold + WINDOW
            j = _find(nxt, bisect.bisect_left(dates, low))
            while j < len(candidates) and dates[j] <= high:
                if origins[j] != piece.origin:
                    cand = candidates[j]
                    if isinstance(cand, int):
                        piece, used_up = _match_sold(state, piece, cand, kinds, free)
                    else:
                        piece, remainder = _match(state, piece, cand, kinds)
                        used_up = remainder is None
                        if remainder is not None:
                            candidates[j] = remainder
                    if used_up:
                        nxt[j] = j + 1
                    if piece.matched == piece.shares:
                        break
                j = _find(nxt, j + 1)
            pieces[i] = piece

    run(earlier)
    # The day's own losses: sold shares are no replacements for them, and matching above may
    # have changed which of the day's taxable pieces are losses (a larger basis).
    for j, cand in enumerate(candidates):
        if isinstance(cand, int):
            nxt[j] = j + 1
    today = []
    i = len(pieces) - 1
    while i >= 0 and pieces[i].sold == day:
        if pieces[i].kind == "taxable" and pieces[i].loss > 0:
            today.append(i)
        i -= 1
    if today and (not state.blocks or state.blocks[-1][0] != day):
        state.blocks.append((day, None))  # a sale turned into a loss by an adjusted basis
    run(today)
    pending = earlier + today
    state.pending = sorted(i for i in pending if pieces[i].matched < pieces[i].shares)
