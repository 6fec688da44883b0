"""Lot relief (docs/tax_rules.md §6) on a hand-computed five-lot position.

Position in XYZ (taxable), sold on 2024-06-03 at 125 (no purchase within 30 days of the sale,
so no wash sale interferes):

====  ==========  ======  ========  ===========  ====
lot   bought      shares  price     gain/share   term
====  ==========  ======  ========  ===========  ====
"1"   2022-01-10  10      100       +25          LT
"2"   2023-01-10  10      150       −25          LT
"3"   2024-02-01  10      120       +5           ST
"4"   2024-03-01  10      90        +35          ST
"5"   2024-04-01  10      130       −5           ST
====  ==========  ======  ========  ===========  ====
"""

from __future__ import annotations

import pytest

from _tax import D, check_invariants, day, snapshot
from rebalancing.tax import Ledger

SALE = "2024-06-03"


def position() -> Ledger:
    led = Ledger()
    for bought, price in [
        ("2022-01-10", 100),
        ("2023-01-10", 150),
        ("2024-02-01", 120),
        ("2024-03-01", 90),
        ("2024-04-01", 130),
    ]:
        led.buy(bought, "XYZ", 10, price)
    return led


def sold(led: Ledger) -> list[tuple[str, int, int, int, str]]:
    """(lot, shares, basis, gain, term) of each realized piece."""
    return [
        (r.lot_id, int(r.shares), int(r.basis), int(r.gain), r.term)
        for r in led.realized().itertuples(index=False)
    ]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # Oldest first: lots 1, 2, then 5 shares of 3.
        (
            "fifo",
            [
                ("1", 10, 1000, 250, "long"),
                ("2", 10, 1500, -250, "long"),
                ("3", 5, 600, 25, "short"),
            ],
        ),
        # Newest first: 5, 4, then 5 shares of 3.
        (
            "lifo",
            [
                ("5", 10, 1300, -50, "short"),
                ("4", 10, 900, 350, "short"),
                ("3", 5, 600, 25, "short"),
            ],
        ),
        # Highest basis per share: 150 (lot 2), 130 (lot 5), 120 (lot 3).
        (
            "hifo",
            [
                ("2", 10, 1500, -250, "long"),
                ("5", 10, 1300, -50, "short"),
                ("3", 5, 600, 25, "short"),
            ],
        ),
        # ST losses (lot 5), LT losses (lot 2), no zeros, LT gains smallest first (lot 1).
        (
            "tax_optimal",
            [
                ("5", 10, 1300, -50, "short"),
                ("2", 10, 1500, -250, "long"),
                ("1", 5, 500, 125, "long"),
            ],
        ),
    ],
)
def test_methods_on_a_five_lot_position(method: str, expected: list[tuple[object, ...]]) -> None:
    led = position()
    sale = led.sell(SALE, "XYZ", 25, 125, method=method)
    assert sale.proceeds == D(3125)
    assert [(lot, int(q)) for lot, q in sale.lots] == [(e[0], e[1]) for e in expected]
    assert sold(led) == expected
    assert led.realized().wash_disallowed.sum() == 0
    left = {r.lot_id: int(r.shares) for r in led.lots().itertuples(index=False)}
    assert sum(left.values()) == 25
    check_invariants(led)


def test_spec_id_sells_the_named_shares() -> None:
    led = position()
    sale = led.sell(SALE, "XYZ", 25, 125, method="spec_id", lots={"4": 5, "1": 10, "2": 10})
    assert sale.lots == (("4", D(5)), ("1", D(10)), ("2", D(10)))
    assert sold(led) == [
        ("4", 5, 450, 175, "short"),
        ("1", 10, 1000, 250, "long"),
        ("2", 10, 1500, -250, "long"),
    ]
    # Pairs are accepted too, and repeated ids add up.
    led = position()
    led.sell(SALE, "XYZ", 4, 125, method="spec_id", lots=[("3", 1), ("3", "1.5"), ("5", "1.5")])
    assert [(r.lot_id, r.shares) for r in led.realized().itertuples()] == [
        ("3", D("2.5")),
        ("5", D("1.5")),
    ]


def test_tax_optimal_with_zero_gain_lots() -> None:
    # At 100: lot a (LT, basis 100) and lot b (ST, basis 100) are both at zero gain; lot c
    # (ST, basis 80) gains 20, lot d (LT, basis 90) gains 10, lot e (ST, basis 110) loses 10.
    led = Ledger()
    led.buy("2020-01-02", "Q", 1, 100)  # a: LT zero
    led.buy("2020-02-03", "Q", 1, 90)  # d: LT gain 10
    led.buy("2024-01-02", "Q", 1, 100)  # b: ST zero
    led.buy("2024-01-03", "Q", 1, 80)  # c: ST gain 20
    led.buy("2024-01-04", "Q", 1, 110)  # e: ST loss 10
    sale = led.sell("2024-03-01", "Q", 5, 100, method="tax_optimal")
    # ST loss e, (no LT loss), ST zero b, LT zero a, LT gain d, ST gain c.
    assert [lot for lot, _ in sale.lots] == ["5", "3", "1", "2", "4"]


