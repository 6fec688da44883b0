"""A year of daily tax-loss harvesting over 500 tickers and 10 taxable accounts.

Run (the figure in RESULTS.md comes from exactly this)::

    pytest benchmarks/test_bench_tax.py --benchmark-only

Setup (not timed): 500 tickers with synthetic random-walk prices (daily log-returns N(0, 1.5 %),
prices rounded to cents, as ``Decimal``); 10 taxable accounts each buy every ticker three times
over the 60 trading days before the year (15 000 lots). Substitutes pair ticker *i* with
*i* + 250 (then *i* + 251).

Timed: 252 trading days; each day one :func:`~rebalancing.tax.harvesting` over all accounts
(``min_loss_usd=50``, ``min_loss_pct=5 %``, ``apply=True``) and one
:func:`~rebalancing.tax.swap_back` (``apply=True``). ``extra_info`` records the trades and events
of the year. A second case times reopening the resulting ledger from SQLite (replaying every
event) and reading its realized sales.

Two hot-path cases (issue 12) check that the ledger's cost grows near-linearly:

* ``test_buys_in_one_transaction`` — 10,000 buys of one ticker, each on the next calendar day,
  recorded inside one ``with ledger.transaction():`` block (an in-memory ledger);
* ``test_wash_matching`` — 10,000 one-share lots sold at a loss in one sale (10,000 loss
  pieces), then 10,000 one-share replacements bought five days later; timed: settling that
  day's wash-sale matching (``wash_sales()``, which settles the open trade date).

Each records ``peak_mib``: the tracemalloc peak of one extra, untimed run.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rebalancing.tax import Ledger, harvest, swap_back

__all__: list[str] = []

N_TICKERS = 500
N_ACCOUNTS = 10
N_DAYS = 252
WARMUP = 60


@functools.lru_cache(maxsize=1)
def _market() -> tuple[list[str], list[dt.date], list[dict[str, Decimal]], dict[str, list[str]]]:
    rng = np.random.default_rng(2024)
    tickers = [f"T{i:03d}" for i in range(N_TICKERS)]
    half = N_TICKERS // 2
    substitutes = {
        t: [tickers[(i + half) % N_TICKERS], tickers[(i + half + 1) % N_TICKERS]]
        for i, t in enumerate(tickers)
    }
    days = []
    d = dt.date(2022, 10, 3)
    while len(days) < WARMUP + N_DAYS:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    log_prices = np.log(100.0) + np.cumsum(
        rng.normal(0.0, 0.015, size=(len(days), N_TICKERS)), axis=0
    )
    prices = [
        {t: Decimal(f"{p:.2f}") for t, p in zip(tickers, np.exp(row), strict=True)}
        for row in log_prices
    ]
    return tickers, days, prices, substitutes


def _build(path: Path | None = None) -> Ledger:
    tickers, days, prices, _ = _market()
    rng = np.random.default_rng(7)
    accounts = {f"acct{j}": "taxable" for j in range(N_ACCOUNTS)}
    led = Ledger(accounts) if path is None else Ledger.create(path, accounts)
    with led.transaction():
        for k in (0, WARMUP // 3, 2 * WARMUP // 3):
            for account in accounts:
                for t in tickers:
                    led.buy(days[k], t, int(rng.integers(1, 100)), prices[k][t], account=account)
    return led


def _year(led: Ledger) -> dict[str, int]:
    _, days, prices, substitutes = _market()
    trades = 0
    for k in range(WARMUP, WARMUP + N_DAYS):
        h = harvest(
            led,
            prices[k],
            days[k],
            substitutes,
            min_loss_usd=50,
            min_loss_pct="0.05",
            account=None,
            apply=True,
        )
        s = swap_back(led, prices[k], days[k], account=None, apply=True)
        trades += len(h.trades) + len(s.trades)
    return {"trades": trades, "events": len(led.events())}


def test_year_of_daily_harvesting(benchmark: Any) -> None:
    info: dict[str, int] = {}

    def run(led: Ledger) -> None:
        info.update(_year(led))

    benchmark.pedantic(run, setup=lambda: ((_build(),), {}), rounds=3, iterations=1)
    benchmark.extra_info.update(
        info,
        tickers=N_TICKERS,
        accounts=N_ACCOUNTS,
        days=N_DAYS,
        initial_lots=3 * N_TICKERS * N_ACCOUNTS,
    )
    assert info["trades"] > 0


@pytest.fixture(scope="module")
def stored_year() -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        led = _build(path)
        with led.transaction():  # one commit for the whole year keeps the setup short
            events = _year(led)["events"]
        led.close()
        yield path, events


def test_reopen_and_report(benchmark: Any, stored_year: Any) -> None:
    path, events = stored_year

    def reopen() -> int:
        with Ledger.open(path) as led:
            return len(led.realized())

    pieces = benchmark.pedantic(reopen, rounds=3, iterations=1)
    benchmark.extra_info.update(events=events, realized_pieces=pieces)
    assert pieces > 0


HOT_N = 10_000


def _peak_mib(run: Callable[[], object]) -> float:
    """Peak traced allocation of one call of ``run``, in MiB (tracemalloc, untimed)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _many_buys() -> Ledger:
    led = Ledger()
    start = dt.date(2000, 1, 3)
    with led.transaction():
        for k in range(HOT_N):
            led.buy(start + dt.timedelta(days=k), "AAA", 1, "100")
    return led


def test_buys_in_one_transaction(benchmark: Any) -> None:
    led = benchmark.pedantic(_many_buys, rounds=3, iterations=1)
    benchmark.extra_info.update(buys=HOT_N, peak_mib=round(_peak_mib(_many_buys), 1))
    assert len(led.lots()) == HOT_N


def _losses_and_replacements() -> tuple[tuple[Ledger], dict[str, Any]]:
    led = Ledger()
    bought, sold, replaced = dt.date(2024, 1, 2), dt.date(2024, 3, 1), dt.date(2024, 3, 6)
    with led.transaction():
        for _ in range(HOT_N):
            led.buy(bought, "AAA", 1, "100")
        led.sell(sold, "AAA", HOT_N, "90")
        for _ in range(HOT_N):
            led.buy(replaced, "AAA", 1, "91")
    return (led,), {}


def _match(led: Ledger) -> int:
    return len(led.wash_sales())


def test_wash_matching(benchmark: Any) -> None:
    matches = benchmark.pedantic(_match, setup=_losses_and_replacements, rounds=3, iterations=1)
    (fresh,), _ = _losses_and_replacements()
    benchmark.extra_info.update(
        loss_pieces=HOT_N, replacements=HOT_N, peak_mib=round(_peak_mib(lambda: _match(fresh)), 1)
    )
    assert matches == HOT_N
