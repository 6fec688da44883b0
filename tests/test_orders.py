"""Accounts and trade lists (rebalancing.orders): hand-checked cases, the guarantees as
properties over random and adversarial accounts, the rounding certificate against brute force,
and bad input.

``ORDERS_EXAMPLES=20000 python -m pytest tests/test_orders.py`` runs the property tests with
many examples (the suite's default keeps them to a few seconds).
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rebalancing as rb
from rebalancing.orders import CASH

EXAMPLES = int(os.environ.get("ORDERS_EXAMPLES", "60"))


# --- hand-checked ---------------------------------------------------------------------------


def test_account_value_and_weights_include_cash() -> None:
    acct = rb.Account(pd.Series({"A": 10.0, "B": 4.0}), 200.0, {"A": 50.0, "B": 25.0})
    assert acct.value == 800.0  # 500 + 100 + 200
    assert acct.weights.to_dict() == {"A": 0.625, "B": 0.125, CASH: 0.25}
    with pytest.raises(AttributeError):
        acct.cash = 5.0  # type: ignore[misc]
    shares = acct.shares
    shares["A"] = 99.0  # a copy: the account does not change
    assert acct.shares["A"] == 10.0


def test_to_target_sells_then_buys_whole_shares() -> None:
    # $400 of A and $100 cash, target 50/50 A/B: sell 1.5 A → 1 or 2; 1 sold + 5 B bought
    # lands exactly on the target: 300 A, 250... no: V = 500, A 250 = 2.5 shares. Exact optimum
    # over whole shares: A 2 or 3 shares, B 2.5 shares of 100 -> see the assertions.
    acct = rb.Account({"A": 4}, cash=100.0, prices={"A": 100.0, "B": 50.0})
    tl = rb.trade_list(acct, {"A": 0.5, "B": 0.5})
    # V = 500; target 250 of each: A → 2 or 3 shares (200/300), B → 5 shares (250).
    # With 5 B bought (250), cash allows A at 2 (sell 2: 400 - 200 + 100 - 250 = 50 cash) or
    # A at 3 needs 300 + 250 = 550 > 500: so A 2, B 5, cash 50.
    assert tl.orders["side"].tolist() == ["sell", "buy"]
    assert tl.orders["ticker"].tolist() == ["A", "B"]
    assert tl.orders["shares"].tolist() == [2.0, 5.0]
    assert tl.cash_after == 50.0
    assert tl.shares_after.to_dict() == {"A": 2.0, "B": 5.0}
    # F = |d|² with cash: (200/500 - .5)² + 0 + (50/500)² = 0.01 + 0.01
    assert tl.rounded_objective == pytest.approx(0.02)
    assert tl.lower_bound == pytest.approx(0.0, abs=1e-12)
    assert tl.weights_after.to_dict() == {"A": 0.4, "B": 0.5, CASH: 0.1}


def test_fees_are_paid_from_cash_and_never_overdraw() -> None:
    # Cash buys exactly 10 shares without fees; with 10 bp fees only 9 fit.
    acct = rb.Account({}, cash=1000.0, prices={"A": 100.0})
    tl = rb.trade_list(acct, {"A": 1.0}, costs=0.001)
    assert tl.orders["shares"].tolist() == [9.0]
    assert tl.cash_after == pytest.approx(1000 - 900 - 0.9)
    assert tl.orders["est_cost"].tolist() == [pytest.approx(0.9)]


def test_exit_sells_the_whole_position_and_never_more() -> None:
    acct = rb.Account({"OLD": 3.0, "A": 1.0}, cash=0.0, prices={"OLD": 10.0, "A": 30.0})
    tl = rb.trade_list(acct, {"A": 1.0})
    sell = tl.orders[tl.orders["side"] == "sell"].iloc[0]
    assert (sell["ticker"], sell["shares"], sell["reason"]) == ("OLD", 3.0, "exit")
    assert tl.shares_after["OLD"] == 0.0
    assert tl.shares_after["A"] == 2.0  # 60 = 30 + 30 raised by the sale


def test_target_cash_weight_is_a_reserve_in_weights() -> None:
    acct = rb.Account({}, cash=1000.0, prices={"A": 10.0})
    tl = rb.trade_list(acct, {"A": 0.8, CASH: 0.2})
    assert tl.orders["shares"].tolist() == [80.0]
    assert tl.cash_after == 200.0


def test_cash_reserve_raises_cash_in_sell_only_mode() -> None:
    acct = rb.Account({"A": 10, "B": 10}, cash=0.0, prices={"A": 10.0, "B": 20.0})
    tl = rb.trade_list(
        acct, {"A": 1 / 3, "B": 2 / 3}, cash_reserve=45.0, mode="sell_only", costs=0.001
    )
    assert set(tl.orders["side"]) == {"sell"}
    assert tl.cash_after >= 45.0
    # Without cov the distance is Euclidean in weights: the $45 is best taken equally, $22.5
    # from each; in whole shares 3 A and 1 B ($50; $40 would not cover the reserve).
    assert tl.orders.set_index("ticker")["shares"].to_dict() == {"A": 3.0, "B": 1.0}


def test_buy_only_deploys_cash_without_selling() -> None:
    acct = rb.Account({"A": 10}, cash=500.0, prices={"A": 100.0, "B": 50.0})
    tl = rb.trade_list(acct, {"A": 0.2, "B": 0.8}, mode="buy_only")
    assert tl.orders.to_dict("list")["side"] == ["buy"]
    assert tl.orders["ticker"].tolist() == ["B"] and tl.orders["shares"].tolist() == [10.0]
    assert tl.cash_after == 0.0


def test_lot_size_and_min_trade() -> None:
    acct = rb.Account({"A": 250}, cash=10_000.0, prices={"A": 10.0, "B": 20.0})
    tl = rb.trade_list(acct, {"A": 0.5, "B": 0.5}, lot_size=100)
    # V = 12,500: A 625 shares → 600 (buy 350? not lots of 100: 300 or 400); B 312.5 → 300
    assert all(s % 100 == 0 for s in tl.orders["shares"])
    assert tl.cash_after >= 0
    small = rb.trade_list(acct, {"A": 0.21, "B": 0.79}, min_trade=20_000.0)
    assert small.orders.empty  # every useful order is below $20,000: none is sent


def test_optimal_with_costs_skips_a_trade_not_worth_its_cost() -> None:
    acct = rb.Account({"A": 51, "B": 49}, cash=0.0, prices={"A": 100.0, "B": 100.0})
    cov = pd.DataFrame([[0.04, 0.0], [0.0, 0.04]], index=["A", "B"], columns=["A", "B"])
    tl = rb.trade_list(acct, {"A": 0.5, "B": 0.5}, method="optimal", cov=cov, costs=0.002)
    assert tl.orders.empty
    # λ·Σ on 1 % off target is 2·0.04·1e-4 = 8e-6, less than 0.2 % of the 1 % to trade.
    assert tl.rounded_objective == pytest.approx(0.04 * (0.01**2 + 0.01**2))
    assert tl.lower_bound <= tl.rounded_objective


def test_fractional_orders_reach_the_target_closely() -> None:
    acct = rb.Account({}, cash=1000.0, prices={"A": 333.0, "B": 7.0})
    tl = rb.trade_list(acct, {"A": 0.5, "B": 0.5}, fractional=True)
    assert tl.cash_after >= 0
    assert tl.gap_bp < 1.0  # within 1 bp of the continuous optimum in tracking error
    whole = rb.trade_list(acct, {"A": 0.5, "B": 0.5})
    assert whole.rounded_objective > tl.rounded_objective


def test_factor_model_cov_by_ticker() -> None:
    tickers = pd.Index(["A", "B", "C"])
    model = rb.FactorModel(
        pd.DataFrame([[1.0], [0.8], [0.2]], index=tickers), [[0.04]], [0.01, 0.02, 0.03]
    )
    acct = rb.Account({"A": 5, "B": 5}, cash=300.0, prices={"A": 60.0, "B": 40.0, "C": 30.0})
    tl = rb.trade_list(acct, {"A": 0.3, "B": 0.3, "C": 0.4}, method="optimal", cov=model, lam=5)
    assert tl.lower_bound <= tl.rounded_objective
    assert tl.cash_after >= 0


# --- the guarantees, as properties ----------------------------------------------------------


@st.composite
def _cases(draw: st.DrawFn) -> tuple[rb.Account, dict[str, float], dict[str, Any]]:
    n = draw(st.integers(1, 5))
    tickers = [f"T{i}" for i in range(n)]
    price_scale = draw(st.sampled_from([1.0, 50.0, 1000.0, 200_000.0]))  # very high prices too
    prices = {t: draw(st.floats(0.01, 10.0)) * price_scale for t in tickers}
    held = {t: float(draw(st.integers(0, 300))) for t in tickers if draw(st.booleans())}
    if draw(st.booleans()):  # odd and fractional holdings
        held = {t: s + draw(st.sampled_from([0.0, 0.5, 0.333])) for t, s in held.items()}
    cash = draw(st.sampled_from([0.0, 0.01, 10.0, 1000.0, 1e6])) * draw(st.floats(0.0, 1.0))
    assume(sum(held[t] * prices[t] for t in held) + cash > 0)
    raw = [draw(st.floats(0.0, 1.0)) for _ in range(n + 1)]
    if sum(raw) == 0:
        raw[0] = 1.0
    target = {t: r / sum(raw) for t, r in zip([*tickers, CASH], raw, strict=True)}
    value = sum(held[t] * prices[t] for t in held) + cash
    kw: dict[str, Any] = {
        "method": draw(st.sampled_from(["target", "optimal"])),
        "costs": draw(st.sampled_from([0.0, 0.0005, 0.01, 0.049])),
        "lam": draw(st.sampled_from([0.0, 1.0, 100.0])),
        "lot_size": draw(st.sampled_from([1, 1, 10, 100])),
        # Up to larger than the account.
        "min_trade": draw(st.sampled_from([0.0, 0.0, 50.0, 2 * value])),
        "cash_reserve": draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])) * cash,
        "fractional": draw(st.booleans()),
        "mode": draw(st.sampled_from(["full", "full", "buy_only", "sell_only"])),
    }
    if draw(st.booleans()):
        a = np.array([[draw(st.floats(-1.0, 1.0)) for _ in range(n)] for _ in range(n)])
        kw["cov"] = pd.DataFrame(a @ a.T * 0.05 + np.eye(n) * 0.01, index=tickers, columns=tickers)
    if kw["mode"] == "sell_only" and draw(st.booleans()):  # a withdrawal
        kw["cash_reserve"] = cash + draw(st.floats(0.0, 0.5)) * (value - cash)
    return rb.Account(held, cash, prices, name="prop"), target, kw


def check_guarantees(acct: rb.Account, tl: rb.TradeList, kw: dict[str, Any]) -> None:
    """Every guarantee of trade_list, checked from the returned orders alone."""
    orders = tl.orders
    held = acct.shares
    prices = acct.prices
    # Sells before buys, positive sizes, notional = shares × price, fee = costs × notional.
    sides = orders["side"].tolist()
    assert sides == sorted(sides, key=lambda s: s != "sell")
    assert (orders["shares"] > 0).all()
    assert np.allclose(orders["notional"], orders["shares"] * orders["price"], rtol=1e-15)
    assert np.allclose(orders["est_cost"], kw.get("costs", 0.0) * orders["notional"])
    assert orders["ticker"].is_unique
    for row in orders.itertuples():
        assert row.price == prices[row.ticker]
        # Never more than held.
        if row.side == "sell":
            assert row.shares <= held.get(row.ticker, 0.0)
        # Zero or at least the minimum trade.
        assert row.notional >= kw.get("min_trade", 0.0)
        # Multiples of the lot (of 1e-6 share when fractional).
        quantum = 1e-6 if kw.get("fractional") else kw.get("lot_size", 1)
        units = row.shares / quantum
        assert abs(units - round(units)) <= 1e-6 * max(1.0, units)
    mode = kw.get("mode", "full")
    if mode == "buy_only":
        assert (orders["side"] == "buy").all()
    if mode == "sell_only":
        assert (orders["side"] == "sell").all()
    # Cash after fees, from the orders, is what is reported and covers the reserve.
    cash = math.fsum(
        [
            acct.cash,
            *orders.loc[orders["side"] == "sell", "notional"],
            *(-orders.loc[orders["side"] == "buy", "notional"]),
            *(-orders["est_cost"]),
        ]
    )
    assert tl.cash_after == pytest.approx(cash, rel=1e-12, abs=1e-9)
    assert tl.cash_after >= kw.get("cash_reserve", 0.0)
    assert (tl.shares_after >= 0).all()
    # The certificate is consistent.
    assert tl.lower_bound <= tl.rounded_objective + 1e-12
    assert tl.gap >= 0
    assert tl.lower_bound <= tl.continuous_objective + 1e-15


@settings(max_examples=EXAMPLES)
@given(_cases())
def test_every_guarantee_holds(case: tuple[rb.Account, dict[str, float], dict[str, Any]]) -> None:
    acct, target, kw = case
    try:
        tl = rb.trade_list(acct, target, **kw)
    except ValueError as err:
        # The one refusal a valid account may get: a reserve the rules cannot raise.
        assert "cash_reserve" in str(err) and "prop" in str(err)
        return
    check_guarantees(acct, tl, kw)


# --- the certificate against brute force ----------------------------------------------------


def _brute_force(
    acct: rb.Account, target: dict[str, float], kw: dict[str, Any]
) -> tuple[float, np.ndarray]:
    """The exact whole-share optimum: every share count each ticker can reach (sold down to 0,
    bought up to what the whole account can pay), written independently of the library."""
    tickers = list(acct.shares.index) + [t for t in target if t != CASH and t not in acct.shares]
    n = len(tickers)
    held = acct.shares.reindex(tickers).fillna(0.0).to_numpy()
    price = acct.prices.reindex(tickers).to_numpy()
    value = acct.value
    costs = kw.get("costs", 0.0)
    lam = 1.0 if kw.get("method", "target") == "target" else kw.get("lam", 1.0)
    c_obj = 0.0 if kw.get("method", "target") == "target" else costs
    cov = kw.get("cov")
    sigma = np.eye(n + 1) if cov is None else np.zeros((n + 1, n + 1))
    if cov is not None:
        sigma[:n, :n] = cov.loc[tickers, tickers].to_numpy()
    tgt = np.array([target.get(t, 0.0) for t in [*tickers, CASH]])
    ranges = [range(-int(held[i]), int(value // price[i]) + 1) for i in range(n)]
    grid = np.array(list(itertools.product(*ranges)), dtype=float)  # (m, n) trades in shares
    notional = np.abs(grid) * price
    cash = acct.cash - (grid * price).sum(axis=1) - costs * notional.sum(axis=1)
    ok = (cash >= kw.get("cash_reserve", 0.0)) & (
        (notional == 0) | (notional >= kw.get("min_trade", 0.0))
    ).all(axis=1)
    w = (held + grid) * price / value
    d = np.hstack([w, (1 - w.sum(axis=1))[:, None]]) - tgt
    f = lam * np.einsum("mi,ij,mj->m", d, sigma, d) + c_obj * (notional / value).sum(axis=1)
    f[~ok] = np.inf
    best = int(np.argmin(f))
    return float(f[best]), grid[best]


@st.composite
def _small_cases(draw: st.DrawFn) -> tuple[rb.Account, dict[str, float], dict[str, Any]]:
    n = draw(st.integers(1, 4))
    tickers = [f"T{i}" for i in range(n)]
    prices = {t: float(draw(st.integers(20, 400))) for t in tickers}
    held = {t: float(draw(st.integers(0, 6))) for t in tickers}
    cash = float(draw(st.integers(0, 1500)))
    assume(sum(held[t] * prices[t] for t in held) + cash > 0)
    raw = [draw(st.integers(0, 10)) for _ in range(n + 1)]
    assume(sum(raw) > 0)
    target = {t: r / sum(raw) for t, r in zip([*tickers, CASH], raw, strict=True)}
    kw: dict[str, Any] = {
        "method": draw(st.sampled_from(["target", "optimal"])),
        "costs": draw(st.sampled_from([0.0, 0.001, 0.02])),
        "lam": draw(st.sampled_from([1.0, 10.0])),
        "min_trade": draw(st.sampled_from([0.0, 0.0, 150.0])),
        "cash_reserve": draw(st.sampled_from([0.0, 0.0, 100.0])),
    }
    if draw(st.booleans()):
        a = np.array([[draw(st.floats(-1.0, 1.0)) for _ in range(n)] for _ in range(n)])
        kw["cov"] = pd.DataFrame(a @ a.T * 0.05 + np.eye(n) * 0.01, index=tickers, columns=tickers)
    return rb.Account(held, cash, prices), target, kw


#: Stated bound on the rounding: the rounded objective exceeds the exact whole-share optimum by
#: at most this fraction of the optimum's distance to the lower bound. Measured over 3,500
#: random cases of this kind (numpy seeds 1 and 7, /tmp script in the report): the rounding was
#: the exact optimum in 3,486 of 3,489 solved cases, and the worst excess was 0.235 of that
#: distance (23.5 % of the optimum's objective, on a 4-ticker account a few hundred dollars big).
BRUTE_FORCE_FACTOR = 0.5


@settings(max_examples=max(20, EXAMPLES // 3))
@given(_small_cases())
def test_rounding_against_the_exact_whole_share_optimum(
    case: tuple[rb.Account, dict[str, float], dict[str, Any]],
) -> None:
    acct, target, kw = case
    try:
        tl = rb.trade_list(acct, target, **kw)
    except ValueError as err:
        assert "cash_reserve" in str(err)
        best, _ = _brute_force(acct, target, kw)
        assert best == np.inf  # refused only when no whole-share portfolio meets the reserve
        return
    best, _ = _brute_force(acct, target, kw)
    scale = max(1e-12, abs(best))
    assert tl.lower_bound <= best + 1e-12 * scale  # the bound is valid
    assert tl.rounded_objective >= best - 1e-12 * scale  # brute force is the optimum
    assert tl.rounded_objective - best <= BRUTE_FORCE_FACTOR * (best - tl.lower_bound) + 1e-12


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "kind", "words"),
    [
        ({"shares": {"A": -1.0}}, ValueError, ["'IRA'", "'A'", "shares"]),
        ({"shares": {"A": True}}, TypeError, ["'IRA'", "'A'"]),
        ({"shares": {"A": math.nan}}, ValueError, ["'IRA'", "'A'"]),
        ({"prices": {"A": 0.0}}, ValueError, ["'IRA'", "'A'", "prices"]),
        ({"prices": {"A": math.nan}}, ValueError, ["'IRA'", "'A'", "prices"]),
        ({"prices": {"B": 1.0}}, ValueError, ["'IRA'", "'A'", "no price"]),
        ({"cash": -5.0}, ValueError, ["'IRA'", "cash"]),
        ({"cash": True}, TypeError, ["'IRA'", "cash"]),
        ({"shares": {CASH: 1.0}}, ValueError, ["'IRA'", "CASH"]),
        ({"shares": [1.0]}, TypeError, ["'IRA'", "shares"]),
    ],
)
def test_bad_accounts_name_the_account_and_ticker(
    kwargs: dict[str, Any], kind: type[Exception], words: list[str]
) -> None:
    args = {"shares": {"A": 1.0}, "cash": 0.0, "prices": {"A": 10.0}, "name": "IRA"} | kwargs
    with pytest.raises(kind) as err:
        rb.Account(**args)
    for word in words:
        assert word in str(err.value)


def test_bad_trade_list_arguments() -> None:
    acct = rb.Account({"A": 1.0}, cash=100.0, prices={"A": 10.0}, name="IRA")
    with pytest.raises(ValueError, match=r"'IRA'.*'B'.*no price"):
        rb.trade_list(acct, {"A": 0.5, "B": 0.5})
    with pytest.raises(ValueError, match="target must sum to 1"):
        rb.trade_list(acct, {"A": 0.5})
    with pytest.raises(ValueError, match=r"'IRA'.*target\['A'\] must be >= 0"):
        rb.trade_list(acct, {"A": -0.5, CASH: 1.5})
    with pytest.raises(ValueError, match=r"'IRA'.*cash_reserve 200 is larger"):
        rb.trade_list(acct, {"A": 1.0}, cash_reserve=200.0)
    with pytest.raises(ValueError, match=r"'IRA'.*cash_reserve 105 cannot be met"):
        rb.trade_list(acct, {"A": 1.0}, cash_reserve=105.0, mode="buy_only")
    with pytest.raises(ValueError, match="costs is a fraction"):
        rb.trade_list(acct, {"A": 1.0}, costs=10.0)
    with pytest.raises(ValueError, match=r"'IRA'.*costs has no value for ticker\(s\) \['A'\]"):
        rb.trade_list(acct, {"A": 1.0}, costs={"B": 0.001})
    with pytest.raises(ValueError, match="mode must be one of"):
        rb.trade_list(acct, {"A": 1.0}, mode="buy")
    with pytest.raises(ValueError, match=r"'IRA'.*cov has no row for ticker\(s\) \['A'\]"):
        rb.trade_list(acct, {"A": 1.0}, cov=pd.DataFrame([[1.0]], index=["B"], columns=["B"]))
    with pytest.raises(TypeError, match=r"account must be a rebalancing\.Account"):
        rb.trade_list({"A": 1.0}, {"A": 1.0})  # type: ignore[arg-type]
