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
  at the close of that date; a share acquired after it, only if it is held at the close of its
  own acquisition date. Shares bought and sold within one day, and shares sold later on the
  day of the loss, are therefore never replacements. This is the rule that makes the matching
  well defined: otherwise two loss sales on one day could each be the other's replacement, and
  a replacement sold at a loss before its own basis adjustment is known would need the
  adjustment applied after the fact;
* sells on a trade date relieve lots as they stand at the start of that date (the previous
  close's bases, plus same-day purchases at cost); the day's wash adjustments appear once the
  date is settled, which :class:`~rebalancing.tax.Ledger` does before answering any query.

With this rule the matching is a single pass per trade date — losses of earlier dates still
within 30 days get first claim on the day's acquisitions, then the day's losses take shares
acquired in their window — and equals the global "losses by date, replacements by acquisition
order" procedure whatever the order in which the events were recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rebalancing.tax._inputs import prorate
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
    piece = piece._replace(
        matched=matched,
        disallowed=disallowed,
        permanent=piece.permanent + amount if permanent else piece.permanent,
    )
    return piece, remainder


def settle(state: GroupState, day: dt.date, kinds: Mapping[str, str]) -> None:
    """Settle the wash-sale matching of trade date ``day`` in place (see the module notes).

    ``state`` holds every event up to and including ``day``, and every earlier date is
    settled. Pending losses sold before ``day − 30`` can no longer be washed and are dropped
    from the pending list (their outcome is final).
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
    eligible = [lot for lot in state.lots() if not lot.replacement and lot.original >= earliest]
    eligible.sort(key=lambda lot: (lot.original, lot.origin, lot.part))
    candidates: list[Lot | None] = list(eligible)
    pending.sort(
        key=lambda i: (
            pieces[i].sold,
            pieces[i].original,
            pieces[i].origin,
            pieces[i].sale,
            pieces[i].position,
        )
    )
    for i in pending:
        piece = pieces[i]
        low, high = piece.sold - WINDOW, piece.sold + WINDOW
        for j, cand in enumerate(candidates):
            if cand is None or cand.original < low or cand.origin == piece.origin:
                continue
            if cand.original > high:
                break
            piece, candidates[j] = _match(state, piece, cand, kinds)
            if piece.matched == piece.shares:
                break
        pieces[i] = piece
    state.pending = sorted(i for i in pending if pieces[i].matched < pieces[i].shares)
