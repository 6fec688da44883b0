"""Ledger API: inputs, accounts, atomicity, views, blocks and redirects, Form 8949."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from _tax import D, check_invariants, day, snapshot
from rebalancing.tax import SHARE_QUANTUM, Ledger


def test_amounts_are_exact_decimals_and_floats_are_refused() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", "0.1", "0.2")
    led.buy(dt.date(2024, 1, 3), "VOO", D("0.2"), np.int64(3))
    led.buy(pd.Timestamp("2024-01-04"), "VOO", 3, "1e1")
    led.buy(np.datetime64("2024-01-05"), "VOO", 1, 0)  # a free share
    lots = led.lots()
    assert lots.basis.tolist() == [D("0.02"), D("0.6"), D(30), D(0)]
    assert lots.original.tolist() == [day(f"2024-01-0{i}") for i in (2, 3, 4, 5)]
    assert all(isinstance(x, Decimal) for x in lots.shares)
    sale = led.sell("2024-02-01", "VOO", "0.3", "0.3")
    assert sale.proceeds == D("0.09")
    # FIFO: 0.1 of lot 1 (cost 0.02) and 0.2 of lot 2 (cost 0.6) at 0.3.
    assert led.realized().gain.tolist() == [D("0.01"), D("-0.54")]
    before = snapshot(led)
    for bad in (0.1, np.float64(1.0)):
        with pytest.raises(TypeError, match=r"shares must be a Decimal, int or str, got float"):
            led.buy("2024-02-02", "VOO", bad, 1)
    for bad_price, error in (
        (True, TypeError),
        ("ten", ValueError),
        ("NaN", ValueError),
        ("Infinity", ValueError),
        (None, TypeError),
    ):
        with pytest.raises(error, match="price"):
            led.buy("2024-02-02", "VOO", 1, bad_price)
    assert snapshot(led) == before


def test_accounts() -> None:
    led = Ledger({"taxable": "taxable", "roth": "roth", "joint": "taxable", "ira": "ira"})
    assert led.accounts == {"taxable": "taxable", "roth": "roth", "joint": "taxable", "ira": "ira"}
    assert Ledger(["joint"]).accounts == {"joint": "taxable"}
    assert Ledger().accounts == {"taxable": "taxable"}  # the documented default
    led.add_account("hsa", "ira")
    with pytest.raises(ValueError, match="name: account 'hsa' already exists"):
        led.add_account("hsa")
    with pytest.raises(ValueError, match="kind must be one of"):
        led.add_account("x", "401k")
    with pytest.raises(ValueError, match="account: unknown account 'brokerage'"):
        led.buy("2024-01-02", "VOO", 1, 1, account="brokerage")
    with pytest.raises(ValueError, match="accounts: at least one account"):
        Ledger({})
    with pytest.raises(ValueError, match="kind must be one of"):
        Ledger({"joint": "401k"})
    with pytest.raises(TypeError, match="accounts"):
        Ledger("joint")
    with pytest.raises(ValueError, match="identical must name at least two"):
        Ledger(identical=[{"VOO"}])
    with pytest.raises(TypeError, match="identical must be an iterable"):
        Ledger(identical="VOO")
    assert "events=0" in repr(led)


def test_accounts_are_exactly_those_declared() -> None:
    # Issue 12: no hidden "taxable" account next to the declared ones.
    led = Ledger(accounts={"brokerage": "taxable"})
    assert led.accounts == {"brokerage": "taxable"}
    assert led.account_kind("brokerage") == "taxable"
    bought = led.buy("2024-01-02", "VOO", 10, 50)  # the only account is the default
    assert bought.account == "brokerage"
    sold = led.sell("2024-02-01", "VOO", 4, 45)
    assert sold.account == "brokerage"
    assert led.lots().account.tolist() == ["brokerage"]
    with pytest.raises(ValueError, match="account: unknown account 'taxable'"):
        led.buy("2024-01-02", "VOO", 1, 1, account="taxable")
    with pytest.raises(ValueError, match="account: unknown account 'nope'"):
        led.account_kind("nope")


def test_several_accounts_need_the_account_argument() -> None:
    led = Ledger({"joint": "taxable", "ira": "ira"})
    before = snapshot(led)
    for call in (
        lambda: led.buy("2024-01-02", "VOO", 1, 1),
        lambda: led.reinvest("2024-01-02", "VOO", 1, 1),
        lambda: led.deposit("2024-01-02", "VOO", 1, 1),
        lambda: led.sell("2024-01-02", "VOO", 1, 1),
    ):
        with pytest.raises(ValueError, match=r"account: .*'ira', 'joint'") as err:
            call()
        assert "account=" in str(err.value)
    assert snapshot(led) == before
    led.buy("2024-01-02", "VOO", 1, 1, account="joint")
    assert led.lots().account.tolist() == ["joint"]


def test_transaction_is_all_or_nothing() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    before = snapshot(led)
    with pytest.raises(ValueError, match="only 50 held"), led.transaction():
        led.sell("2024-02-01", "VOO", 60, 40)
        led.buy("2024-02-02", "VOO", 10, 41)
        led.add_account("joint")
        led.declare_identical({"VOO", "IVV"})
        led.sell("2024-02-03", "VOO", 60, 40, account="taxable")  # 50 left: fails, all undone
    assert snapshot(led) == before
    assert led.identical == []
    with led.transaction():
        led.sell("2024-02-01", "VOO", 60, 40)
        with led.transaction():  # nested blocks join the outer one
            led.buy("2024-02-02", "VOO", 10, 41)
    assert len(led.events()) == 3
    check_invariants(led)


def test_a_failed_operation_inside_a_transaction_can_be_caught() -> None:
    led = Ledger()
    with led.transaction():
        led.buy("2024-01-02", "VOO", 100, 50)
        with pytest.raises(ValueError):
            led.sell("2024-02-01", "VOO", 200, 40)
        led.sell("2024-02-01", "VOO", 100, 40)
    assert len(led.events()) == 2 and led.lots().empty


def test_views() -> None:
    led = Ledger({"taxable": "taxable", "ira": "ira"}, identical=[{"VOO", "IVV"}])
    led.buy("2024-01-02", "VOO", 3, 100, account="taxable")
    led.buy("2024-01-02", "IVV", 2, 50, account="ira")
    led.buy("2024-01-02", "VTI", 1, 10, account="taxable")
    lots = led.lots()
    assert list(lots.columns) == [
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
    assert lots[["account", "ticker"]].values.tolist() == [
        ["ira", "IVV"],
        ["taxable", "VOO"],
        ["taxable", "VTI"],
    ]
    assert led.lots("VOO").lot_id.tolist() == ["1"]
    assert led.lots(account="ira").lot_id.tolist() == ["2"]
    assert led.lots("VOO", account="ira").empty
    assert led.lots("XYZ").empty
    led.buy("2024-01-03", "VOO", 3, 101, account="taxable")
    led.sell("2024-01-04", "VOO", 1, 102, method="hifo", account="taxable")  # a gain: no wash sale
    per_share = led.lots("VOO").basis_per_share.tolist()
    assert per_share == [D(100), D(101)]
    led.buy("2024-01-05", "VTI", 3, "3.3333333", account="taxable")
    led.sell("2024-01-06", "VTI", 1, 10, account="taxable")
    assert led.lots("VTI").basis_per_share.iloc[0] == D("3.3333333")
    realized = led.realized()
    assert realized.columns[0] == "sale" and realized.term.tolist() == ["short", "short"]
    events = led.events()
    assert events.kind.tolist() == ["buy"] * 4 + ["sell", "buy", "sell"]
    assert events.method.tolist()[4] == "hifo"
    assert led.wash_sales().empty
    check_invariants(led)


def test_blocks_and_can_buy() -> None:
    led = Ledger(identical=[{"VOO", "IVV"}])
    led.buy("2024-01-02", "VOO", 10, 50)
    led.sell("2024-03-01", "VOO", 5, 40)
    assert led.can_buy("VOO", "2024-02-29")  # before the sale (see the docstring)
    for d in ("2024-03-01", "2024-03-15", "2024-03-31"):
        assert not led.can_buy("IVV", d)
    assert led.can_buy("VOO", "2024-04-01")  # sale date + 31
    block = led.block("IVV", "2024-03-20")
    assert block is not None
    assert (block.tickers, block.sale_date, block.until) == (
        ("IVV", "VOO"),
        day("2024-03-01"),
        day("2024-03-31"),
    )
    assert led.blocks("2024-03-20").until.tolist() == [day("2024-03-31")]
    assert led.blocks("2024-04-20").empty
    led.sell("2024-03-10", "VOO", 5, 60)  # a gain blocks nothing
    assert len(led.blocks()) == 1
    assert led.can_buy("XYZ", "2024-03-20")


def test_reinvestments_and_deposits_during_a_block_go_to_the_substitute() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 10, 50)
    led.sell("2024-03-01", "VOO", 10, 40)
    before = snapshot(led)
    # No harvest recorded a substitute: the caller must name one, and its price.
    with pytest.raises(ValueError, match="substitute: VOO is blocked through 2024-03-31"):
        led.reinvest("2024-03-05", "VOO", 2, 41)
    with pytest.raises(ValueError, match="substitute_price: VOO is blocked"):
        led.reinvest("2024-03-05", "VOO", 2, 41, substitute="VTI")
    with pytest.raises(ValueError, match="substitute: VOO is substantially identical to VOO"):
        led.reinvest("2024-03-05", "VOO", 2, 41, substitute="VOO", substitute_price=1)
    assert snapshot(led) == before
    # 2 × 41 = 82 of cash buys 82 / 30 = 2.733333 VTI (rounded down), 0.00001 left.
    got = led.reinvest("2024-03-05", "VOO", 2, 41, substitute="VTI", substitute_price=30)
    assert (got.ticker, got.shares, got.price, got.redirected_from) == (
        "VTI",
        D("2.733333"),
        D(30),
        "VOO",
    )
    assert got.cash_left == D(82) - D("2.733333") * 30 == D("0.00001")
    assert got.shares % SHARE_QUANTUM == 0
    dep = led.deposit("2024-03-06", "VOO", 1, 40, substitute="VTI", substitute_price=40)
    assert (dep.ticker, dep.shares, dep.kind) == ("VTI", D(1), "deposit")
    lots = led.lots().set_index("lot_id")
    assert lots.loc["3", "primary"] == "VOO" and lots.loc["3", "ticker"] == "VTI"
    events = led.events()
    assert events.tag.tolist()[-2:] == ["redirect", "redirect"]
    # Nothing was acquired in VOO: the loss stays allowed.
    assert led.realized().wash_disallowed.tolist() == [D(0)]
    # After the block, reinvestments go to the ticker itself (substitute arguments ignored).
    got = led.reinvest("2024-04-01", "VOO", 1, 45, substitute="VTI", substitute_price=30)
    assert (got.ticker, got.redirected_from) == ("VOO", None)
    # An explicit buy during a block is recorded as it is (and washes).
    led.buy("2024-03-07", "VOO", 1, 41)
    assert led.realized().wash_disallowed.tolist() == [D(10)]
    check_invariants(led)


def test_form_8949() -> None:
    led = Ledger({"taxable": "taxable", "ira": "ira"})
    led.buy("2022-01-03", "VOO", "12.5", "100.004", account="taxable")  # basis 1250.05
    led.buy("2024-01-02", "VOO", 10, 50, account="taxable")
    led.sell("2024-03-01", "VOO", "22.5", "40.005", account="taxable")
    led.buy(
        "2024-03-05", "VOO", 4, 41, account="taxable"
    )  # washes 4 shares of the first lot's loss
    led.buy("2024-01-02", "VOO", 1, 1, account="ira")
    led.sell("2024-03-02", "VOO", 1, 2, account="ira")  # IRA sales are not reported
    form = led.form_8949()
    # Lot 1 (LT): proceeds 12.5 × 40.005 = 500.0625 → 500.06, basis 1250.05, loss per share
    # (1250.05 − 500.0625)/12.5 = 59.999, 4 shares washed: 239.996 → 240.00.
    # Lot 2 (ST): proceeds 400.05, basis 500, loss 99.95 allowed (the buy went to lot 1).
    assert form.to_dict("list") == {
        "part": ["I", "II"],
        "description": ["10 sh VOO", "12.5 sh VOO"],
        "date_acquired": [day("2024-01-02"), day("2022-01-03")],
        "date_sold": [day("2024-03-01"), day("2024-03-01")],
        "proceeds": [D("400.05"), D("500.06")],
        "cost_basis": [D("500.00"), D("1250.05")],
        "code": ["", "W"],
        "adjustment": [D("0.00"), D("240.00")],
        "gain_or_loss": [D("-99.95"), D("-509.99")],
        "account": ["taxable", "taxable"],
        "ticker": ["VOO", "VOO"],
        "shares": [D(10), D("12.5")],
    }
    buffer = io.StringIO()
    led.to_form_8949(buffer)
    text = buffer.getvalue().splitlines()
    assert text[0].startswith("part,description,date_acquired,date_sold,proceeds,cost_basis")
    assert text[2].startswith(
        "II,12.5 sh VOO,2022-01-03,2024-03-01,500.06,1250.05,W,240.00,-509.99"
    )
    assert led.form_8949(year=2023).empty and len(led.form_8949(year=2024)) == 2
    with pytest.raises(TypeError, match="year must be an int"):
        led.form_8949(year="2024")  # type: ignore[arg-type]
    check_invariants(led)


def test_a_refused_later_dated_event_inside_a_transaction_changes_nothing() -> None:
    # Inside one transaction the ledger extends its states in place; an event refused after
    # the previous date was closed must leave the group meaning what it meant before it: the
    # day stays open, so a later same-day loss still gets first claim by acquisition order.
    led = Ledger()
    reference = Ledger()
    for target in (led, reference):
        target.buy("2024-01-02", "VOO", 10, 50)  # lot 1
        target.buy("2024-01-10", "VOO", 10, 50)  # lot 2
        target.buy("2024-01-25", "VOO", 10, 45)  # lot 3: replacement candidate
    with led.transaction():
        led.sell("2024-02-01", "VOO", 10, 40, method="spec_id", lots={"2": 10})  # loss 100
        with pytest.raises(ValueError, match="only 20 held"):
            led.sell("2024-02-05", "VOO", 21, 40)
        led.sell("2024-02-01", "VOO", 10, 40, method="spec_id", lots={"1": 10})  # loss 100
    reference.sell("2024-02-01", "VOO", 10, 40, method="spec_id", lots={"2": 10})
    reference.sell("2024-02-01", "VOO", 10, 40, method="spec_id", lots={"1": 10})
    assert snapshot(led) == snapshot(reference)
    # Same-day losses in original acquisition order: lot 1's loss takes lot 3's 10 shares.
    disallowed = dict(zip(led.realized().lot_id, led.realized().wash_disallowed, strict=True))
    assert disallowed == {"1": D(100), "2": D(0)}
    check_invariants(led)


def test_read_only_queries() -> None:
    # Issue 12: the public queries harvesting and rebalancing use instead of private members.
    led = Ledger({"joint": "taxable", "ira": "ira"}, identical=[{"VOO", "IVV"}])
    assert led.latest_date is None and led.holdings() == [] and led.open_lots() == ()
    led.buy("2024-01-02", "VOO", 10, 50, account="joint")  # lot 1
    led.buy("2024-01-20", "IVV", 5, 48, account="ira")  # lot 2
    led.buy("2024-02-10", "VTI", 3, 20, account="joint")  # lot 3
    sale = led.sell("2024-02-01", "VOO", 4, 40, account="joint")  # loss 40, lot 2 replaces it
    assert led.latest_date == day("2024-02-10")
    assert led.substantially_identical("IVV") == frozenset({"IVV", "VOO"})
    assert led.substantially_identical("VTI") == frozenset({"VTI"})
    # Lot 2's 4 shares absorbed the loss (IRA: lost for good, no basis or date change) and
    # were split off as "2.1"; its other share stays "2".
    lots = led.open_lots()
    assert [(lot.lot_id, lot.shares) for lot in lots] == [
        ("1", D(6)),
        ("2", D(1)),
        ("2.1", D(4)),
        ("3", D(3)),
    ]
    assert [lot.lot_id for lot in led.open_lots(account="joint", ticker="VOO")] == ["1"]
    kept, replaced = led.open_lots(account="ira")
    assert replaced.replacement and not kept.replacement
    with pytest.raises(AttributeError):
        kept.shares = D(1)  # type: ignore[misc]  # records are immutable
    # Of the IVV bought 2024-01-20 (within 30 days of a sale of VOO on 2024-02-15), only the
    # share that has not absorbed a loss can still wash one.
    recent = led.recent_purchases("VOO", "2024-02-15")
    assert [(lot.lot_id, lot.shares) for lot in recent] == [("2", D(1))]
    assert led.recent_purchases("VOO", "2024-02-15", account="joint") == ()
    assert led.recent_purchases("XYZ", "2024-02-15") == ()
    (voo,) = [h for h in led.holdings() if "VOO" in h.tickers]
    assert voo.tickers == ("IVV", "VOO") and set(voo.accounts) == {"joint", "ira"}
    assert voo.max_cost_per_share()["joint"] == 50.0
    assert led.holding("XYZ") is None
    (piece,) = led.sale_pieces([sale])
    assert (piece.lot_id, piece.disallowed) == ("1", D(40))
    with pytest.raises(ValueError, match="as_of: "):
        led.open_lots(as_of="2024-02-01")  # before the latest trade date
    with pytest.raises(ValueError, match="account: unknown account 'x'"):
        led.open_lots(account="x")
    trial = led.copy()
    trial.sell("2024-02-12", "VTI", 3, 19, account="joint")
    assert trial.path is None and len(trial.events()) == 5 and len(led.events()) == 4
