r"""The tax-lot ledger: accounts, acquisitions, sales, wash sales, blocks, reports.

A :class:`Ledger` records what happened — buys, dividend reinvestments, invested deposits and
sales, per named account — and answers what it means for taxes: the open lots with their
wash-adjusted basis and dates (:meth:`Ledger.lots`), every realized lot piece with its gain, term
and wash-sale disallowance (:meth:`Ledger.realized`), the wash-sale matches themselves
(:meth:`Ledger.wash_sales`), whether a ticker may be bought without washing a recent loss
(:meth:`Ledger.can_buy`) and Form 8949 (:meth:`Ledger.form_8949`).

Design and documented choices
-----------------------------
**Event sourcing.** The ledger's state is a deterministic function of its event log: events are
applied in ``(trade date, recording sequence)`` order and each trade date is settled at its
close (:mod:`rebalancing.tax.wash`). Because a purchase can wash a loss sold up to 30 days
*before* it, the matching must not depend on the order in which events are recorded: an event
dated on or after the latest trade date of its group extends the state incrementally, an event
dated earlier (recorded late) replays the group's events, so **events may be recorded in any
date order** and the result is the one of recording them in date order. Same-date events keep
their recording order.

**Groups.** Tickers declared substantially identical (``Ledger(identical=[{"VOO", "IVV"}])`` or
:meth:`Ledger.declare_identical`; overlapping declarations merge) form one group: wash sales,
blocks and matching work per group, across all accounts. A declaration applies to the whole
history (the group is rebuilt), since the securities always were identical.

**Atomicity.** Every operation validates its input and builds new states before anything is
swapped in, so a failed operation (``ValueError``/``TypeError``) leaves the ledger unchanged.
:meth:`Ledger.transaction` groups operations: all of them or none (and, for a stored ledger, one
SQLite transaction).

**Numbers and dates.** Shares and money are ``Decimal``; ``int`` and ``str`` are accepted, floats
are rejected with a ``TypeError`` (see :mod:`rebalancing.tax._inputs`). Share counts must be
positive, prices non-negative (a worthless security can be sold at 0). Dates are
``datetime.date`` or ISO strings. Tickers and account names are case-sensitive strings, kept
exactly as given.

**Persistence.** :meth:`Ledger.create` makes a new SQLite file and :meth:`Ledger.open` opens an
existing one (never creating, never changing a file that is not a ledger); either keeps the
event log there, one transaction per operation (:mod:`rebalancing.tax.store`); lots and sales
are rebuilt from the events when it is opened.

**Accounts.** A ledger has exactly the accounts it was given (``Ledger()`` alone means one
taxable account named ``"taxable"``), of kinds ``"taxable"``, ``"ira"`` and ``"roth"``. With one
account, ``account=`` may be omitted everywhere; with several, omitting it is a ``ValueError``
that lists them (a trade silently booked to the wrong account is worse than an error). Sales in
IRA-like accounts appear in :meth:`realized` but are never wash-tested and are not reported on
Form 8949; purchases there are replacements for losses in taxable accounts, disallowing them
permanently.

**Blocks.** Every loss sale in a taxable account (harvested or not, washed or not) blocks its
group from the sale date through ``sale date + 30 days`` inclusive (:meth:`can_buy` is
``False``; buying is safe again from day 31). Dates before the sale are not blocked: the
ledger does not know about sales that have not happened. :meth:`buy` is a record of a trade
and is always accepted (buying during a block washes the loss, which the ledger then accounts
for); :meth:`reinvest` and :meth:`deposit` of a blocked ticker are **redirected** to the
substitute (docs/tax_rules.md §7) — the one named by ``substitute=``, else the one the harvest that
created the block bought — at ``substitute_price``: the cash ``shares × price`` buys
``⌊cash / substitute_price⌋`` substitute shares to :data:`SHARE_QUANTUM` (the remainder is
returned as ``cash_left``). The redirected lot records the ticker it stands in for
(``primary``) and the event is tagged ``"redirect"``. Without a known
substitute or without ``substitute_price`` the call raises ``ValueError``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from types import MappingProxyType
from typing import IO, Any

import pandas as pd

from rebalancing.tax import form8949
from rebalancing.tax._engine import Group, add_event, add_event_in_place, replay
from rebalancing.tax._inputs import (
    CONTEXT,
    ZERO,
    as_date,
    as_name,
    as_nonnegative,
    as_positive,
    tidy,
)
from rebalancing.tax.lots import ACCOUNT_KINDS, Event, GroupState, Lot, Piece, SubstituteLots
from rebalancing.tax.relief import METHODS, normalize_spec
from rebalancing.tax.store import LedgerStore
from rebalancing.tax.wash import WINDOW
from rebalancing.typing import Amount, DateLike

__all__ = ["SHARE_QUANTUM", "Acquisition", "Block", "Holdings", "Ledger", "Sale"]

SHARE_QUANTUM = Decimal("0.000001")
"""Smallest share fraction bought when cash is converted to shares (redirects, harvests)."""

_DISPLAY = Context(prec=28)

LOT_COLUMNS = [
    "lot_id",
    "account",
    "kind",
    "ticker",
    "shares",
    "basis",
    "basis_per_share",
    "adjustment",
    "acquired",
    "original",
    "replacement",
    "primary",
]
REALIZED_COLUMNS = [
    "sale",
    "lot_id",
    "account",
    "kind",
    "ticker",
    "shares",
    "acquired",
    "original",
    "sold",
    "proceeds",
    "basis",
    "gain",
    "term",
    "wash_disallowed",
    "permanent_disallowed",
    "permanent",
    "reported_gain",
    "matched",
    "adjustment",
    "replacement",
    "tag",
]
MATCH_COLUMNS = [
    "sale",
    "sold_lot",
    "sold",
    "sold_acquired",
    "replacement_lot",
    "account",
    "kind",
    "ticker",
    "shares",
    "replaced",
    "disallowed",
    "permanent",
    "acquired",
]
EVENT_COLUMNS = [
    "seq",
    "date",
    "kind",
    "account",
    "ticker",
    "shares",
    "price",
    "method",
    "lots",
    "tag",
    "primary",
    "substitute",
]


@dataclass(frozen=True)
class Acquisition:
    """Receipt of a buy, reinvestment or deposit.

    ``ticker``/``shares``/``price`` are what was actually bought; ``redirected_from`` is the
    requested ticker when a block sent the cash to a substitute, with ``cash_left`` the cash the
    share rounding left over.
    """

    seq: int
    date: dt.date
    kind: str
    account: str
    ticker: str
    shares: Decimal
    price: Decimal
    lot_id: str
    redirected_from: str | None = None
    cash_left: Decimal = ZERO


@dataclass(frozen=True)
class Sale:
    """Receipt of a sale: the lots relieved (``(lot_id, shares)``) and the proceeds."""

    seq: int
    date: dt.date
    account: str
    ticker: str
    shares: Decimal
    price: Decimal
    proceeds: Decimal
    lots: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class Block:
    """A group that must not be acquired from ``sale_date`` through ``until`` (inclusive)."""

    tickers: tuple[str, ...]
    sale_date: dt.date
    until: dt.date
    substitute: str | None


class Holdings:
    """Read-only view of one group's open lots (substantially identical tickers, all accounts).

    Returned by :meth:`Ledger.holdings`/:meth:`Ledger.holding`; the records are immutable and
    the view never changes (later operations build new states).
    """

    __slots__ = ("_state", "tickers")

    def __init__(self, tickers: tuple[str, ...], state: GroupState) -> None:
        self.tickers = tickers
        self._state = state

    @property
    def accounts(self) -> tuple[str, ...]:
        """Accounts holding lots of the group."""
        return tuple(name for name, lots in self._state.accounts.items() if lots)

    def lots(self, account: str | None = None) -> tuple[Lot, ...]:
        """Open lots (of ``account``, or all), in no particular order."""
        if account is None:
            return tuple(self._state.lots())
        return tuple(self._state.accounts.get(account, {}).values())

    def max_cost_per_share(self) -> Mapping[str, float]:
        """Highest basis per share in each account, as floats: a cheap pre-filter (cached)."""
        return MappingProxyType(self._state.top_costs())

    def substitute_lots(self) -> Mapping[tuple[str, str], SubstituteLots]:
        """Open lots bought as a substitute, per ``(account, primary)`` (cached)."""
        return MappingProxyType(self._state.substitute_lots())

    def __repr__(self) -> str:
        return f"Holdings(tickers={self.tickers!r}, accounts={self.accounts!r})"


@dataclass
class _Snapshot:
    groups: dict[str, Group]
    log_length: int
    kinds: dict[str, str]
    group_of: dict[str, str]
    members: dict[str, frozenset[str]]
    declared_length: int
    owned: dict[int, Group] = field(default_factory=dict)  # groups created in the transaction


class Ledger:
    """Tax lots per account with wash sales, lot relief and harvesting support.

    Parameters
    ----------
    accounts : mapping of str to str, or iterable of str, optional
        The ledger's accounts, exactly: ``{"joint": "taxable", "roth": "roth"}`` (kinds
        ``"taxable"``, ``"ira"``, ``"roth"``) or a list of names (all taxable); at least one.
        Default: one taxable account named ``"taxable"``.
    identical : iterable of iterables of str, optional
        Groups of substantially identical tickers, e.g. ``[{"VOO", "IVV"}]``.

    Examples
    --------
    >>> led = Ledger({"taxable": "taxable", "ira": "ira"})
    >>> _ = led.buy("2024-01-02", "VOO", 10, "400", account="taxable")
    >>> _ = led.sell("2024-02-01", "VOO", 10, "380", account="taxable")
    >>> _ = led.buy("2024-02-15", "VOO", 10, "385", account="ira")
    >>> row = led.realized().iloc[0]
    >>> row.gain, row.wash_disallowed, row.permanent_disallowed
    (Decimal('-200'), Decimal('200'), Decimal('200'))
    """

    def __init__(
        self,
        accounts: Mapping[str, str] | Iterable[str] | None = None,
        *,
        identical: Iterable[Iterable[str]] = (),
    ) -> None:
        pairs = _account_pairs({"taxable": "taxable"} if accounts is None else accounts)
        self._init_empty()
        with self.transaction():
            for name, kind in pairs:
                self.add_account(name, kind)
            for tickers in _groups_arg(identical):
                self.declare_identical(tickers)

    def _init_empty(self) -> None:
        """State of a ledger with no account, no event (constructors fill it)."""
        self._kinds: dict[str, str] = {}
        self._groups: dict[str, Group] = {}
        self._group_of: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._declared: list[tuple[str, ...]] = []
        self._log: list[Event] = []
        self._store: LedgerStore | None = None
        self._revision = 0
        self._txn: _Snapshot | None = None

    # ------------------------------------------------------------------ persistence

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        accounts: Mapping[str, str] | Iterable[str] | None = None,
        *,
        identical: Iterable[Iterable[str]] = (),
    ) -> Ledger:
        """Create a new ledger stored in the SQLite file ``path`` (which must not exist).

        ``accounts`` and ``identical`` are as for :class:`Ledger`. From then on every operation
        is committed to the file in one transaction before the in-memory ledger changes. Use
        as a context manager, or call :meth:`close`.

        Raises
        ------
        ValueError
            If ``path`` exists (any file: it is left untouched; use :meth:`open` for a ledger)
            or an argument is invalid (then no file is created). Of several processes or
            threads creating one file at the same moment, exactly one succeeds.
        """
        ledger = cls(accounts, identical=identical)  # validates everything before any I/O
        store = LedgerStore.create(path, list(ledger._kinds.items()), ledger._declared)
        ledger._store = store
        ledger._revision = 0
        return ledger

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        accounts: Mapping[str, str] | Iterable[str] | None = None,
    ) -> Ledger:
        """Open the existing ledger stored in the SQLite file ``path``.

        The stored events are replayed (:mod:`rebalancing.tax.store`). ``accounts``, if given,
        is a check, not a change: it must equal the stored accounts (names and kinds, in any
        order), else ``ValueError``. Accounts and groups of identical tickers are added to a
        stored ledger with :meth:`add_account` and :meth:`declare_identical`, like any other
        operation.

        Raises
        ------
        ValueError
            If ``path`` does not exist (nothing is created: use :meth:`create`), is not a
            ledger database (not SQLite, another application's database, an empty file), holds
            another schema version, or other accounts than ``accounts``. A refused file is left
            byte-identical.
        """
        expected = None if accounts is None else dict(_account_pairs(accounts))
        store = LedgerStore.open(path)
        try:
            stored = store.load()
            if expected is not None and expected != dict(stored.accounts):
                raise ValueError(
                    f"accounts: {store.path!r} holds the accounts {dict(stored.accounts)}, not "
                    f"{expected}"
                )
            ledger = cls.__new__(cls)
            ledger._init_empty()
            ledger._kinds.update(stored.accounts)
            for tickers in stored.identical:
                ledger._merge(tickers)
            ledger._declared.extend(stored.identical)
            ledger._load(stored.events)
            ledger._store = store
            ledger._revision = stored.revision
        except BaseException:
            store.close()
            raise
        return ledger

    @property
    def path(self) -> str | None:
        """The SQLite file backing this ledger, or ``None`` for an in-memory ledger."""
        return None if self._store is None else self._store.path

    def close(self) -> None:
        """Close the database (the in-memory state stays readable; writes then fail)."""
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self, events: Iterable[Event]) -> None:
        by_group: dict[str, list[Event]] = {}
        for event in events:
            by_group.setdefault(self._key(event.ticker), []).append(event)
            self._log.append(event)
        for key, group_events in by_group.items():
            self._groups[key] = replay(group_events, self._kinds)[0]
        self._log.sort(key=lambda e: e.seq)

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """Group operations atomically: ``with ledger.transaction(): ...``.

        If the block raises, the ledger (and its database) are left exactly as before the
        block. Nested blocks join the outermost one. For a stored ledger the block's events are
        written in one SQLite transaction when the outermost block ends. Decimal arithmetic
        inside the block runs in the ledger's context (60 significant digits).
        """
        if self._txn is not None:
            yield self
            return
        snapshot = _Snapshot(
            groups=dict(self._groups),
            log_length=len(self._log),
            kinds=dict(self._kinds),
            group_of=dict(self._group_of),
            members=dict(self._members),
            declared_length=len(self._declared),
        )
        self._txn = snapshot
        try:
            with localcontext(CONTEXT):
                yield self
            if self._store is not None:
                new_events = self._log[snapshot.log_length :]
                new_accounts = [(n, k) for n, k in self._kinds.items() if n not in snapshot.kinds]
                new_groups = self._declared[snapshot.declared_length :]
                if new_events or new_accounts or new_groups:
                    self._revision = self._store.commit(
                        self._revision, new_accounts, new_groups, new_events
                    )
        except BaseException:
            self._groups = snapshot.groups
            del self._log[snapshot.log_length :]
            self._kinds = snapshot.kinds
            self._group_of = snapshot.group_of
            self._members = snapshot.members
            del self._declared[snapshot.declared_length :]
            raise
        finally:
            self._txn = None

    # ------------------------------------------------------------------ configuration

    @property
    def accounts(self) -> dict[str, str]:
        """Account name → kind."""
        return dict(self._kinds)

    @property
    def identical(self) -> list[frozenset[str]]:
        """The groups of substantially identical tickers (merged declarations)."""
        return [self._members[key] for key in sorted(self._members)]

    def add_account(self, name: str, kind: str = "taxable") -> None:
        """Add an account of kind ``"taxable"``, ``"ira"`` or ``"roth"``.

        A ledger that had one account has several afterwards: operations then need
        ``account=`` (:meth:`account_name`).
        """
        name = as_name(name, "name")
        if kind not in ACCOUNT_KINDS:
            raise ValueError(f"kind must be one of {ACCOUNT_KINDS}, got {kind!r}")
        if name in self._kinds:
            raise ValueError(f"name: account {name!r} already exists")
        with self.transaction():
            self._kinds[name] = kind

    def declare_identical(self, tickers: Iterable[str]) -> None:
        """Declare ``tickers`` substantially identical (merging with groups they belong to).

        The history of the merged group is replayed; if that makes a recorded event invalid
        (e.g. a ``spec_id`` sale naming a lot that the new matching splits differently), the
        declaration is refused with ``ValueError`` and nothing changes.
        """
        group = _one_group(tickers, "tickers")
        with self.transaction():
            old_keys = {self._key(t) for t in group}
            events = [
                e for key in old_keys if key in self._groups for e in self._groups[key].events
            ]
            new_key = self._merge(group)
            self._declared.append(group)
            for key in old_keys:
                self._groups.pop(key, None)
            if events:
                self._groups[new_key] = replay(events, self._kinds)[0]

    def _merge(self, tickers: Iterable[str]) -> str:
        members: set[str] = set()
        for ticker in tickers:
            members |= self._members.get(self._key(ticker), {ticker})
        for key in {self._key(t) for t in members}:
            self._members.pop(key, None)
        key = min(members)
        self._members[key] = frozenset(members)
        for ticker in members:
            self._group_of[ticker] = key
        return key

    def _key(self, ticker: str) -> str:
        return self._group_of.get(ticker, ticker)

    def _tickers(self, key: str) -> tuple[str, ...]:
        return tuple(sorted(self._members.get(key, {key})))

    def account_name(self, account: str | None = None) -> str:
        """The account an operation with ``account=account`` uses.

        ``account`` itself if the ledger has it; for ``None``, the ledger's only account.
        ``ValueError`` (naming ``account`` and listing the accounts) for an unknown account or
        for ``None`` when the ledger has several.
        """
        return self._account(account)

    def account_kind(self, account: str | None = None) -> str:
        """Kind (``"taxable"``, ``"ira"``, ``"roth"``) of ``account`` (see :meth:`account_name`)."""
        return self._kinds[self._account(account)]

    def _account(self, account: Any) -> str:
        if account is None:
            if len(self._kinds) == 1:
                return next(iter(self._kinds))
            raise ValueError(
                f"account: this ledger has several accounts ({_listing(self._kinds)}); pass "
                "account= to say which one"
            )
        name = as_name(account, "account")
        if name not in self._kinds:
            raise ValueError(
                f"account: unknown account {name!r} (the ledger's accounts: "
                f"{_listing(self._kinds)})"
            )
        return name

    # ------------------------------------------------------------------ operations

    def buy(
        self,
        date: DateLike,
        ticker: str,
        shares: Amount,
        price: Amount,
        account: str | None = None,
        *,
        tag: str | None = None,
        primary: str | None = None,
    ) -> Acquisition:
        """Record a purchase of ``shares`` of ``ticker`` at ``price`` per share on ``date``.

        ``account`` may be omitted when the ledger has one account (:meth:`account_name`).
        The new lot's basis is ``shares × price``. A purchase within 30 days of a loss sale of
        a substantially identical security washes that loss (docs/tax_rules.md §2–5), whenever
        either was recorded. ``tag`` (e.g. ``"substitute"``) is recorded with the event; ``primary``
        marks the lot as bought in place of that ticker (what :func:`~rebalancing.tax.swap_back`
        swaps back to).
        """
        return self._acquire(
            "buy",
            date,
            ticker,
            shares,
            price,
            account,
            tag=_optional_name(tag, "tag"),
            primary=_optional_name(primary, "primary"),
        )

    def reinvest(
        self,
        date: DateLike,
        ticker: str,
        shares: Amount,
        price: Amount,
        account: str | None = None,
        *,
        substitute: str | None = None,
        substitute_price: Amount | None = None,
    ) -> Acquisition:
        """Record a dividend reinvestment (an acquisition for wash-sale purposes).

        While ``ticker`` is blocked (:meth:`can_buy` is False) the cash is redirected to a
        substitute; see the module notes ("Blocks") for ``substitute``/``substitute_price``.
        """
        return self._acquire(
            "reinvest",
            date,
            ticker,
            shares,
            price,
            account,
            redirect=(substitute, substitute_price),
        )

    def deposit(
        self,
        date: DateLike,
        ticker: str,
        shares: Amount,
        price: Amount,
        account: str | None = None,
        *,
        substitute: str | None = None,
        substitute_price: Amount | None = None,
    ) -> Acquisition:
        """Record a deposit invested in ``ticker`` (an acquisition for wash-sale purposes).

        Redirected to a substitute during a block, like :meth:`reinvest`.
        """
        return self._acquire(
            "deposit", date, ticker, shares, price, account, redirect=(substitute, substitute_price)
        )

    def _acquire(
        self,
        kind: str,
        date: Any,
        ticker: Any,
        shares: Any,
        price: Any,
        account: Any,
        *,
        tag: str | None = None,
        primary: str | None = None,
        redirect: tuple[Any, Any] | None = None,
    ) -> Acquisition:
        with self.transaction():
            day = as_date(date, "date")
            name = as_name(ticker, "ticker")
            quantity = as_positive(shares, "shares")
            cost = as_nonnegative(price, "price")
            acct = self._account(account)
            redirected_from = None
            cash_left = ZERO
            if redirect is not None:
                sub_arg, sub_price_arg = redirect
                if sub_arg is not None:
                    sub_arg = as_name(sub_arg, "substitute")
                block = self.block(name, day)
                if block is not None:
                    sub = sub_arg if sub_arg is not None else block.substitute
                    if sub is None:
                        raise ValueError(
                            f"substitute: {name} is blocked through {block.until} (loss sale on "
                            f"{block.sale_date}) and no substitute is known; pass substitute= "
                            "and substitute_price="
                        )
                    if self._key(sub) == self._key(name):
                        raise ValueError(f"substitute: {sub} is substantially identical to {name}")
                    sub_block = self.block(sub, day)
                    if sub_block is not None:
                        raise ValueError(
                            f"substitute: {sub} is itself blocked through {sub_block.until}"
                        )
                    if sub_price_arg is None:
                        raise ValueError(
                            f"substitute_price: {name} is blocked through {block.until}; the "
                            f"{kind} goes to {sub}, whose price is needed"
                        )
                    sub_price = as_positive(sub_price_arg, "substitute_price")
                    cash = quantity * cost
                    bought = tidy((cash / sub_price).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN))
                    if bought <= 0:
                        raise ValueError(
                            f"shares: {cash} of cash buys no share of {sub} at {sub_price}"
                        )
                    cash_left = cash - bought * sub_price
                    redirected_from, name, quantity, cost = name, sub, bought, sub_price
                    tag, primary = "redirect", redirected_from
                elif sub_price_arg is not None:
                    as_positive(sub_price_arg, "substitute_price")
            event = Event(
                seq=self._next_seq(),
                date=day,
                kind=kind,
                account=acct,
                ticker=name,
                shares=quantity,
                price=cost,
                tag=tag,
                primary=primary,
            )
            lot_id = self._record(event)
            assert isinstance(lot_id, str)
        return Acquisition(
            seq=event.seq,
            date=day,
            kind=kind,
            account=acct,
            ticker=name,
            shares=quantity,
            price=cost,
            lot_id=lot_id,
            redirected_from=redirected_from,
            cash_left=cash_left,
        )

    def sell(
        self,
        date: DateLike,
        ticker: str,
        shares: Amount,
        price: Amount,
        method: str = "fifo",
        lots: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        account: str | None = None,
        *,
        tag: str | None = None,
        substitute: str | None = None,
    ) -> Sale:
        """Record a sale of ``shares`` of ``ticker`` at ``price``, relieving lots by ``method``.

        Parameters
        ----------
        method : {"fifo", "lifo", "hifo", "spec_id", "tax_optimal"}
            Lot relief (:mod:`rebalancing.tax.relief`), on wash-adjusted bases and dates.
        lots : mapping or iterable of pairs, optional
            For ``spec_id`` only: ``{lot_id: shares}``; the counts must add up to ``shares``.
            Lot ids are those of :meth:`lots` at the start of ``date`` (lots split by the
            wash-sale settlement of ``date`` itself can be named from the next date on).
        tag : str, optional
            Recorded with the event (e.g. ``"harvest"``).
        substitute : str, optional
            The substitute bought with the proceeds: a reinvestment or deposit redirected by
            this sale's block goes there (see the module notes, "Blocks").

        Raises
        ------
        ValueError
            Selling more than the account holds, unknown lots, bad counts or arguments; the
            ledger is unchanged.
        """
        return self._sell(
            date,
            ticker,
            shares,
            price,
            method,
            lots,
            account,
            tag=_optional_name(tag, "tag"),
            substitute=_optional_name(substitute, "substitute"),
        )

    def _sell(
        self,
        date: Any,
        ticker: Any,
        shares: Any,
        price: Any,
        method: Any,
        lots: Any,
        account: Any,
        *,
        tag: str | None = None,
        substitute: str | None = None,
    ) -> Sale:
        with self.transaction():
            day = as_date(date, "date")
            name = as_name(ticker, "ticker")
            quantity = as_positive(shares, "shares")
            value = as_nonnegative(price, "price")
            acct = self._account(account)
            if method not in METHODS:
                raise ValueError(f"method must be one of {METHODS}, got {method!r}")
            spec = None if lots is None else normalize_spec(lots)
            if method == "spec_id" and spec is None:
                raise ValueError("lots is required when method='spec_id'")
            if spec is not None and method != "spec_id":
                raise ValueError(
                    f"lots is only allowed with method='spec_id', got method={method!r}"
                )
            if self._key(name) not in self._groups:
                raise ValueError(f"ticker: no lot of {name} was ever held in this ledger")
            event = Event(
                seq=self._next_seq(),
                date=day,
                kind="sell",
                account=acct,
                ticker=name,
                shares=quantity,
                price=value,
                method=method,
                lots=spec,
                tag=tag,
                substitute=substitute,
            )
            picks = self._record(event)
            assert not isinstance(picks, str)
        return Sale(
            seq=event.seq,
            date=day,
            account=acct,
            ticker=name,
            shares=quantity,
            price=value,
            proceeds=quantity * value,
            lots=picks,
        )

    def _next_seq(self) -> int:
        return self._log[-1].seq + 1 if self._log else 1

    def _record(self, event: Event) -> str | tuple[tuple[str, Decimal], ...]:
        key = self._key(event.ticker)
        group = self._groups.get(key)
        txn = self._txn
        assert txn is not None, "events are recorded inside a transaction"
        if group is not None and txn.owned.get(id(group)) is group and event.date >= group.day:
            # Created by this transaction, so nothing else refers to it: extend it in place
            # (a rollback restores the groups of the snapshot anyway).
            outcome = add_event_in_place(group, event, self._kinds)
        else:
            group, outcome = add_event(group, event, self._kinds)
            self._groups[key] = group
            txn.owned[id(group)] = group
        self._log.append(event)
        return outcome

    # ------------------------------------------------------------------ blocks

    def block(self, ticker: str, date: DateLike) -> Block | None:
        """The block on ``ticker``'s group active on ``date``, if any.

        A loss sale in a taxable account on ``S`` blocks the group on ``S … S + 30`` inclusive.
        When several are active, the latest sale's block is returned, with the substitute of the
        latest harvest among the active ones.
        """
        return self._block(self._key(as_name(ticker, "ticker")), as_date(date, "date"))

    def _block(self, key: str, day: dt.date) -> Block | None:
        group = self._groups.get(key)
        if group is None or not group.live.blocks:
            return None
        blocks = group.live.blocks
        # Usually ``day`` is on or after the latest loss sale: no search needed.
        if blocks[-1][0] <= day:
            i = len(blocks) - 1
        else:
            i = bisect.bisect_right(blocks, day, key=lambda b: b[0]) - 1
        if i < 0 or day - blocks[i][0] > WINDOW:
            return None
        substitute = None
        j = i
        while j >= 0 and day - blocks[j][0] <= WINDOW:
            if blocks[j][1] is not None:
                substitute = blocks[j][1]
                break
            j -= 1
        sale = blocks[i][0]
        return Block(self._tickers(key), sale, sale + WINDOW, substitute)

    def can_buy(self, ticker: str, date: DateLike) -> bool:
        """False while a block is active: a purchase on ``date`` would wash a recent loss.

        A loss sale on ``S`` (taxable account, any ticker substantially identical to
        ``ticker``) blocks ``S`` through ``S + 30`` days; buying is allowed from ``S + 31``.
        """
        return self.block(ticker, date) is None

    def blocks(self, date: DateLike | None = None) -> pd.DataFrame:
        """Blocks active on ``date`` (every block ever created if ``date`` is None)."""
        day = None if date is None else as_date(date, "date")
        rows = []
        for key in sorted(self._groups):
            for sale, substitute in self._groups[key].live.blocks:
                if day is None or sale <= day <= sale + WINDOW:
                    rows.append((self._tickers(key), sale, sale + WINDOW, substitute))
        return pd.DataFrame(rows, columns=["tickers", "sale_date", "until", "substitute"])

    # ------------------------------------------------------------------ views

    def _views(self, ticker: str | None = None) -> list[GroupState]:
        """Settled states of every group (or of ``ticker``'s group), in group-key order."""
        with localcontext(CONTEXT):
            if ticker is None:
                return [self._groups[key].view(self._kinds) for key in sorted(self._groups)]
            group = self._groups.get(self._key(as_name(ticker, "ticker")))
            return [] if group is None else [group.view(self._kinds)]

    def lots(self, ticker: str | None = None, account: str | None = None) -> pd.DataFrame:
        """Open lots, settled through the latest trade date.

        Columns: ``lot_id``, ``account``, ``kind`` (account kind), ``ticker``, ``shares``,
        ``basis`` (total, wash-adjusted), ``basis_per_share`` (28 significant digits),
        ``adjustment`` (deferred wash losses included in ``basis``), ``acquired`` (adjusted
        acquisition date), ``original`` (trade date), ``replacement`` (the shares absorbed a
        washed loss), ``primary`` (ticker the lot substitutes for, if bought as a substitute).
        """
        acct = None if account is None else self._account(account)
        rows = []
        with localcontext(CONTEXT):
            for state in self._views(ticker):
                for lot in _sorted_lots(state.lots()):
                    if (ticker is None or lot.ticker == ticker) and (
                        acct is None or lot.account == acct
                    ):
                        rows.append(
                            (
                                lot.lot_id,
                                lot.account,
                                self._kinds[lot.account],
                                lot.ticker,
                                lot.shares,
                                lot.basis,
                                _DISPLAY.divide(lot.basis, lot.shares),
                                lot.adjustment,
                                lot.acquired,
                                lot.original,
                                lot.replacement,
                                lot.primary,
                            )
                        )
        frame = pd.DataFrame(rows, columns=LOT_COLUMNS)
        return frame.sort_values(["account", "ticker"], kind="stable", ignore_index=True)

    def realized(self) -> pd.DataFrame:
        """Every realized lot piece, with its wash-sale outcome as of now.

        A purchase recorded after a loss sale (up to 30 days after it) washes it
        retroactively, so the disallowed amounts here reflect the current matching.

        Columns: ``sale`` (event seq), ``lot_id``, ``account``, ``kind``, ``ticker``,
        ``shares``, ``acquired`` (adjusted), ``original``, ``sold``, ``proceeds``, ``basis``,
        ``gain`` (proceeds − basis), ``term`` (``"short"``/``"long"``, docs/tax_rules.md §1 on the
        adjusted date), ``wash_disallowed`` (loss disallowed, deferred and permanent),
        ``permanent_disallowed`` (the part lost for good to IRA replacements), ``permanent``
        (bool), ``reported_gain`` (gain + wash_disallowed, Form 8949 (h)), ``matched`` (shares
        of the loss matched with replacements), ``adjustment`` (deferred losses included in
        ``basis``), ``replacement`` (the sold shares had absorbed a washed loss), ``tag``.
        """
        rows = []
        with localcontext(CONTEXT):
            for state in self._views():
                for p in state.pieces:
                    rows.append(
                        (
                            p.sale,
                            p.position,
                            p.lot_id,
                            p.account,
                            p.kind,
                            p.ticker,
                            p.shares,
                            p.acquired,
                            p.original,
                            p.sold,
                            p.proceeds,
                            p.basis,
                            p.proceeds - p.basis,
                            "long" if p.long_term else "short",
                            p.disallowed,
                            p.permanent,
                            p.permanent > 0,
                            p.proceeds - p.basis + p.disallowed,
                            p.matched,
                            p.adjustment,
                            p.replacement,
                            p.tag,
                        )
                    )
        rows.sort(key=lambda r: (r[9], r[0], r[1]))
        frame = pd.DataFrame(rows, columns=["sale", "index", *REALIZED_COLUMNS[1:]])
        return frame.drop(columns="index")

    def wash_sales(self) -> pd.DataFrame:
        """Every wash-sale match: which replacement shares absorbed which loss, and how.

        Columns: ``sale``, ``sold_lot``, ``sold`` (S), ``sold_acquired`` (A), the
        ``replacement_lot`` (after any split), its ``account``/``kind``/``ticker``, ``shares``,
        ``replaced`` (R), ``disallowed`` (amount moved into the replacement's basis, or lost for
        good if ``permanent``), ``acquired`` (the replacement's adjusted acquisition date).
        """
        rows = []
        with localcontext(CONTEXT):
            for state in self._views():
                sold_lot = {(p.sale, p.position): p.lot_id for p in state.pieces}
                for m in state.matches:
                    rows.append(
                        (
                            m.sale,
                            sold_lot[(m.sale, m.position)],
                            m.sold,
                            m.sold_acquired,
                            m.lot_id,
                            m.account,
                            m.kind,
                            m.ticker,
                            m.shares,
                            m.replaced,
                            m.disallowed,
                            m.permanent,
                            m.acquired,
                        )
                    )
        rows.sort(key=lambda r: (r[2], r[0], r[9]))
        return pd.DataFrame(rows, columns=MATCH_COLUMNS)

    def events(self) -> pd.DataFrame:
        """The event log in recording order (the ledger's source of truth)."""
        rows = [
            (
                e.seq,
                e.date,
                e.kind,
                e.account,
                e.ticker,
                e.shares,
                e.price,
                e.method,
                None if e.lots is None else dict(e.lots),
                e.tag,
                e.primary,
                e.substitute,
            )
            for e in self._log
        ]
        return pd.DataFrame(rows, columns=EVENT_COLUMNS)

    def form_8949(self, year: int | None = None) -> pd.DataFrame:
        """Form 8949 rows of the taxable sales (:mod:`rebalancing.tax.form8949`)."""
        return form8949.form_8949(self.realized(), year)

    def to_form_8949(
        self, path_or_buffer: str | os.PathLike[str] | IO[str], year: int | None = None
    ) -> pd.DataFrame:
        """Write :meth:`form_8949` as CSV to ``path_or_buffer``; return the rows."""
        return form8949.write_form_8949(self.realized(), path_or_buffer, year)

    # ------------------------------------------------------------------ read-only queries

    @property
    def latest_date(self) -> dt.date | None:
        """The latest trade date of any recorded event (``None`` for an empty ledger)."""
        return max((group.day for group in self._groups.values()), default=None)

    def substantially_identical(self, ticker: str) -> frozenset[str]:
        """The tickers substantially identical to ``ticker``, itself included."""
        key = self._key(as_name(ticker, "ticker"))
        return self._members.get(key, frozenset({key}))

    def _check_as_of(self, as_of: Any) -> dt.date | None:
        if as_of is None:
            return None
        day = as_date(as_of, "as_of")
        latest = self.latest_date
        if latest is not None and day < latest:
            raise ValueError(
                f"as_of: lots are known as of the latest trade date ({latest}) or later, got {day}"
            )
        return day

    def _state(self, group: Group, day: dt.date | None) -> GroupState:
        # A sale on the group's own latest date sees that date unsettled (``live``); any later
        # query sees it settled (``view``).
        if day is not None and group.day >= day:
            return group.live
        return group.view(self._kinds)

    def holdings(self, as_of: DateLike | None = None) -> list[Holdings]:
        """Every group's open lots, read-only, in group order (see :class:`Holdings`).

        ``as_of=None``: settled through the latest trade date (like :meth:`lots`). ``as_of`` a
        date (the latest trade date or later): as a sale on that date sees them, i.e. without
        the wash-sale settlement of that date's own events.
        """
        day = self._check_as_of(as_of)
        with localcontext(CONTEXT):
            return [
                Holdings(self._tickers(key), self._state(self._groups[key], day))
                for key in sorted(self._groups)
            ]

    def holding(self, ticker: str, as_of: DateLike | None = None) -> Holdings | None:
        """The :class:`Holdings` of ``ticker``'s group (``None`` if it never held a lot)."""
        day = self._check_as_of(as_of)
        group = self._groups.get(self._key(as_name(ticker, "ticker")))
        if group is None:
            return None
        with localcontext(CONTEXT):
            return Holdings(self._tickers(self._key(ticker)), self._state(group, day))

    def open_lots(
        self, account: str | None = None, ticker: str | None = None, as_of: DateLike | None = None
    ) -> tuple[Lot, ...]:
        """Open lots as immutable :class:`~rebalancing.tax.lots.Lot` records.

        Filtered by ``account`` and ``ticker`` (``None``: all; unlike the operations, no
        account is implied here), seen ``as_of`` as in :meth:`holdings`; in acquisition order
        (adjusted date, then trade date, then recording order).
        """
        acct = None if account is None else self._account(account)
        name = None if ticker is None else as_name(ticker, "ticker")
        found = self.holdings(as_of) if name is None else [self.holding(name, as_of)]
        lots = [
            lot
            for held in found
            if held is not None
            for lot in held.lots(acct)
            if name is None or lot.ticker == name
        ]
        return tuple(_sorted_lots(lots))

    def recent_purchases(
        self, ticker: str, as_of: DateLike | None, account: str | None = None
    ) -> tuple[Lot, ...]:
        """Open lots that a loss sale of ``ticker`` on ``as_of`` could wash (docs/tax_rules.md §2).

        Lots of ``ticker``'s substantially identical group, in any account (or in
        ``account``), traded on ``as_of − 30`` … ``as_of`` and not yet a replacement (a share
        absorbs one loss), as a sale on ``as_of`` sees them.
        """
        held = self.holding(ticker, as_of)
        if held is None:
            return ()
        acct = None if account is None else self._account(account)
        horizon = as_date(as_of, "as_of") - WINDOW
        return tuple(
            lot for lot in held.lots(acct) if not lot.replacement and lot.original >= horizon
        )

    def sale_pieces(self, sales: Iterable[Sale]) -> tuple[Piece, ...]:
        """The realized pieces of ``sales`` (receipts of this ledger), settled, as records.

        Each :class:`~rebalancing.tax.lots.Piece` carries the wash-sale outcome so far
        (``disallowed``, ``permanent``, ``matched``).
        """
        wanted: dict[str, set[int]] = {}
        for sale in sales:
            if not isinstance(sale, Sale):
                raise TypeError(f"sales must hold Sale receipts, got {type(sale).__name__}")
            wanted.setdefault(self._key(sale.ticker), set()).add(sale.seq)
        found: list[Piece] = []
        with localcontext(CONTEXT):
            for key in sorted(wanted):
                group = self._groups.get(key)
                if group is None:
                    continue
                seqs = wanted[key]
                first = min(seqs)
                # Recent sales' pieces end the list (pieces are appended in date order).
                for piece in reversed(group.view(self._kinds).pieces):
                    if piece.sale < first:
                        break
                    if piece.sale in seqs:
                        found.append(piece)
        found.sort(key=lambda p: (p.sale, p.position))
        return tuple(found)

    def copy(self) -> Ledger:
        """An in-memory copy to try operations on: it shares the (immutable) states and
        writes to no file; what is recorded in it does not change this ledger."""
        copy = Ledger.__new__(Ledger)
        copy._kinds = dict(self._kinds)
        copy._groups = dict(self._groups)
        copy._group_of = dict(self._group_of)
        copy._members = dict(self._members)
        copy._declared = list(self._declared)
        copy._log = list(self._log)
        copy._store = None
        copy._revision = 0
        copy._txn = None
        return copy

    def __repr__(self) -> str:
        where = f", path={self.path!r}" if self._store is not None else ""
        return (
            f"Ledger(accounts={self._kinds!r}, events={len(self._log)}, "
            f"groups={len(self._groups)}{where})"
        )


def _sorted_lots(lots: Iterable[Lot]) -> list[Lot]:
    return sorted(lots, key=lambda lot: (lot.acquired, lot.original, lot.origin, lot.part))


def _account_pairs(accounts: Mapping[str, str] | Iterable[str] | None) -> list[tuple[str, str]]:
    if accounts is None:
        return []
    if isinstance(accounts, Mapping):
        pairs = list(accounts.items())
    elif isinstance(accounts, str) or not isinstance(accounts, Iterable):
        raise TypeError(
            "accounts must be a mapping {name: kind} or a list of names, "
            f"got {type(accounts).__name__}"
        )
    else:
        pairs = [(name, "taxable") for name in accounts]
    if not pairs:
        raise ValueError("accounts: at least one account is needed, e.g. {'taxable': 'taxable'}")
    return pairs


def _optional_name(value: Any, name: str) -> str | None:
    return None if value is None else as_name(value, name)


def _listing(kinds: Mapping[str, str]) -> str:
    return ", ".join(repr(name) for name in sorted(kinds))


def _one_group(tickers: Any, name: str) -> tuple[str, ...]:
    if isinstance(tickers, str) or not isinstance(tickers, Iterable):
        raise TypeError(f"{name} must be an iterable of ticker strings, got {tickers!r}")
    group = tuple(sorted({as_name(t, name) for t in tickers}))
    if len(group) < 2:
        raise ValueError(f"{name} must name at least two different tickers, got {group}")
    return group


def _groups_arg(identical: Any) -> list[tuple[str, ...]]:
    if isinstance(identical, str) or not isinstance(identical, Iterable):
        raise TypeError(
            f"identical must be an iterable of groups of tickers, got {type(identical).__name__}"
        )
    return [_one_group(group, "identical") for group in identical]
