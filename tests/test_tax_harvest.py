"""Tax-loss harvesting and swapping back (docs/tax_rules.md §7), computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from _tax import D, check_invariants, day, snapshot
from rebalancing.tax import Ledger, harvest, swap_back


def three_lots() -> Ledger:
    # At 95: lot 1 loses 50 (exactly 5 %), lot 2 loses 150 (13.6 %), lot 3 loses 200 (9.5 %).
    led = Ledger()
    led.buy("2023-01-03", "VOO", 10, 100)
    led.buy("2023-02-01", "VOO", 10, 110)
    led.buy("2023-03-01", "VOO", 20, 105)
    return led


PRICES = {"VOO": "95", "VTI": "40", "SCHB": "20", "IVV": "95"}


def harvested(result: object) -> list[str]:
    trades = result.trades  # type: ignore[attr-defined]
    return [lot for t in trades if t.side == "sell" for lot, _ in t.lots]


@pytest.mark.parametrize(
    ("min_usd", "min_pct", "lots"),
    [
        (50, "0.05", ["1", "2", "3"]),  # both thresholds are inclusive
        ("50.01", "0.05", ["2", "3"]),
        (50, "0.0501", ["2", "3"]),
        (0, "0.1", ["2"]),
        (151, 0, ["3"]),
        (201, 0, []),
        (0, 0, ["1", "2", "3"]),
    ],
)
def test_thresholds(min_usd: object, min_pct: object, lots: list[str]) -> None:
    led = three_lots()
    result = harvest(
        led, PRICES, "2024-03-01", {"VOO": "VTI"}, min_loss_usd=min_usd, min_loss_pct=min_pct
    )
    assert harvested(result) == lots
    losses = {"1": 50, "2": 150, "3": 200}
    assert result.harvested_loss == sum(losses[x] for x in lots)
    assert result.realized_gain == -result.harvested_loss
    assert not result.applied and len(led.events()) == 3


def test_harvest_works_on_the_declared_account() -> None:
    # Issue 12: a ledger whose only account is "brokerage" (no hidden "taxable" account); the
    # default account=None harvests every taxable account, here brokerage: lots 1-3 as in
    # three_lots, losses 50 + 150 + 200.
    led = Ledger(accounts={"brokerage": "taxable"})
    led.buy("2023-01-03", "VOO", 10, 100)
    led.buy("2023-02-01", "VOO", 10, 110)
    led.buy("2023-03-01", "VOO", 20, 105)
    result = harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"})
    assert harvested(result) == ["1", "2", "3"]
    assert result.harvested_loss == D(400)
    assert {t.account for t in result.trades} == {"brokerage"}
    same = harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, account="brokerage")
    assert same.trades == result.trades
    with pytest.raises(ValueError, match="account: unknown account 'taxable'"):
        harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, account="taxable")


def test_no_loss_is_never_harvested() -> None:
    led = Ledger()
    led.buy("2023-01-03", "VOO", 10, 95)
    assert harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}).trades == ()


def test_harvest_sells_losers_and_buys_the_substitute() -> None:
    led = three_lots()
    before = snapshot(led)
    plan = harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, min_loss_usd=50)
    assert snapshot(led) == before  # apply=False changes nothing
    frame = plan.trades_frame()
    assert frame[["side", "ticker", "shares", "price", "amount", "reason"]].values.tolist() == [
        ["sell", "VOO", D(40), D(95), D(3800), "harvest"],
        ["buy", "VTI", D(95), D(40), D(3800), "substitute"],
    ]
    assert frame.lots[0] == {"1": D(10), "2": D(10), "3": D(20)}
    assert plan.cash == 0 and plan.disallowed == 0 and plan.would_wash == ()
    assert [(b.tickers, b.sale_date, b.until, b.substitute) for b in plan.blocks] == [
        (("VOO",), day("2024-03-01"), day("2024-03-31"), "VTI")
    ]
    done = harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, min_loss_usd=50, apply=True)
    assert done.applied and done.trades == plan.trades
    assert led.events().tag.tolist()[-2:] == ["harvest", "substitute"]
    lots = led.lots()
    assert lots[["ticker", "shares", "basis", "primary"]].values.tolist() == [
        ["VTI", D(95), D(3800), "VOO"]
    ]
    assert led.realized().reported_gain.sum() == D(-400)
    # The block: VOO cannot be bought through 2024-03-31, and reinvested dividends are sent
    # to the recorded substitute: 2 × 96 = 192 of cash buys 192 / 40 = 4.8 VTI.
    assert not led.can_buy("VOO", "2024-03-31") and led.can_buy("VOO", "2024-04-01")
    got = led.reinvest("2024-03-10", "VOO", 2, 96, substitute_price=40)
    assert (got.ticker, got.shares, got.redirected_from) == ("VTI", D("4.8"), "VOO")
    check_invariants(led)


def recent_position() -> Ledger:
    led = Ledger({"taxable": "taxable", "joint": "taxable", "ira": "ira"})
    led.buy("2023-01-03", "VOO", 100, 50, account="taxable")  # lot 1: loss 10/share at 40
    led.buy(
        "2024-02-20", "VOO", 10, 44, account="taxable"
    )  # lot 2: recent, loss 4/share (40, below 100, account="taxable")
    led.buy("2024-02-25", "VOO", 5, 39, account="joint")  # lot 3: recent, other account
    led.buy("2024-02-26", "VOO", 3, 41, account="ira")  # lot 4: recent, IRA
    return led


def test_recent_lots_are_sold_with_the_harvest() -> None:
    led = recent_position()
    result = harvest(
        led, {"VOO": 40, "VTI": 20}, "2024-03-01", {"VOO": "VTI"}, min_loss_usd=100, apply=True
    )
    assert harvested(result) == ["1", "2"]
    assert result.harvested_loss == 1000  # lot 2 is sold because it is recent, not harvested
    assert result.realized_gain == -1040
    assert [(w.account, w.lot_id, w.shares) for w in result.would_wash] == [
        ("joint", "3", D(5)),
        ("ira", "4", D(3)),
    ]
    # Lot 1's loss (older, matched first) is washed by the 5 joint shares (50, deferred) and
    # the 3 IRA shares (30, lost for good); lot 2's loss is allowed.
    assert result.disallowed == 80
    realized = led.realized()
    assert realized[["lot_id", "wash_disallowed", "permanent_disallowed"]].values.tolist() == [
        ["1", D(80), D(30)],
        ["2", D(0), D(0)],
    ]
    check_invariants(led)


def test_recent_lots_reported() -> None:
    led = recent_position()
    result = harvest(
        led, {"VOO": 40, "VTI": 20}, "2024-03-01", {"VOO": "VTI"}, min_loss_usd=100, recent="report"
    )
    assert harvested(result) == ["1"]
    assert [(w.account, w.lot_id) for w in result.would_wash] == [
        ("taxable", "2"),
        ("joint", "3"),
        ("ira", "4"),
    ]
    # 10 + 5 + 3 replacement shares at 10/share.
    assert result.disallowed == 180
    assert len(led.events()) == 4


def test_substitute_choice() -> None:
    led = three_lots()
    led.buy("2023-01-03", "VTI", 10, 30)
    led.sell("2024-02-20", "VTI", 5, 25)  # a loss: VTI blocked through 2024-03-21
    result = harvest(led, PRICES, "2024-03-01", {"VOO": ["VTI", "SCHB"]})
    # 3800 of proceeds buy 190 SCHB.
    assert [(t.side, t.ticker, t.shares) for t in result.trades] == [
        ("sell", "VOO", D(40)),
        ("buy", "SCHB", D(190)),
    ]
    assert result.trades[0].substitute == "SCHB"
    none = harvest(led, PRICES, "2024-03-01", {"VOO": ["VTI"]}, apply=True)
    assert none.skipped == (("VOO", "no substitute that is not blocked"),)
    assert none.cash == D(3800) and [t.side for t in none.trades] == ["sell"]
    assert led.block("VOO", "2024-03-05").substitute is None  # type: ignore[union-attr]


def test_a_substantially_identical_substitute_is_refused() -> None:
    led = Ledger(identical=[{"VOO", "IVV"}])
    led.buy("2023-01-03", "VOO", 10, 100)
    with pytest.raises(ValueError, match="substitutes: IVV is substantially identical to VOO"):
        harvest(led, PRICES, "2024-03-01", {"VOO": "IVV"})


def test_whole_shares_and_all_accounts() -> None:
    led = Ledger({"joint": "taxable", "ira": "ira"})
    led.buy("2023-01-03", "VOO", 40, 100, account="joint")
    led.buy("2023-01-03", "VOO", 40, 100, account="ira")
    result = harvest(
        led, {"VOO": 95, "VTI": 45}, "2024-03-01", {"VOO": "VTI"}, account=None, whole_shares=True
    )
    # Only the taxable account; 3800 / 45 = 84.4 → 84 shares, 20 of cash left.
    assert [(t.account, t.side, t.shares) for t in result.trades] == [
        ("joint", "sell", D(40)),
        ("joint", "buy", D(84)),
    ]
    assert result.cash == D(20)


def test_a_harvested_substitute_keeps_its_primary() -> None:
    led = three_lots()
    harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, apply=True)  # 95 VTI at 40
    result = harvest(
        led, {"VOO": 95, "VTI": 36, "SCHB": 19}, "2024-03-15", {"VTI": "SCHB"}, apply=True
    )
    # 95 × 36 = 3420 of proceeds buy 180 SCHB, still standing in for VOO.
    assert [(t.side, t.ticker, t.shares, t.primary) for t in result.trades] == [
        ("sell", "VTI", D(95), None),
        ("buy", "SCHB", D(180), "VOO"),
    ]
    back = swap_back(led, {"VOO": 90, "SCHB": 19}, "2024-04-01", apply=True)
    assert [(t.side, t.ticker, t.shares) for t in back.trades] == [
        ("sell", "SCHB", D(180)),
        ("buy", "VOO", D(38)),
    ]
    check_invariants(led)


def swapped() -> Ledger:
    led = Ledger()
    led.buy("2023-01-03", "VOO", 100, 50)
    harvest(led, {"VOO": 40, "VTI": 20}, "2024-03-01", {"VOO": "VTI"}, apply=True)  # 200 VTI
    return led


def test_swap_back_waits_for_day_31() -> None:
    led = swapped()
    early = swap_back(led, {"VOO": 41, "VTI": "19.5"}, "2024-03-31")
    assert early.trades == () and early.skipped == (("VOO", "blocked through 2024-03-31"),)
    # Day 31, VTI at a loss (3900 − 4000): sell it all, 3900 buys 3900 / 39 = 100 VOO.
    back = swap_back(led, {"VOO": 39, "VTI": "19.5"}, "2024-04-01", apply=True)
    assert [(t.side, t.ticker, t.shares, t.reason) for t in back.trades] == [
        ("sell", "VTI", D(200), "swap_back"),
        ("buy", "VOO", D(100), "swap_back"),
    ]
    assert back.realized_gain == D(-100) and back.cash == 0
    lots = led.lots()
    assert lots[["ticker", "shares", "primary"]].values.tolist()[0][:2] == ["VOO", D(100)]
    assert pd.isna(lots.primary[0])
    assert swap_back(led, {"VOO": 39, "VTI": 20}, "2024-04-02").trades == ()
    check_invariants(led)


def test_swap_back_only_when_the_gain_is_small_enough() -> None:
    led = swapped()
    prices = {"VOO": 42, "VTI": 21}  # VTI lots gain 200 × 1 = 200
    result = swap_back(led, prices, "2024-04-01")
    assert result.trades == () and result.skipped[0][0] == "VOO"
    assert "gain" in result.skipped[0][1]
    assert swap_back(led, prices, "2024-04-01", max_gain_usd="199.99").trades == ()
    result = swap_back(led, prices, "2024-04-01", max_gain_usd=200)  # inclusive
    assert [t.ticker for t in result.trades] == ["VTI", "VOO"]
    assert result.realized_gain == D(200)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"account": "ira"}, ValueError, "account: 'ira' is a ira account"),
        ({"account": "nope"}, ValueError, "account: unknown account 'nope'"),
        ({"date": "2023-12-31"}, ValueError, "date: trades are planned on the ledger's latest"),
        ({"prices": {"VTI": 1}}, ValueError, "prices: no price for 'VOO'"),
        ({"prices": {"VOO": 95.0, "VTI": 40}}, TypeError, r"prices\['VOO'\] must be a Decimal"),
        ({"prices": [95]}, TypeError, "prices must be a mapping"),
        ({"min_loss_pct": "1.5"}, ValueError, "min_loss_pct is a fraction"),
        ({"min_loss_usd": -1}, ValueError, "min_loss_usd must not be negative"),
        ({"recent": "skip"}, ValueError, "recent must be 'sell' or 'report'"),
        ({"substitutes": "VTI"}, TypeError, "substitutes must be a mapping"),
        ({"substitutes": {"VOO": 3}}, TypeError, r"substitutes\['VOO'\] must be a ticker"),
        ({"whole_shares": 1}, TypeError, "whole_shares must be a bool"),
        ({"apply": "yes"}, TypeError, "apply must be a bool"),
    ],
)
def test_bad_harvest_input(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    led = Ledger({"taxable": "taxable", "ira": "ira"})
    led.buy("2024-01-02", "VOO", 10, 100, account="taxable")
    args: dict[str, object] = {
        "prices": {"VOO": 95, "VTI": 40},
        "date": "2024-03-01",
        "substitutes": {"VOO": "VTI"},
    }
    args.update(kwargs)
    before = snapshot(led)
    with pytest.raises(error, match=match):
        harvest(led, **args)  # type: ignore[arg-type]
    assert snapshot(led) == before


def test_prices_as_a_series_of_decimals() -> None:
    led = three_lots()
    prices = pd.Series({"VOO": Decimal(95), "VTI": Decimal(40)})
    assert len(harvest(led, prices, "2024-03-01", {"VOO": "VTI"}).trades) == 2


def test_a_substitute_priced_zero_is_an_error() -> None:
    # Defect 5: the substitute purchase used to be dropped silently (proceeds left as cash).
    led = three_lots()
    before = snapshot(led)
    with pytest.raises(ValueError, match=r"prices\['VTI'\]: .*substitute VTI .*0"):
        harvest(led, {**PRICES, "VTI": "0"}, "2024-03-01", {"VOO": "VTI"}, apply=True)
    assert snapshot(led) == before  # nothing recorded


def test_swap_back_to_a_primary_priced_zero_is_an_error() -> None:
    led = three_lots()
    harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, apply=True)
    before = snapshot(led)
    with pytest.raises(ValueError, match=r"prices\['VOO'\]: .*VOO .*0"):
        swap_back(led, {"VOO": "0", "VTI": "30"}, "2024-04-02", apply=True)
    assert snapshot(led) == before


@pytest.mark.parametrize(("price", "lots"), [("0", ["1", "2", "3"]), ("0.01", [])])
def test_min_loss_pct_of_one_harvests_only_worthless_lots(price: str, lots: list[str]) -> None:
    # Defect 5: min_loss_pct=1 raised ZeroDivisionError. ℓ / b ≥ 1 means ℓ = b (a loss cannot
    # exceed the basis), i.e. the lot is worth 0: at 0 every lot loses 100 % of its basis
    # (1000 + 1100 + 2100 = 4200); at 0.01 none does.
    led = three_lots()
    result = harvest(led, {"VOO": price, "VTI": "40"}, "2024-03-01", {"VOO": "VTI"}, min_loss_pct=1)
    assert harvested(result) == lots
    assert result.harvested_loss == (D(4200) if lots else D(0))
    with pytest.raises(ValueError, match=r"min_loss_pct is a fraction in \[0, 1\]"):
        harvest(led, PRICES, "2024-03-01", {"VOO": "VTI"}, min_loss_pct="1.01")


def test_harvesting_and_rebalancing_use_only_the_public_ledger_api() -> None:
    # Issue 12: these modules read the ledger through its public queries only.
    import re
    from pathlib import Path

    import rebalancing.tax as tax_package

    folder = Path(tax_package.__file__).parent
    for name in ("harvesting.py", "rebalancing.py", "after_tax.py"):
        source = (folder / name).read_text()
        assert re.findall(r"\b(?:ledger|target|led)\._\w+", source) == [], name