def test_ties_go_to_the_earliest_acquisition() -> None:
    led = Ledger()
    led.buy("2024-01-02", "Q", 5, 100)
    led.buy("2024-01-03", "Q", 5, 100)
    led.buy("2024-01-03", "Q", 5, 100)  # same day: recording order decides
    assert [lot for lot, _ in led.sell("2024-03-01", "Q", 12, 90, method="hifo").lots] == [
        "1",
        "2",
        "3",
    ]
    led = Ledger()
    led.buy("2024-01-02", "Q", 5, 100)
    led.buy("2024-01-03", "Q", 5, 100)
    assert [lot for lot, _ in led.sell("2024-03-01", "Q", 6, 90, method="tax_optimal").lots] == [
        "1",
        "2",
    ]


def washed_position() -> Ledger:
    led = Ledger()
    led.buy("2023-01-03", "Q", 10, 50)  # lot 1
    led.buy("2023-12-01", "Q", 10, 30)  # lot 2 (more than 30 days before the sale)
    led.sell("2024-02-01", "Q", 10, 40, method="fifo")  # lot 1: loss 100, washed below
    led.buy("2024-02-05", "Q", 10, 41)  # lot "4" (event 4): replacement, basis 410 + 100 = 510
    return led


def test_methods_use_the_wash_adjusted_date_and_basis() -> None:
    lots = washed_position().lots().set_index("lot_id")
    # Holding period tacked on: R − (S − A) = 2024-02-05 − (2024-02-01 − 2023-01-03), i.e.
    # A moved by R − S = 4 days.
    assert lots.loc["4", "acquired"] == day("2023-01-07")
    assert lots.loc["4", "basis"] == D(510)
    # FIFO takes lot 4 (adjusted 2023-01-07) before lot 2 (2023-12-01); HIFO takes lot 4
    # (51 per share) before lot 2 (30); LIFO takes lot 2 (newer adjusted date).
    assert washed_position().sell("2024-03-11", "Q", 5, 45, method="fifo").lots == (("4", D(5)),)
    assert washed_position().sell("2024-03-11", "Q", 5, 45, method="hifo").lots == (("4", D(5)),)
    assert washed_position().sell("2024-03-11", "Q", 5, 45, method="lifo").lots == (("2", D(5)),)
    # tax_optimal: lot 4 is an ST loss (45 < 51), lot 2 an ST gain.
    assert washed_position().sell("2024-03-11", "Q", 12, 45, method="tax_optimal").lots == (
        ("4", D(10)),
        ("2", D(2)),
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shares": 51}, ValueError, "shares: cannot sell 51 XYZ .* only 50 held"),
        ({"shares": 0}, ValueError, "shares must be positive"),
        ({"shares": -1}, ValueError, "shares must be positive"),
        ({"price": -1}, ValueError, "price must not be negative"),
        ({"price": 1.5}, TypeError, "price must be a Decimal, int or str, got float"),
        ({"shares": 2.0}, TypeError, "shares must be a Decimal"),
        ({"method": "average"}, ValueError, "method must be one of"),
        ({"method": "spec_id"}, ValueError, "lots is required"),
        ({"lots": {"1": 5}}, ValueError, "lots is only allowed with method='spec_id'"),
        ({"method": "spec_id", "lots": {"9": 5}}, ValueError, "lots: no open lot '9'"),
        ({"method": "spec_id", "lots": {"1": 11}}, ValueError, "holds 10 shares"),
        ({"method": "spec_id", "lots": {"1": 4}}, ValueError, "add up to 4, not shares=5"),
        ({"method": "spec_id", "lots": "1"}, TypeError, "lots must be a mapping"),
        ({"method": "spec_id", "lots": [("1",)]}, TypeError, "pair"),
        ({"method": "spec_id", "lots": {}}, ValueError, "at least one lot"),
        ({"account": "ira"}, ValueError, "account: unknown account 'ira'"),
        ({"ticker": "ABC"}, ValueError, "ticker: no lot of ABC"),
        ({"date": "2024-06-31"}, ValueError, "date must be an ISO date"),
        ({"date": 20240603}, TypeError, "date must be a datetime.date"),
        ({"ticker": ""}, ValueError, "ticker must be a non-empty string"),
        ({"ticker": 3}, TypeError, "ticker must be a string"),
    ],
)
def test_bad_sales_raise_and_change_nothing(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    led = position()
    before = snapshot(led)
    args: dict[str, object] = {"date": SALE, "ticker": "XYZ", "shares": 5, "price": 125}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        led.sell(**args)  # type: ignore[arg-type]
    assert snapshot(led) == before


def test_selling_from_the_wrong_account_or_an_emptied_ticker() -> None:
    led = Ledger(["taxable", "joint"])
    led.buy("2024-01-02", "Q", 5, 10, account="taxable")
    before = snapshot(led)
    with pytest.raises(ValueError, match="ticker: no open lot of Q in account 'joint'"):
        led.sell("2024-02-01", "Q", 1, 10, account="joint")
    led.sell("2024-02-01", "Q", 5, 10, account="taxable")
    with pytest.raises(ValueError, match="ticker: no open lot of Q in account 'taxable'"):
        led.sell("2024-02-02", "Q", 1, 10, account="taxable")
    assert snapshot(led)["lots"] == [] and before["lots"] != []
