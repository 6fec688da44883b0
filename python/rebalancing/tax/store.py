"""SQLite persistence of a :class:`~rebalancing.tax.Ledger` (standard library :mod:`sqlite3`).

**What is stored.** The database holds the ledger's *event log* (every buy, reinvestment,
deposit and sale, with its lot-relief method or named lots), its accounts and its declared groups
of substantially identical tickers. Lots, realized sales and wash-sale matches are not stored:
they are a deterministic function of the events (see :mod:`rebalancing.tax._engine`) and are
rebuilt on :meth:`Ledger.open`, so a reloaded ledger is identical to the one that wrote it and
the file can never hold a derived table that disagrees with its events.

**Atomicity.** Every ledger operation — or every ``with ledger.transaction():`` block, such as an
applied harvest — is one SQLite transaction: ``BEGIN IMMEDIATE``, the inserts, a revision bump,
``COMMIT``, with the connection in autocommit mode so that nothing else opens or closes
transactions behind our back. The journal is WAL with ``synchronous=FULL``, so a committed
operation survives a power cut and an interrupted one (exception, ``KeyboardInterrupt``, killed
process) leaves the file exactly as before. The in-memory ledger is only updated once the commit
succeeded.

**One writer.** The ``revision`` counter in ``meta`` is checked inside the write transaction: if
another connection changed the ledger since this one loaded it, the operation is refused with a
``RuntimeError`` (reopen the ledger to see the other writer's events) instead of interleaving
two histories.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rebalancing.tax.lots import Event

__all__ = ["SCHEMA_VERSION", "LedgerStore", "StoredLedger"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    position INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('taxable', 'ira', 'roth'))
);
CREATE TABLE IF NOT EXISTS identical (
    declaration INTEGER NOT NULL,
    ticker TEXT NOT NULL,
    PRIMARY KEY (declaration, ticker)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('buy', 'reinvest', 'deposit', 'sell')),
    account TEXT NOT NULL REFERENCES accounts (name),
    ticker TEXT NOT NULL,
    shares TEXT NOT NULL,
    price TEXT NOT NULL,
    method TEXT,
    lots TEXT,
    tag TEXT,
    "primary" TEXT,
    substitute TEXT
);
"""


def _checkpoint(stage: str) -> None:
    """Called after each write inside a transaction; a test hook (a no-op otherwise).

    Tests replace it to raise, or to kill the process, in the middle of an operation and check
    that nothing is half-written.
    """


@dataclass(frozen=True)
class StoredLedger:
    """What :meth:`LedgerStore.load` reads: accounts, declarations, events, revision."""

    accounts: tuple[tuple[str, str], ...]
    identical: tuple[tuple[str, ...], ...]
    events: tuple[Event, ...]
    revision: int


def _event_row(event: Event) -> tuple[object, ...]:
    lots = None
    if event.lots is not None:
        lots = json.dumps([[lot_id, str(shares)] for lot_id, shares in event.lots])
    return (
        event.seq,
        event.date.isoformat(),
        event.kind,
        event.account,
        event.ticker,
        str(event.shares),
        str(event.price),
        event.method,
        lots,
        event.tag,
        event.primary,
        event.substitute,
    )


def _row_event(row: Sequence[object]) -> Event:
    (seq, date, kind, account, ticker, shares, price, method, lots, tag, primary, sub) = row
    spec = None
    if lots is not None:
        spec = tuple((str(lot_id), Decimal(q)) for lot_id, q in json.loads(str(lots)))
    return Event(
        seq=int(str(seq)),
        date=dt.date.fromisoformat(str(date)),
        kind=str(kind),
        account=str(account),
        ticker=str(ticker),
        shares=Decimal(str(shares)),
        price=Decimal(str(price)),
        method=None if method is None else str(method),
        lots=spec,
        tag=None if tag is None else str(tag),
        primary=None if primary is None else str(primary),
        substitute=None if sub is None else str(sub),
    )


class LedgerStore:
    """A SQLite file holding one ledger's events (see the module notes).

    Parameters
    ----------
    path : str or os.PathLike
        The database file, created if missing (``":memory:"`` for a throw-away database).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', '0')")
            version = self._meta("schema")
            if version != str(SCHEMA_VERSION):
                raise ValueError(
                    f"path: {self.path!r} holds a ledger of schema version {version}, "
                    f"this library reads version {SCHEMA_VERSION}"
                )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None
            raise

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (``ValueError`` once closed)."""
        if self._conn is None:
            raise ValueError(f"the ledger database {self.path!r} is closed")
        return self._conn

    def _meta(self, key: str) -> str:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise ValueError(f"path: {self.path!r} is not a ledger database (no meta.{key})")
        return str(row[0])

    def load(self) -> StoredLedger:
        """Read everything in one read transaction (a consistent snapshot)."""
        conn = self.connection
        conn.execute("BEGIN")
        try:
            accounts = tuple(
                (str(name), str(kind))
                for name, kind in conn.execute("SELECT name, kind FROM accounts ORDER BY position")
            )
            declared: dict[int, list[str]] = {}
            for number, ticker in conn.execute(
                "SELECT declaration, ticker FROM identical ORDER BY declaration, ticker"
            ):
                declared.setdefault(int(number), []).append(str(ticker))
            events = tuple(
                _row_event(row)
                for row in conn.execute(
                    "SELECT seq, date, kind, account, ticker, shares, price, method, lots, tag, "
                    '"primary", substitute FROM events ORDER BY seq'
                )
            )
            revision = int(self._meta("revision"))
        finally:
            conn.execute("COMMIT")
        return StoredLedger(accounts, tuple(tuple(g) for g in declared.values()), events, revision)

    def commit(
        self,
        revision: int,
        accounts: Sequence[tuple[str, str]] = (),
        identical: Sequence[Sequence[str]] = (),
        events: Sequence[Event] = (),
    ) -> int:
        """Append in one transaction; return the new revision.

        Raises
        ------
        RuntimeError
            If the stored revision is not ``revision`` (another writer changed the ledger).
        """
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            stored = int(self._meta("revision"))
            if stored != revision:
                raise RuntimeError(
                    f"the ledger in {self.path!r} was changed by another connection "
                    f"(revision {stored}, this ledger was loaded at {revision}); reopen it"
                )
            _checkpoint("begin")
            for name, kind in accounts:
                conn.execute(
                    "INSERT INTO accounts (position, name, kind) VALUES "
                    "((SELECT COALESCE(MAX(position), 0) + 1 FROM accounts), ?, ?)",
                    (name, kind),
                )
                _checkpoint("account")
            for tickers in identical:
                number = conn.execute(
                    "SELECT COALESCE(MAX(declaration), 0) + 1 FROM identical"
                ).fetchone()[0]
                conn.executemany(
                    "INSERT INTO identical (declaration, ticker) VALUES (?, ?)",
                    [(number, ticker) for ticker in tickers],
                )
                _checkpoint("identical")
            for event in events:
                conn.execute(
                    "INSERT INTO events (seq, date, kind, account, ticker, shares, price, method, "
                    'lots, tag, "primary", substitute) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                    _event_row(event),
                )
                _checkpoint("event")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'revision'", (str(revision + 1),))
            _checkpoint("revision")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return revision + 1

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
