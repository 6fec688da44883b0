"""The SQLite ledger: persistence, one transaction per operation, crashes lose nothing."""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import rebalancing.tax.store as store_module
from _tax import check_invariants, snapshot
from rebalancing.tax import Ledger, harvest

ACCOUNTS = {"taxable": "taxable", "joint": "taxable", "ira": "ira"}


def fill(led: Ledger) -> None:
    """A small history with a wash sale, an IRA replacement and an SI group."""
    led.buy("2024-01-02", "VOO", 100, 50, account="taxable")
    led.buy("2024-01-03", "VTI", 40, 25, account="joint")
    led.sell("2024-02-01", "VOO", 60, 40, method="hifo", account="taxable")
    led.buy("2024-02-05", "IVV", 20, 41, account="taxable")
    led.buy("2024-02-06", "VOO", 10, 42, account="ira")
    led.reinvest("2024-02-07", "VTI", "0.5", 26, account="joint")


def make(path: Path) -> Ledger:
    return Ledger.create(path, ACCOUNTS, identical=[{"VOO", "IVV"}])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reload_gives_the_same_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    memory = Ledger(ACCOUNTS, identical=[{"VOO", "IVV"}])
    fill(memory)
    with make(path) as led:
        fill(led)
        assert led.path == str(path)
        assert snapshot(led) == snapshot(memory)
    with Ledger.open(path) as again:
        assert snapshot(again) == snapshot(memory)
        assert again.identical == [frozenset({"IVV", "VOO"})]
        assert again.accounts == {"taxable": "taxable", "joint": "taxable", "ira": "ira"}
        check_invariants(again)
        again.sell("2024-03-01", "VOO", 40, 45, account="taxable")
    with Ledger.open(path) as third:
        assert len(third.events()) == len(memory.events()) + 1
    # Opening again, checking the accounts, adds nothing.
    with Ledger.open(path, ACCOUNTS) as fourth:
        assert len(fourth.events()) == len(memory.events()) + 1
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT COUNT(*) FROM identical").fetchone() == (2,)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


