"""After-tax figures of backtests: a hand-computed year, buy and hold, wash sales in a real
backtest, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import rebalancing as rb
from rebalancing.tax import TaxPolicy


def test_one_rebalance_by_hand():
    # Monthly rows 2020-01 .. 2021-12, A +10 % in January 2020, nothing else moves. Start
    # (2020-01-30): 5000 shares of each at 100. The annual rebalance on 2020-12-31 sells A
    # back to 525,000: 25,000 / 110 shares, a short-term gain of 10 a share, taxed at 37 % and
    # paid on 2021-04-30 by selling every holding pro rata; that sale's gain on A (now long
    # term) is due at the end; liquidation would tax A's remaining gain at 20 %.
    index = pd.date_range("2020-01-31", periods=24, freq="ME")
    returns = pd.DataFrame(0.0, index=index, columns=["A", "B"])
    returns.iloc[0, 0] = 0.10
    policy = TaxPolicy(short_term_rate=0.37, long_term_rate=0.20)
    res = rb.backtest(returns, [0.5, 0.5], rb.Calendar("annual"))
    at = rb.tax.after_tax(res, policy)
    sold = 25_000 / 110
    tax_2020 = 0.37 * sold * 10
    assert at.years.loc[2020, "realized_short"] == pytest.approx(sold * 10, rel=1e-9)
    assert at.years.loc[2020, "tax"] == pytest.approx(tax_2020, rel=1e-9)
    fraction = tax_2020 / 1_050_000
    assert at.years.loc[2020, "tax_fraction"] == pytest.approx(fraction, rel=1e-9)
    paid_a = 525_000 * fraction / 110  # A shares sold to pay the tax
    assert at.years.loc[2021, "realized_long"] == pytest.approx(paid_a * 10, rel=1e-6)
    assert at.tax_due == pytest.approx(0.20 * paid_a * 10, rel=1e-6)
    left_a = 5000 - sold - paid_a
    assert at.liquidation_tax == pytest.approx(0.20 * left_a * 10, rel=1e-6)
    assert at.nav.iloc[-1] == pytest.approx(1_050_000 - tax_2020, rel=1e-9)
    s = {**res.summary(), **at.summary()}
    years = 2.0
    final = 1_050_000 - tax_2020 - at.tax_due
    assert s["after_tax_return"] == pytest.approx((final / 1e6) ** (1 / years) - 1, rel=1e-9)
    assert s["return"] > s["after_tax_return"] > s["after_tax_return_liquidated"]


def test_buy_and_hold_pays_only_at_liquidation():
    returns = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]].iloc[:240]
    res = rb.backtest(returns, [0.6, 0.4], rb.Never())
    at = rb.tax.after_tax(res, TaxPolicy())
    s = {**res.summary(), **at.summary()}
    assert s["tax_paid_bps"] == 0 and s["realized_short"] == 0 and s["realized_long"] == 0
    assert s["after_tax_return"] == pytest.approx(s["return"], rel=1e-12)
    assert at.liquidation_tax > 0


def test_monthly_rebalancing_of_stocks_meets_wash_sales():
    returns = rb.datasets.sp500_20_returns().iloc[:1500, :6]
    monthly = rb.backtest(returns, np.full(6, 1 / 6), rb.Calendar("monthly"), 0.0005)
    at = rb.tax.after_tax(monthly, TaxPolicy())
    s = {**monthly.summary(), **at.summary()}
    assert s["wash_disallowed"] > 0  # selling a loser and buying it back within 30 days
    assert s["harvested_losses"] < 0 and s["tax_paid_bps"] > 0
    assert s["after_tax_return"] < s["return"]
    form = at.ledger.form_8949()
    washed = form[form["code"] == "W"]
    assert len(washed) > 0
    assert float(washed["adjustment"].map(float).sum()) == pytest.approx(
        s["wash_disallowed"] * 1e6, rel=1e-6
    )


def test_bad_tax_input():
    returns = rb.datasets.sp500_20_returns().iloc[:50, :2]
    res = rb.backtest(returns, [0.5, 0.5], rb.Never())
    with pytest.raises(TypeError, match="TaxPolicy"):
        rb.tax.after_tax(res, 0.3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"no longer take tax=.*rebalancing\.tax\.after_tax"):
        rb.backtest(returns, [0.5, 0.5], rb.Never(), tax=TaxPolicy())  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="short_term_rate"):
        TaxPolicy(short_term_rate=1.2)
    with pytest.raises(ValueError, match="method"):
        TaxPolicy(method="spec_id")


def test_after_tax_table_joins_the_pre_tax_figures():
    returns = rb.datasets.sp500_20_returns().iloc[:400, :4]
    results = rb.backtests(returns, np.full(4, 0.25), [rb.Never(), rb.Calendar("monthly")])
    table = rb.tax.after_tax_table(results, TaxPolicy())
    assert list(table.index) == ["never", "monthly"]
    assert table.loc["monthly", "tax_paid_bps"] >= 0
    assert table.loc["monthly", "return"] == results["monthly"].summary()["return"]
    assert table["rebalances"].dtype.kind == "i"


def test_no_layer_below_tax_imports_the_tax_package():
    # Tax is a post-processor of backtests: backtest and everything it builds on must not
    # import rebalancing.tax (it used to, and tax.after_tax imported BacktestResult back).
    import ast
    from pathlib import Path

    package = Path(rb.__file__).parent
    lower = ["backtest", "policies", "costs", "drift", "solver", "batch", "schedule", "risk"]
    for module in lower:
        tree = ast.parse((package / f"{module}.py").read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        assert not any(name.startswith("rebalancing.tax") for name in imported), module
