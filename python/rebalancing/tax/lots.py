"""Records of the tax-lot model: events, open lots, realized sale pieces, wash-sale matches.

All records are immutable named tuples; the state of one group of substantially identical
tickers (:class:`GroupState`) holds them in plain containers, so copying a state before an
operation is a handful of shallow container copies (see :mod:`rebalancing.tax.ledger` for why
states are copied rather than edited in place).

Lot ids are stable strings derived from the acquisition that created the shares: the lot bought
by the event with sequence number 17 is ``"17"``; when wash-sale matching splits part of it off
(the matched shares get a new basis and date) the split part is ``"17.1"`` (then ``"17.2"``...),
and the unmatched remainder keeps ``"17"``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

__all__ = [
    "ACCOUNT_KINDS",
    "ACQUISITION_KINDS",
    "IRA_KINDS",
    "Event",
    "GroupState",
    "Lot",
    "Match",
    "Piece",
    "SubstituteLots",
]

ACCOUNT_KINDS = ("taxable", "ira", "roth")
"""Account kinds: gains and losses are recognised only in ``taxable`` accounts."""

IRA_KINDS = frozenset({"ira", "roth"})
"""Kinds whose purchases make a washed loss permanently disallowed (Rev. Rul. 2008-5)."""

ACQUISITION_KINDS = ("buy", "reinvest", "deposit")
"""Event kinds that acquire shares; all of them count as acquisitions for wash sales."""


class Event(NamedTuple):
    """One recorded operation; the ledger's state is a function of its events."""

    seq: int
    date: dt.date
    kind: str  # "buy" | "reinvest" | "deposit" | "sell"
    account: str
    ticker: str
    shares: Decimal
    price: Decimal
    method: str | None = None  # sells: the lot-relief method
    lots: tuple[tuple[str, Decimal], ...] | None = None  # spec_id sells
    tag: str | None = None  # "harvest", "recent", "substitute", "swap_back", "redirect"
    primary: str | None = None  # acquisitions: bought as a substitute for this ticker
    substitute: str | None = None  # harvest sells: the substitute bought with the proceeds


class Lot(NamedTuple):
    """An open tax lot: shares of one ticker in one account with one basis and date."""

    lot_id: str
    origin: int  # seq of the acquisition event the shares come from
    part: int  # 0 for the original lot, k for the split "origin.k"
    account: str
    ticker: str
    shares: Decimal
    basis: Decimal  # total, wash-adjusted
    adjustment: Decimal  # deferred wash-sale losses included in ``basis``
    acquired: dt.date  # adjusted acquisition date (holding period tacked on)
    original: dt.date  # trade date of the acquisition
    replacement: bool  # these shares have absorbed a washed loss (at most one, §3)
    primary: str | None  # bought as a substitute for this ticker (harvesting)


class Piece(NamedTuple):
    """The part of one sale that came from one lot, with its wash-sale outcome so far."""

    sale: int  # seq of the sale event
    position: int  # position within the sale
    lot_id: str
    origin: int
    account: str
    kind: str  # account kind
    ticker: str
    shares: Decimal
    proceeds: Decimal
    basis: Decimal
    adjustment: Decimal  # deferred wash-sale losses included in ``basis``
    acquired: dt.date  # adjusted acquisition date of the sold shares
    original: dt.date
    sold: dt.date
    long_term: bool
    loss: Decimal  # max(basis − proceeds, 0)
    matched: Decimal  # shares of the loss matched with replacement shares
    disallowed: Decimal  # loss disallowed so far (deferred + permanent)
    permanent: Decimal  # part of ``disallowed`` lost for good (IRA replacements)
    replacement: bool  # the sold shares had absorbed a washed loss
    tag: str | None


class Match(NamedTuple):
    """Replacement shares matched with (part of) a washed loss."""

    sale: int
    position: int  # position of the loss piece within its sale
    lot_id: str  # the replacement lot, after any split
    account: str
    kind: str
    ticker: str
    shares: Decimal
    sold: dt.date  # S
    sold_acquired: dt.date  # A, adjusted acquisition date of the sold shares
    replaced: dt.date  # R, trade date of the replacement
    disallowed: Decimal
    permanent: bool
    acquired: dt.date  # adjusted acquisition date given to the replacement shares


class GroupState:
    """Lots, realized pieces and wash-sale bookkeeping of one substantially identical group.

    ``accounts`` maps account → lot id → :class:`Lot`. ``pending`` lists the indices (into
    ``pieces``) of taxable loss pieces that still have unmatched shares and may still be washed
    by a later purchase. ``blocks`` holds ``(sale date, substitute)`` of every taxable loss sale
    in date order. ``new_acquisitions``/``new_losses`` say whether the open trade date has any,
    i.e. whether settling it can match anything.
    """

    __slots__ = (
        "_tagged",
        "_top_cost",
        "accounts",
        "blocks",
        "matches",
        "new_acquisitions",
        "new_losses",
        "pending",
        "pieces",
        "splits",
    )

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Lot]] = {}
        self.pieces: list[Piece] = []
        self.pending: list[int] = []
        self.matches: list[Match] = []
        self.splits: dict[int, int] = {}
        self.blocks: list[tuple[dt.date, str | None]] = []
        self.new_acquisitions = False
        self.new_losses = False
        self._top_cost: dict[str, float] | None = None
        self._tagged: dict[tuple[str, str], SubstituteLots] | None = None

    def clone(self) -> GroupState:
        """A copy that can be changed without touching this state (records are immutable)."""
        new = GroupState.__new__(GroupState)
        new.accounts = {name: dict(lots) for name, lots in self.accounts.items()}
        new.pieces = list(self.pieces)
        new.pending = list(self.pending)
        new.matches = list(self.matches)
        new.splits = dict(self.splits)
        new.blocks = list(self.blocks)
        new.new_acquisitions = self.new_acquisitions
        new.new_losses = self.new_losses
        new._top_cost = None
        new._tagged = None
        return new

    def forget_caches(self) -> None:
        """Drop the cached summaries (after the state was changed in place)."""
        self._top_cost = None
        self._tagged = None

    def lots(self) -> list[Lot]:
        """Every open lot of the group, all accounts."""
        return [lot for lots in self.accounts.values() for lot in lots.values()]

    def top_costs(self) -> dict[str, float]:
        """Highest basis per share in each account, as floats (a cheap pre-filter).

        Cached until :meth:`forget_caches` (called whenever a state is changed in place).
        """
        if self._top_cost is None:
            self._top_cost = {
                account: max(float(lot.basis / lot.shares) for lot in lots.values())
                for account, lots in self.accounts.items()
                if lots
            }
        return self._top_cost

    def substitute_lots(self) -> dict[tuple[str, str], SubstituteLots]:
        """Open lots bought as a substitute, per ``(account, primary)`` (cached like above)."""
        if self._tagged is None:
            found: dict[tuple[str, str], list[Lot]] = {}
            for lot in self.lots():
                if lot.primary is not None:
                    found.setdefault((lot.account, lot.primary), []).append(lot)
            self._tagged = {}
            for where, lots in found.items():
                shares: dict[str, float] = {}
                for lot in lots:
                    shares[lot.ticker] = shares.get(lot.ticker, 0.0) + float(lot.shares)
                basis = sum(float(lot.basis) for lot in lots)
                self._tagged[where] = SubstituteLots(tuple(lots), shares, basis)
        return self._tagged


class SubstituteLots(NamedTuple):
    """Substitute lots of one primary in one account, with float totals for quick estimates."""

    lots: tuple[Lot, ...]
    shares: dict[str, float]  # per ticker
    basis: float
