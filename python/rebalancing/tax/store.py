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

**Creating and opening are distinct.** :meth:`LedgerStore.create` builds the whole database
(schema, accounts, declarations) in a temporary file next to ``path`` and then hard-links it to
``path``, which fails if ``path`` exists: a file is never half-created, and of two processes
creating one file at the same moment exactly one wins while the other gets a ``ValueError``
(never SQLite's "database is locked"). :meth:`LedgerStore.open` only opens an existing ledger: it
first checks the SQLite header and then the tables through a *read-only* connection, so a file
that is not a ledger (another application's database, a text file, an empty file) is refused
without a byte of it changing; only a file that passed is opened for writing.

**One writer.** The ``revision`` counter in ``meta`` is checked inside the write transaction: if
another connection changed the ledger since this one loaded it, the operation is refused with a
``RuntimeError`` (reopen the ledger to see the other writer's events) instead of interleaving
two histories.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rebalancing.tax.lots import Event

__all__ = ["SCHEMA_VERSION", "LedgerStore", "StoredLedger"]

SCHEMA_VERSION = 1

_HEADER = b"SQLite format 3\x00"
_TABLES = frozenset({"meta", "accounts", "identical", "events"})

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (
    position INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('taxable', 'ira', 'roth'))
);
CREATE TABLE identical (
    declaration INTEGER NOT NULL,
    ticker TEXT NOT NULL,
    PRIMARY KEY (declaration, ticker)
);
CREATE TABLE events (
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


def _connect(path: str, mode: str) -> sqlite3.Connection:
    """A connection in autocommit mode; ``mode`` ``"ro"`` or ``"rw"`` never creates the file."""
    uri = pathlib.Path(path).resolve().as_uri() + f"?mode={mode}"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def _check_ledger(path: str) -> None:
    """Raise ``ValueError`` unless ``path`` is a ledger database; never writes to the file.

    The header is read as plain bytes (SQLite would take an empty file for an empty database);
    the tables are read through a read-only connection.
    """
    if not os.path.exists(path):
        raise ValueError(
            f"path: no ledger file {path!r}; use Ledger.create(path, accounts=...) to make one"
        )
    if not os.path.isfile(path):
        raise ValueError(f"path: {path!r} is not a ledger file (not a regular file)")
    with open(path, "rb") as file:
        header = file.read(len(_HEADER))
    if header != _HEADER:
        raise ValueError(f"path: {path!r} is not a SQLite database, so not a ledger")
    # A read-only connection to a WAL database creates its -wal and -shm files when they are
    # missing. No -wal file means no connection has the database open in WAL mode, so it is
    # read as immutable (no locks, no side files); otherwise the existing side files are used.
    mode = "ro" if os.path.exists(path + "-wal") else "ro&immutable=1"
    try:
        conn = _connect(path, mode)
    except sqlite3.Error as exc:
        raise ValueError(f"path: {path!r} cannot be read as a ledger ({exc})") from None
    try:
        tables = {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master")}
        if not _TABLES <= tables:
            raise ValueError(
                f"path: {path!r} is not a ledger database (no table "
                f"{', '.join(sorted(_TABLES - tables))})"
            )
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            raise ValueError(f"path: {path!r} is not a ledger database (no meta.schema)")
        if str(row[0]) != str(SCHEMA_VERSION):
            raise ValueError(
                f"path: {path!r} holds a ledger of schema version {row[0]}, "
                f"this library reads version {SCHEMA_VERSION}"
            )
    except sqlite3.Error as exc:
        raise ValueError(f"path: {path!r} cannot be read as a ledger ({exc})") from None
    finally:
        conn.close()


class LedgerStore:
    """A SQLite file holding one ledger's events (see the module notes).

    Use :meth:`create` or :meth:`open`; the constructor takes an open connection.
    """

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = connection

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> LedgerStore:
        """Open the existing ledger database ``path`` (``ValueError`` otherwise, file untouched)."""
        name = os.fspath(path)
        _check_ledger(name)
        conn = _connect(name, "rw")
        try:
            # A no-op on the files this module creates (already WAL); a ledger switched to
            # another journal mode by some tool is switched back.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return cls(name, conn)

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        accounts: Sequence[tuple[str, str]],
        identical: Sequence[Sequence[str]] = (),
    ) -> LedgerStore:
        """Create the ledger database ``path`` with its accounts and declarations, and open it.

        ``ValueError`` if ``path`` already exists (whatever it holds; it is left untouched).
        """
        name = os.fspath(path)
        if name == ":memory:" or name.startswith("file:"):
            raise ValueError(
                f"path: {name!r} is not a file path (an in-memory ledger is Ledger(...) itself)"
            )
        if os.path.lexists(name):
            raise _exists(name)
        folder = os.path.dirname(os.path.abspath(name))
        if not os.path.isdir(folder):
            raise ValueError(f"path: the folder of {name!r} does not exist")
        fd, scratch = tempfile.mkstemp(
            prefix=f".{os.path.basename(name)}.", suffix=".creating", dir=folder
        )
        os.close(fd)
        try:
            conn = sqlite3.connect(scratch, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?), ('revision', '0')",
                    (str(SCHEMA_VERSION),),
                )
                conn.executemany(
                    "INSERT INTO accounts (position, name, kind) VALUES (?, ?, ?)",
                    [(i + 1, n, k) for i, (n, k) in enumerate(accounts)],
                )
                for number, tickers in enumerate(identical, start=1):
                    conn.executemany(
                        "INSERT INTO identical (declaration, ticker) VALUES (?, ?)",
                        [(number, ticker) for ticker in tickers],
                    )
                conn.execute("COMMIT")
                # Recorded in the file header; closing the only connection checkpoints the WAL
                # and removes it, so the single file below is the whole database.
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
            try:
                # Atomic and exclusive: fails if ``path`` appeared meanwhile (another creator).
                os.link(scratch, name)
            except FileExistsError:
                raise _exists(name) from None
        finally:
            for leftover in (scratch, scratch + "-wal", scratch + "-shm", scratch + "-journal"):
                if os.path.lexists(leftover):
                    os.unlink(leftover)
        return cls.open(name)

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


def _exists(path: str) -> ValueError:
    return ValueError(
        f"path: {path!r} already exists; use Ledger.open(path) to open a ledger file "
        "(Ledger.create never overwrites a file)"
    )
