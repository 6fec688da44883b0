"""Wash sales (docs/tax_rules.md §2–5), each case computed by hand in its comments.

Notation: A = acquisition date of the sold shares, S = sale date, R = replacement date. The
replacement's adjusted date is R − (S − A) when R ≥ S, and A when R < S.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from _tax import D, check_invariants, day, unlabelled
from rebalancing.tax import Ledger, replacement_date


def realized_rows(led: Ledger) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal]]:
    """(lot, shares, gain, disallowed, permanent) of each realized piece."""
    return [
        (r.lot_id, r.shares, r.gain, r.wash_disallowed, r.permanent_disallowed)
        for r in led.realized().itertuples(index=False)
    ]


def open_lots(led: Ledger) -> dict[str, tuple[Decimal, Decimal, str]]:
    """lot id → (shares, basis, adjusted acquisition date)."""
    return {
        r.lot_id: (r.shares, r.basis, r.acquired.isoformat())
        for r in led.lots().itertuples(index=False)
    }


def loss_then_buy(buy_date: str, account: str = "taxable") -> Ledger:
    """100 @ 50 on 2024-01-02, all sold @ 40 on 2024-03-01 (loss 1000), 100 bought @ 42."""
    led = Ledger({"taxable": "taxable", "ira": "ira", "roth": "roth", "spouse": "taxable"})
    led.buy("2024-01-02", "VOO", 100, 50, account="taxable")
    led.sell("2024-03-01", "VOO", 100, 40, account="taxable")
    led.buy(buy_date, "VOO", 100, 42, account=account)
    check_invariants(led)
    return led


def test_buy_back_on_day_30_is_a_wash_sale() -> None:
    # S = 2024-03-01, S + 30 = 2024-03-31 (March has 31 days): inside the window.
    led = loss_then_buy("2024-03-31")
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(0))]
    # Basis 100 × 42 + 1000 = 5200. S − A = 59 days (Jan 30 + Feb 29), R − 59 days =
    # 2024-03-31 − 59 days = 2024-02-01.
    assert open_lots(led) == {"3": (D(100), D(5200), "2024-02-01")}
    assert not led.can_buy("VOO", "2024-03-31")
    assert led.can_buy("VOO", "2024-04-01")


def test_buy_back_on_day_31_is_not() -> None:
    led = loss_then_buy("2024-04-01")
    assert realized_rows(led) == [("1", D(100), D(-1000), D(0), D(0))]
    assert open_lots(led) == {"3": (D(100), D(4200), "2024-04-01")}
    assert led.form_8949().code.tolist() == [""]


def test_purchase_ten_days_before_the_loss_sale() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)  # lot 1
    led.buy("2024-02-20", "VOO", 100, 45)  # lot 2: 10 days before the sale, still held
    led.sell("2024-03-01", "VOO", 100, 40)  # FIFO: lot 1, loss 1000
    # Lot 2 replaces lot 1: basis 4500 + 1000; R < S so its date becomes A = 2024-01-02.
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(0))]
    assert open_lots(led) == {"2": (D(100), D(5500), "2024-01-02")}
    check_invariants(led)


def test_replacement_bought_before_the_sold_lot_keeps_its_own_date() -> None:
    # Documented choice: max(A, R − (S − A)) would move R = 2024-01-05 later, to A = 01-20.
    led = Ledger()
    led.buy("2024-01-05", "VOO", 100, 50)  # lot 1 (R)
    led.buy("2024-01-20", "VOO", 100, 60)  # lot 2 (A)
    led.sell("2024-02-01", "VOO", 100, 55, method="spec_id", lots={"2": 100})  # loss 500
    assert realized_rows(led) == [("2", D(100), D(-500), D(500), D(0))]
    assert open_lots(led) == {"1": (D(100), D(5500), "2024-01-05")}
    assert replacement_date(day("2024-01-20"), day("2024-02-01"), day("2024-01-05")) == day(
        "2024-01-05"
    )
    assert replacement_date(day("2024-01-02"), day("2024-03-01"), day("2024-02-20")) == day(
        "2024-01-02"
    )
    assert replacement_date(day("2024-01-02"), day("2024-03-01"), day("2024-03-31")) == day(
        "2024-02-01"
    )


def test_partial_replacement() -> None:
    # Sell 100 at a loss of 10/share, buy back 40: 400 disallowed, 600 allowed.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-02-01", "VOO", 100, 40)
    led.buy("2024-02-10", "VOO", 40, 41)
    assert realized_rows(led) == [("1", D(100), D(-1000), D(400), D(0))]
    # 40 × 41 + 400 = 2040; date 2024-02-10 − (30 days) = 2024-01-11.
    assert open_lots(led) == {"3": (D(40), D(2040), "2024-01-11")}
    form = led.form_8949()
    assert form[["code", "adjustment", "gain_or_loss"]].values.tolist() == [
        ["W", D("400.00"), D("-600.00")]
    ]
    check_invariants(led)


def test_more_shares_bought_than_sold() -> None:
    # 100 sold at a loss of 10/share, 150 bought back: 100 of them are split off as "3.1"
    # with basis 100 × 41 + 1000 = 5100; the other 50 keep lot id "3", cost and date.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-02-01", "VOO", 100, 40)
    led.buy("2024-02-10", "VOO", 150, 41)
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(0))]
    assert open_lots(led) == {
        "3.1": (D(100), D(5100), "2024-01-11"),
        "3": (D(50), D(2050), "2024-02-10"),
    }
    lots = led.lots().set_index("lot_id")
    assert lots.loc["3.1", "replacement"] and not lots.loc["3", "replacement"]
    check_invariants(led)


def test_a_gain_is_never_washed() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-02-01", "VOO", 100, 60)
    led.buy("2024-02-02", "VOO", 100, 59)
    assert realized_rows(led) == [("1", D(100), D(1000), D(0), D(0))]
    assert open_lots(led) == {"3": (D(100), D(5900), "2024-02-02")}
    assert led.can_buy("VOO", "2024-02-02")


def test_same_day_blocks_are_not_netted() -> None:
    # Lot 1 (100 @ 50) and lot 2 (100 @ 30) sold together @ 40: −1000 and +1000. A buy-back of
    # 100 washes lot 1's loss only; the gain stays taxable (Pub. 550: no netting).
    led = Ledger()
    led.buy("2023-01-03", "VOO", 100, 50)
    led.buy("2023-06-01", "VOO", 100, 30)
    led.sell("2024-03-01", "VOO", 200, 40)
    led.buy("2024-03-05", "VOO", 100, 41)
    assert realized_rows(led) == [
        ("1", D(100), D(-1000), D(1000), D(0)),
        ("2", D(100), D(1000), D(0), D(0)),
    ]
    assert led.realized().reported_gain.sum() == D(1000)
    # Lot 1 held 2023-01-03 → 2024-03-01 (423 days), so the replacement's holding period
    # starts 2024-03-05 − 423 days = 2023-01-07: long-term already.
    assert open_lots(led) == {"4": (D(100), D(5100), "2023-01-07")}
    check_invariants(led)


def test_same_day_losses_are_matched_in_original_acquisition_order() -> None:
    # Two sell orders on one day; the second sells the older lot. A later buy of 100 is
    # matched with the older lot's loss (Reg. 1.1091-1(b)), whatever the order of the orders.
    led = Ledger()
    led.buy("2023-01-03", "VOO", 100, 50)  # lot 1: loss 10/share at 40
    led.buy("2023-06-01", "VOO", 100, 60)  # lot 2: loss 20/share at 40
    led.sell("2024-03-01", "VOO", 100, 40, method="spec_id", lots={"2": 100})
    led.sell("2024-03-01", "VOO", 100, 40, method="spec_id", lots={"1": 100})
    led.buy("2024-03-10", "VOO", 100, 41)
    assert realized_rows(led) == [
        ("2", D(100), D(-2000), D(0), D(0)),
        ("1", D(100), D(-1000), D(1000), D(0)),
    ]
    # 4100 + 1000; A = 2023-01-03, S − A = 423 days, R − 423 days = 2023-01-12.
    assert open_lots(led) == {"5": (D(100), D(5100), "2023-01-12")}
    # Within one LIFO order too: lot 2 is relieved first, lot 1 still matched first.
    led = Ledger()
    led.buy("2023-01-03", "VOO", 100, 50)
    led.buy("2023-06-01", "VOO", 100, 60)
    led.sell("2024-03-01", "VOO", 200, 40, method="lifo")
    led.buy("2024-03-10", "VOO", 100, 41)
    assert realized_rows(led) == [
        ("2", D(100), D(-2000), D(0), D(0)),
        ("1", D(100), D(-1000), D(1000), D(0)),
    ]
    check_invariants(led)


def test_replacements_are_matched_earliest_first_and_absorb_one_loss() -> None:
    # Two loss sales (Feb 1: 100 sh, loss 5/sh; Feb 5: 100 sh, loss 8/sh), then two buys of 60.
    # Losses by sale date: Feb 1 takes the Feb 10 buy (60) and 40 of the Feb 12 buy; Feb 5
    # takes the remaining 20. Each replacement share absorbs one loss only.
    led = Ledger()
    led.buy("2023-01-03", "VOO", 100, 45)  # lot 1
    led.buy("2023-02-01", "VOO", 100, 48)  # lot 2
    led.sell("2024-02-01", "VOO", 100, 40)  # lot 1: loss 500
    led.sell("2024-02-05", "VOO", 100, 40)  # lot 2: loss 800
    led.buy("2024-02-10", "VOO", 60, 41)  # lot 5
    led.buy("2024-02-12", "VOO", 60, 42)  # lot 6
    assert realized_rows(led) == [
        ("1", D(100), D(-500), D(500), D(0)),  # 60 × 5 + 40 × 5
        ("2", D(100), D(-800), D(160), D(0)),  # 20 × 8
    ]
    assert open_lots(led) == {
        "5": (D(60), D(60 * 41 + 300), "2023-01-12"),  # A + (R − S) = 2023-01-03 + 9 days
        "6.1": (D(40), D(40 * 42 + 200), "2023-01-14"),  # A + 11 days
        "6": (D(20), D(20 * 42 + 160), "2023-02-08"),  # 2023-02-01 + 7 days; whole rest
    }
    check_invariants(led)


def test_the_rest_of_the_sold_lot_is_not_a_replacement() -> None:
    # 100 bought on Jan 2; 50 of them sold at a loss on Jan 20. The other 50 were acquired
    # within the window but came from the lot being sold: the loss is allowed.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-01-20", "VOO", 50, 45)
    assert realized_rows(led) == [("1", D(50), D(-250), D(0), D(0))]
    # Another purchase within the window is a replacement.
    led.buy("2024-01-10", "VOO", 50, 47)  # recorded late, dated before the sale
    assert realized_rows(led) == [("1", D(50), D(-250), D(250), D(0))]
    check_invariants(led)


def test_ira_purchase_disallows_the_loss_for_good() -> None:
    led = loss_then_buy("2024-03-15", account="ira")
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(1000))]
    row = led.realized().iloc[0]
    assert row.permanent and row.reported_gain == 0
    # No basis added anywhere: the IRA lot keeps its cost and date.
    assert open_lots(led) == {"3": (D(100), D(4200), "2024-03-15")}
    assert led.lots().adjustment.sum() == 0
    assert led.wash_sales().permanent.tolist() == [True]
    assert led.form_8949()[["code", "adjustment", "gain_or_loss"]].values.tolist() == [
        ["W", D("1000.00"), D("0.00")]
    ]
    roth = loss_then_buy("2024-03-15", account="roth")
    assert realized_rows(roth) == [("1", D(100), D(-1000), D(1000), D(1000))]


def test_taxable_and_ira_replacements_split_the_loss() -> None:
    # 100 sold at a loss of 10/share; 30 bought in the spouse's taxable account, then 50 in
    # the IRA: 300 deferred into the spouse's lot, 500 lost for good, 200 allowed.
    led = Ledger({"taxable": "taxable", "ira": "ira", "spouse": "taxable"})
    led.buy("2024-01-02", "VOO", 100, 50, account="taxable")
    led.sell("2024-02-01", "VOO", 100, 40, account="taxable")
    led.buy("2024-02-05", "VOO", 30, 41, account="spouse")
    led.buy("2024-02-06", "VOO", 50, 42, account="ira")
    assert realized_rows(led) == [("1", D(100), D(-1000), D(800), D(500))]
    assert open_lots(led) == {
        "4": (D(50), D(2100), "2024-02-06"),
        "3": (D(30), D(1530), "2024-01-06"),
    }
    check_invariants(led)


def test_sales_in_an_ira_are_not_wash_tested() -> None:
    led = Ledger({"taxable": "taxable", "ira": "ira"})
    led.buy("2024-01-02", "VOO", 100, 50, account="ira")
    led.sell("2024-02-01", "VOO", 100, 40, account="ira")
    led.buy("2024-02-02", "VOO", 100, 41, account="ira")
    led.buy("2024-02-02", "VOO", 100, 41, account="taxable")
    assert realized_rows(led) == [("1", D(100), D(-1000), D(0), D(0))]
    assert led.can_buy("VOO", "2024-02-03")
    assert len(led.form_8949()) == 0
    check_invariants(led)


def test_re_wash_chain() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)  # A1
    led.sell("2024-02-01", "VOO", 100, 40)  # loss 1000
    led.buy("2024-02-10", "VOO", 100, 41)  # R1: 4100 + 1000 = 5100, date Feb 10 − 30 d = Jan 11
    led.sell("2024-03-01", "VOO", 100, 39)  # loss 5100 − 3900 = 1200
    led.buy("2024-03-15", "VOO", 100, 38)  # R2: 3800 + 1200 = 5000, Mar 15 − 50 d = Jan 25
    assert open_lots(led) == {"5": (D(100), D(5000), "2024-01-25")}
    led.sell("2024-05-01", "VOO", 100, 45)  # loss 500, nothing bought around it: allowed
    assert realized_rows(led) == [
        ("1", D(100), D(-1000), D(1000), D(0)),
        ("3", D(100), D(-1200), D(1200), D(0)),
        ("5", D(100), D(-500), D(0), D(0)),
    ]
    # Deferred, never lost: reported −500 = 12400 proceeds − 12900 paid.
    assert led.realized().reported_gain.sum() == D(-500)
    assert led.realized().adjustment.tolist() == [D(0), D(1000), D(1200)]
    check_invariants(led)


def test_substantially_identical_group_and_substitutes() -> None:
    led = Ledger(identical=[{"VOO", "IVV"}])
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-02-01", "VOO", 100, 40)
    led.buy("2024-02-05", "IVV", 100, 41)  # SI: washes
    led.buy("2024-02-05", "VTI", 100, 20)  # a substitute, not SI: does not
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(0))]
    assert open_lots(led)["3"] == (D(100), D(5100), "2024-01-06")
    assert open_lots(led)["4"] == (D(100), D(2000), "2024-02-05")
    assert not led.can_buy("IVV", "2024-02-10") and led.can_buy("VTI", "2024-02-10")


def test_declaring_identical_tickers_later_applies_to_the_history() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-02-01", "VOO", 100, 40)
    led.buy("2024-02-05", "IVV", 100, 41)
    assert realized_rows(led)[0][3] == 0
    led.declare_identical(["IVV", "VOO"])
    assert realized_rows(led) == [("1", D(100), D(-1000), D(1000), D(0))]
    assert led.identical == [frozenset({"IVV", "VOO"})]
    led.declare_identical(["SPLG", "IVV"])  # merges
    assert led.identical == [frozenset({"IVV", "SPLG", "VOO"})]


def test_later_same_day_sales_are_not_replacements() -> None:
    # Documented choice: a share acquired on or before the loss date S must still be held at
    # the close of S to replace it.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.buy("2024-01-25", "VOO", 100, 45)  # within 30 days before the loss, but sold
    led.sell("2024-02-01", "VOO", 100, 40, method="spec_id", lots={"1": 100})  # loss 1000
    led.sell("2024-02-01", "VOO", 100, 40, method="spec_id", lots={"2": 100})  # same day
    assert realized_rows(led) == [
        ("1", D(100), D(-1000), D(0), D(0)),
        ("2", D(100), D(-500), D(0), D(0)),
    ]
    check_invariants(led)


def test_a_round_trip_after_the_loss_sale_is_a_replacement() -> None:
    # docs/tax_rules.md §2–3: a share bought on R > S is held at the later of R and S (at its own
    # purchase), so it replaces the loss even if it is sold again on R (defect 6).
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)  # lot 1, A = 2024-01-02
    led.sell("2024-03-01", "VOO", 100, 40)  # S: loss 100 × (50 − 40) = 1000, 10 per share
    led.buy("2024-03-11", "VOO", 10, 42)  # lot 3, R = 2024-03-11: 10 replacement shares
    led.sell("2024-03-11", "VOO", 10, 43)  # sold the day they were bought
    # Disallowed on the loss sale: 10 matched shares × 10 = 100 (the other 90 shares' 900
    # stay allowed). Lot 3's basis becomes 10 × 42 + 100 = 520 and its date
    # R − (S − A) = 2024-03-11 − 59 days = 2024-01-12 (S − A: 29 days of January + 29 of
    # February + 1 = 59). Its sale: proceeds 10 × 43 = 430, gain 430 − 520 = −90, short term;
    # no other acquisition in 2024-02-10 … 2024-04-10 can wash it.
    assert realized_rows(led) == [
        ("1", D(100), D(-1000), D(100), D(0)),
        ("3", D(10), D(-90), D(0), D(0)),
    ]
    second = led.realized().iloc[1]
    assert (second.basis, second.acquired, second.term, second.replacement) == (
        D(520),
        day("2024-01-12"),
        "short",
        True,
    )
    (match,) = led.wash_sales().itertuples(index=False)
    assert (match.replacement_lot, match.shares, match.disallowed) == ("3", D(10), D(100))
    assert led.lots().empty
    check_invariants(led)


def test_a_partly_sold_round_trip_replaces_with_held_shares_first() -> None:
    # Documented choice: within one acquisition, the shares still held at the close replace a
    # loss before the shares sold that day.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)  # lot 1
    led.sell("2024-03-01", "VOO", 15, 40)  # loss 15 × 10 = 150
    led.buy("2024-03-11", "VOO", 10, 42)  # lot 3
    led.sell("2024-03-11", "VOO", 4, 43, method="spec_id", lots={"3": 4})
    # 6 shares of lot 3 are held at the close: they absorb 6 × 10 = 60 (basis 6 × 42 + 60 =
    # 312); then 4 of the 4 sold shares absorb 4 × 10 = 40: the sold piece's basis is
    # 4 × 42 + 40 = 208, gain 4 × 43 − 208 = −36. Disallowed on the loss: 60 + 40 = 100 of
    # its 150 (10 of 15 shares matched).
    assert realized_rows(led) == [
        ("1", D(15), D(-150), D(100), D(0)),
        ("3", D(4), D(-36), D(0), D(0)),
    ]
    assert open_lots(led) == {
        "1": (D(85), D(4250), "2024-01-02"),
        "3": (D(6), D(312), "2024-01-12"),
    }
    check_invariants(led)


def test_a_round_trip_partly_matched_is_split() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)  # lot 1
    led.sell("2024-03-01", "VOO", 3, 40)  # loss 3 × 10 = 30
    led.buy("2024-03-11", "VOO", 10, 42)  # lot 3, all sold the same day
    led.sell("2024-03-11", "VOO", 10, 41, method="spec_id", lots={"3": 10})
    # 3 of the 10 sold shares replace the loss (disallowed 30): that part is split off as
    # lot "3.1" with basis 3 × 42 + 30 = 156, gain 3 × 41 − 156 = −33, date 2024-01-12; the
    # other 7 keep basis 7 × 42 = 294, gain 7 × 41 − 294 = −7, date 2024-03-11.
    assert realized_rows(led) == [
        ("1", D(3), D(-30), D(30), D(0)),
        ("3", D(7), D(-7), D(0), D(0)),
        ("3.1", D(3), D(-33), D(0), D(0)),
    ]
    dates = led.realized()["acquired"].tolist()
    assert dates[1:] == [day("2024-03-11"), day("2024-01-12")]
    check_invariants(led)


def test_sales_on_a_date_see_the_lots_of_the_previous_close() -> None:
    # A loss sale and a buy-back on Feb 1; a HIFO sale later that day still sees the bought lot
    # at cost (41), the washed basis (51) appears after the date is settled.
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.buy("2023-06-01", "VOO", 10, 45)
    led.sell("2024-02-01", "VOO", 100, 40, method="spec_id", lots={"1": 100})
    led.buy("2024-02-01", "VOO", 100, 41)  # lot 4: replacement, basis 4100 + 1000
    assert open_lots(led)["4"] == (D(100), D(5100), "2024-01-02")
    sale = led.sell("2024-02-01", "VOO", 5, 42, method="hifo")  # 45 > 41: lot 2
    assert sale.lots == (("2", D(5)),)
    sale = led.sell("2024-02-02", "VOO", 5, 42, method="hifo")  # next day: 51 > 45: lot 4
    assert sale.lots == (("4", D(5)),)
    check_invariants(led)


def test_recording_order_does_not_matter() -> None:
    events = [
        ("buy", "2024-01-02", 100, 50),
        ("buy", "2024-01-20", 30, 48),
        ("sell", "2024-02-01", 120, 40),
        ("buy", "2024-02-15", 50, 41),
        ("sell", "2024-02-20", 20, 39),
        ("buy", "2024-03-01", 40, 38),
    ]

    def build(order: list[int]) -> Ledger:
        led = Ledger()
        for i in order:
            kind, date, shares, price = events[i]
            if kind == "buy":
                led.buy(date, "VOO", shares, price)
            else:
                led.sell(date, "VOO", shares, price)
        return led

    reference = build([0, 1, 2, 3, 4, 5])
    check_invariants(reference)
    for order in ([1, 0, 3, 5, 2, 4], [5, 3, 1, 0, 4, 2], [0, 1, 5, 2, 3, 4]):
        led = build(order)
        assert unlabelled(led) == unlabelled(reference)
        check_invariants(led)


def test_a_late_event_that_invalidates_a_later_one_is_refused() -> None:
    led = Ledger()
    led.buy("2024-01-02", "VOO", 100, 50)
    led.sell("2024-03-01", "VOO", 100, 40)
    with pytest.raises(ValueError, match="can no longer be applied"):
        led.sell("2024-02-01", "VOO", 1, 40)  # would leave 99 for the March sale
    assert len(led.events()) == 2