def test_open_checks_its_arguments(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    make(path).close()
    before = digest(path)
    with pytest.raises(
        ValueError, match=r"accounts: .*ledger.db' holds the accounts .*'ira': 'ira'"
    ):
        Ledger.open(path, {**ACCOUNTS, "ira": "roth"})
    with pytest.raises(ValueError, match="accounts: "):
        Ledger.open(path, ["taxable"])
    assert digest(path) == before
    with Ledger.open(path, ACCOUNTS) as led:  # the same accounts, in any order
        assert led.accounts == ACCOUNTS
    bad = tmp_path / "other.db"
    connection = sqlite3.connect(bad)
    for table in ("meta", "accounts", "identical", "events"):
        connection.execute(f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    connection.execute("INSERT INTO meta VALUES ('schema', '99')")
    connection.commit()
    connection.close()
    before = digest(bad)
    with pytest.raises(ValueError, match="schema version 99"):
        Ledger.open(bad)
    assert digest(bad) == before


def test_create_and_open_are_distinct(tmp_path: Path) -> None:
    # Issue 12: open() never creates, create() never opens an existing file.
    path = tmp_path / "book.sqlite"
    with pytest.raises(ValueError, match=r"path: no ledger file .*book.sqlite.*Ledger.create"):
        Ledger.open(path)
    assert list(tmp_path.iterdir()) == []  # nothing created
    with pytest.raises(ValueError, match="kind must be one of"):
        Ledger.create(path, {"brokerage": "401k"})
    assert list(tmp_path.iterdir()) == []  # a refused create leaves no file
    with Ledger.create(path, {"brokerage": "taxable"}) as led:
        led.buy("2024-01-02", "VOO", 10, 50)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.sqlite"]
    before = digest(path)
    with pytest.raises(ValueError, match=r"path: .*book.sqlite' already exists.*Ledger.open"):
        Ledger.create(path, {"brokerage": "taxable"})
    assert digest(path) == before
    with Ledger.open(path) as again:
        assert again.accounts == {"brokerage": "taxable"}
        assert len(again.events()) == 1
        assert again.path == str(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


def _sqlite_app(path: Path, wal: bool) -> None:
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.execute("INSERT INTO users VALUES ('ann')")
    connection.commit()
    connection.close()


@pytest.mark.parametrize("content", ["sqlite", "sqlite-wal", "text", "empty", "meta-only"])
def test_open_refuses_a_file_that_is_not_a_ledger_and_leaves_it_alone(
    tmp_path: Path, content: str
) -> None:
    # Issue 12: opening app.db used to add the ledger's tables and switch it to WAL.
    path = tmp_path / "app.db"
    if content.startswith("sqlite"):
        _sqlite_app(path, wal=content == "sqlite-wal")
    elif content == "text":
        path.write_text("name,shares\nVOO,10\n")
    elif content == "empty":
        path.write_bytes(b"")
    else:  # a SQLite file with a meta table but not the rest of a ledger
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES ('schema', '1')")
        connection.commit()
        connection.close()
    before = digest(path)
    with pytest.raises(ValueError, match=r"path: .*app.db' is not a (ledger|SQLite)"):
        Ledger.open(path)
    with pytest.raises(ValueError, match="already exists"):
        Ledger.create(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_bad_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"path: .* is not a ledger file"):
        Ledger.open(tmp_path)
    with pytest.raises(ValueError, match=r"path: the folder of .* does not exist"):
        Ledger.create(tmp_path / "missing" / "book.sqlite")
    with pytest.raises(ValueError, match="path: ':memory:' is not a file path"):
        Ledger.create(":memory:")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("workers", [2, 8])
def test_concurrent_creation_has_one_winner(tmp_path: Path, workers: int) -> None:
    # Issue 12: two creators of one file used to surface "database is locked".
    path = tmp_path / "book.sqlite"
    start = threading.Barrier(workers)
    outcomes: list[object] = []

    def create() -> None:
        start.wait()
        try:
            Ledger.create(path, {"joint": "taxable", "ira": "ira"}).close()
            outcomes.append("created")
        except Exception as exc:  # every outcome is checked below
            outcomes.append(exc)

    threads = [threading.Thread(target=create) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 1
    errors = [o for o in outcomes if o != "created"]
    assert len(errors) == workers - 1
    for error in errors:
        assert isinstance(error, ValueError) and "already exists" in str(error), repr(error)
    with Ledger.open(path) as led:
        assert led.accounts == {"joint": "taxable", "ira": "ira"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.sqlite"]


def _create_in_a_process(path: str, start: Any, outcomes: Any) -> None:
    """Worker of the multiprocessing test: create ``path`` once all workers are ready."""
    start.wait()
    try:
        Ledger.create(path, {"joint": "taxable"}).close()
        outcomes.put("created")
    except Exception as exc:  # every outcome is checked by the parent
        outcomes.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_creation_by_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    path = str(tmp_path / "book.sqlite")
    start = context.Barrier(3)
    outcomes = context.Queue()
    workers = [
        context.Process(target=_create_in_a_process, args=(path, start, outcomes)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    results = [outcomes.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
    assert results.count("created") == 1, results
    for result in results:
        assert result == "created" or result.startswith("ValueError: path: "), result
    with Ledger.open(path) as led:
        assert led.accounts == {"joint": "taxable"}


def _readme_tax_example() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Taxes") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_readme_tax_example_runs_twice(tmp_path: Path) -> None:
    # Issue 12: a second run must neither fail nor record the same trades again.
    code = _readme_tax_example() + textwrap.dedent(
        """
        print(len(ledger.events()), len(ledger.lots()))
        ledger.close()
        """
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.split()[0] == "3"  # two buys and a sale, once


class Crash(Exception):
    pass


def crash_after(monkeypatch: pytest.MonkeyPatch, writes: int, stage: str = "event") -> None:
    """Make the store raise after ``writes`` writes of ``stage`` inside one transaction."""
    count = {"n": 0}

    def checkpoint(at: str) -> None:
        if at == stage:
            count["n"] += 1
            if count["n"] >= writes:
                raise Crash(f"simulated crash after {writes} {stage} write(s)")

    monkeypatch.setattr(store_module, "_checkpoint", checkpoint)


@pytest.mark.parametrize(
    ("writes", "stage"), [(1, "event"), (2, "event"), (1, "revision"), (1, "begin"), (1, "account")]
)
def test_a_crash_inside_a_transaction_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: int, stage: str
) -> None:
    path = tmp_path / "ledger.db"
    led = make(path)
    fill(led)
    before = snapshot(led)
    crash_after(monkeypatch, writes, stage)
    with pytest.raises(Crash), led.transaction():
        led.sell("2024-03-01", "VOO", 10, 45, account="taxable")
        led.buy("2024-03-02", "VTI", 5, 27, account="joint")
        led.add_account("roth", "roth")
        led.buy("2024-03-03", "VOO", 5, 46, account="roth")
    assert snapshot(led) == before  # memory unchanged
    monkeypatch.undo()
    with Ledger.open(path) as again:
        assert snapshot(again) == before  # file unchanged
    led.sell("2024-03-01", "VOO", 10, 45, account="taxable")  # the ledger still works
    led.close()
    with Ledger.open(path) as again:
        assert len(again.events()) == len(before["events"]) + 1


def test_a_crash_during_an_applied_harvest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.db"
    led = make(path)
    fill(led)
    before = snapshot(led)
    crash_after(monkeypatch, 1)
    prices = {"VOO": "30", "IVV": "30", "VTI": "20", "SCHB": "10"}
    with pytest.raises(Crash):
        harvest(
            led, prices, "2024-03-20", {"VOO": "SCHB", "IVV": "SCHB"}, account="taxable", apply=True
        )
    assert snapshot(led) == before
    monkeypatch.undo()
    result = harvest(
        led, prices, "2024-03-20", {"VOO": "SCHB", "IVV": "SCHB"}, account="taxable", apply=True
    )
    # Sell IVV, sell VOO, buy SCHB for each primary.
    assert result.applied and len(result.trades) == 4
    led.close()
    with Ledger.open(path) as again:
        assert snapshot(again) == snapshot(led)


def test_killed_process_loses_nothing(tmp_path: Path) -> None:
    """A process killed in the middle of a transaction leaves the committed history intact."""
    path = tmp_path / "ledger.db"
    script = textwrap.dedent(
        f"""
        import os
        import rebalancing.tax.store as store
        from rebalancing.tax import Ledger

        led = Ledger.create({str(path)!r}, {{"taxable": "taxable", "joint": "taxable"}})
        led.buy("2024-01-02", "VOO", 100, 50, account="taxable")
        led.sell("2024-02-01", "VOO", 30, 40, account="taxable")
        writes = []

        def die(stage):
            if stage == "event":
                writes.append(stage)
                if len(writes) == 2:
                    os._exit(17)  # no rollback, no close: like a kill

        store._checkpoint = die
        with led.transaction():
            led.buy("2024-02-05", "VOO", 10, 41, account="taxable")
            led.buy("2024-02-06", "VOO", 10, 42, account="joint")
            led.sell("2024-02-07", "VOO", 5, 43, account="taxable")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 17, done.stderr.decode()
    expected = Ledger(["taxable", "joint"])
    expected.buy("2024-01-02", "VOO", 100, 50, account="taxable")
    expected.sell("2024-02-01", "VOO", 30, 40, account="taxable")
    with Ledger.open(path) as led:
        assert snapshot(led) == snapshot(expected)
        led.buy("2024-02-05", "VOO", 10, 41, account="taxable")
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("SELECT COUNT(*) FROM events").fetchone() == (3,)
    connection.close()


def test_a_second_writer_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = make(path)
    second = Ledger.open(path)
    first.buy("2024-01-02", "VOO", 10, 50, account="taxable")
    before = snapshot(second)
    with pytest.raises(RuntimeError, match="changed by another connection"):
        second.buy("2024-01-03", "VOO", 10, 50, account="taxable")
    assert snapshot(second) == before
    first.close()
    second.close()
    with Ledger.open(path) as again:
        assert len(again.events()) == 1


def test_a_closed_ledger_refuses_writes(tmp_path: Path) -> None:
    led = make(tmp_path / "ledger.db")
    led.buy("2024-01-02", "VOO", 10, 50, account="taxable")
    led.close()
    led.close()
    before = snapshot(led)
    with pytest.raises(ValueError, match="closed"):
        led.buy("2024-01-03", "VOO", 10, 50, account="taxable")
    assert snapshot(led) == before
    assert Ledger().path is None
