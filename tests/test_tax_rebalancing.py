"""Tax-aware rebalancing: lots become sell tranches priced at their tax, solved exactly."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb
from rebalancing.tax import Ledger, tax_aware_rebalance

D = Decimal
COV = pd.DataFrame(np.diag([0.04, 0.04]), ["A", "B"], ["A", "B"])
TARGET = pd.Series({"A": 0.5, "B": 0.5})
PRICES = {"A": D("100"), "B": D("100")}


def two_lots() -> Ledger:
    ledger = Ledger()
    ledger.buy("2023-01-03", "A", 100, D("120"))  # lot 1: a loss of 20 a share at 100
    ledger.buy("2023-02-01", "A", 100, D("50"))  # lot 2: a gain of 50 a share
    ledger.buy("2023-01-03", "B", 100, D("100"))  # lot 3: flat
    return ledger


def test_the_declared_account_is_rebalanced_by_default():
    # Issue 12: the only account is "brokerage"; account= defaults to it.
    ledger = Ledger(accounts={"brokerage": "taxable"})
    ledger.buy("2023-01-03", "A", 100, D("120"))
    ledger.buy("2023-01-03", "B", 50, D("100"))
    res = tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", costs=0.001)
    assert res.value == D("15000")  # 100 × 100 + 50 × 100
    named = tax_aware_rebalance(
        ledger, PRICES, TARGET, COV, "2024-06-03", costs=0.001, account="brokerage"
    )
    assert named.trades.equals(res.trades)
    several = Ledger({"joint": "taxable", "ira": "ira"})
    several.buy("2023-01-03", "A", 1, D("100"), account="joint")
    with pytest.raises(ValueError, match=r"account: .*'ira', 'joint'"):
        tax_aware_rebalance(several, PRICES, TARGET, COV, "2024-06-03")


def test_the_loss_lot_is_sold_first_and_whole():
    # A is 2/3 of the account (target 1/2). Lot 1's sale earns 0.20 × 20/100 = 4 % of the amount
    # sold, far above A's 0.1 % buy cost, so A is made sell-only in a second pass; with λ = 1
    # the benefit outweighs the risk of going below target and the whole loss lot is sold.
    ledger = two_lots()
    res = tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001)
    assert res.solution.status == "optimal"
    assert res.passes == 2 and res.sell_only == ("A",)
    sells = res.trades[res.trades["side"] == "sell"]
    assert list(sells["lot_id"]) == ["1"] and sells["shares"].iloc[0] == D("100")
    assert sells["term"].iloc[0] == "long"
    assert res.estimated_tax == D("-400")  # 0.20 × (100 − 120) × 100
    buys = res.trades[res.trades["side"] == "buy"]
    assert list(buys["ticker"]) == ["B"] and buys["shares"].iloc[0] == D("100")
    assert res.value == D("30000")
    assert not res.applied and len(ledger.realized()) == 0


def test_capping_the_benefit_sells_less():
    ledger = two_lots()
    full = tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001)
    capped = tax_aware_rebalance(
        ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001, loss_benefit="cap"
    )
    assert capped.passes == 1 and capped.sell_only == ()
    assert capped.solution.weights["A"] > full.solution.weights["A"]


def test_a_gain_lot_is_sold_less_than_without_tax():
    ledger = Ledger()
    ledger.buy("2024-01-02", "A", 200, D("50"))  # short-term gain of 50 a share
    ledger.buy("2024-01-02", "B", 100, D("100"))
    res = tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001)
    plain = rb.solve(pd.Series({"A": 2 / 3, "B": 1 / 3}), TARGET, COV, 0.001, lam=1.0)
    assert res.solution.weights["A"] > plain.weights["A"] + 0.01
    sells = res.trades[res.trades["side"] == "sell"]
    assert (sells["term"] == "short").all()
    # Tax = 37 % of the gain realized on the shares sold.
    shares = sells["shares"].sum()
    assert res.estimated_tax == shares * 50 * D("0.37")


def test_a_recent_purchase_removes_the_benefit_and_a_block_stops_buys():
    ledger = two_lots()
    ledger.buy("2024-05-24", "A", 1, D("100"))  # within 30 days: a loss sale now would wash
    res = tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001)
    assert "1" in res.no_benefit
    assert res.estimated_tax >= 0

    blocked = two_lots()
    blocked.buy("2023-01-03", "C", 10, D("100"))
    blocked.sell("2024-05-20", "C", 10, D("80"))  # a loss: C is blocked until 2024-06-19
    prices = {**PRICES, "C": D("80")}
    target = pd.Series({"A": 0.4, "B": 0.4, "C": 0.2})
    cov = pd.DataFrame(np.diag([0.04, 0.04, 0.04]), list("ABC"), list("ABC"))
    res = tax_aware_rebalance(blocked, prices, target, cov, "2024-06-03", lam=1.0, costs=0.001)
    assert res.solution.weights["C"] == 0.0  # not bought while blocked
    assert "C" not in set(res.trades["ticker"])


def test_apply_records_the_trades_by_lot():
    ledger = two_lots()
    res = tax_aware_rebalance(
        ledger, PRICES, TARGET, COV, "2024-06-03", lam=1.0, costs=0.001, apply=True
    )
    assert res.applied
    realized = ledger.realized()
    assert list(realized["lot_id"]) == ["1"]
    assert realized["gain"].iloc[0] == D("-2000")
    lots = ledger.lots()
    assert set(lots["ticker"]) == {"A", "B"}
    assert lots.loc[lots["ticker"] == "B", "shares"].sum() == D("200")


def test_bad_input_is_named():
    ledger = two_lots()
    with pytest.raises(ValueError, match="no price for 'B'"):
        tax_aware_rebalance(ledger, {"A": D("100")}, TARGET, COV, "2024-06-03")
    with pytest.raises(TypeError):
        tax_aware_rebalance(ledger, {"A": 100.0, "B": 100.0}, TARGET, COV, "2024-06-03")
    with pytest.raises(
        ValueError, match=r"cov tickers do not match the account's tickers: missing \['B'\]"
    ):
        tax_aware_rebalance(ledger, PRICES, TARGET, COV.loc[["A"], ["A"]], "2024-06-03")
    with pytest.raises(ValueError, match="unknown account"):
        tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", account="ira")
    with pytest.raises(ValueError, match="short_term_rate"):
        tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", short_term_rate=1.5)
    with pytest.raises(TypeError, match="target must be"):
        tax_aware_rebalance(ledger, PRICES, [0.5, 0.5], COV, "2024-06-03")
    with pytest.raises(ValueError, match="loss_benefit"):
        tax_aware_rebalance(ledger, PRICES, TARGET, COV, "2024-06-03", loss_benefit="ignore")


def test_per_ticker_inputs_use_the_one_aligner() -> None:
    # costs, bounds and cov may cover a wider universe than the account (extra tickers are
    # ignored); a missing ticker is the library's one label error; costs are checked for slips.
    from decimal import Decimal

    from rebalancing import tax

    ledger = tax.Ledger({"brokerage": "taxable"})
    ledger.buy("2023-01-03", "A", 100, Decimal("100"))
    ledger.buy("2023-01-03", "B", 100, Decimal("100"))
    prices = {"A": Decimal("120"), "B": Decimal("90")}
    target = pd.Series({"A": 0.5, "B": 0.5})
    universe = ["A", "B", "C"]
    cov = pd.DataFrame(np.diag([0.04, 0.03, 0.05]), universe, universe)
    wide = {"A": 0.001, "B": 0.002, "C": 0.003}
    args = (ledger, prices, target, cov, "2024-07-01")
    res = tax.tax_aware_rebalance(*args, lam=10.0, costs=wide)
    narrow = tax.tax_aware_rebalance(
        ledger,
        prices,
        target,
        cov.loc[["A", "B"], ["A", "B"]],
        "2024-07-01",
        lam=10.0,
        costs=pd.Series({"B": 0.002, "A": 0.001}),
    )
    pd.testing.assert_series_equal(res.solution.weights, narrow.solution.weights)
    with pytest.raises(
        ValueError, match=r"costs tickers do not match the account's tickers: missing \['B'\]"
    ):
        tax.tax_aware_rebalance(*args, lam=10.0, costs={"A": 0.001})
    with pytest.raises(ValueError, match="costs is a fraction of the amount traded"):
        tax.tax_aware_rebalance(*args, lam=10.0, costs=10)
