"""Cash flows in backtests: hand-computed cases, the value accounting identity, the
water-filling's optimality conditions on random data, time-weighted returns, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from _problems import examples


def _returns(seed: int, periods: int = 60, n: int = 4, vol: float = 0.03) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(0.002, vol, (periods, n)),
        index=pd.date_range("2020-01-31", periods=periods, freq="ME"),
        columns=[f"T{i}" for i in range(n)],
    )


def _flow_trades(result: rb.BacktestResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per period: holdings before the flow, the flow's trades (currency), the value after it.

    Valid for a policy that never trades and no costs: V⁻_t = V_{t-1}(1 + R_t)."""
    nav = result.raw["nav"]
    before_nav = np.concatenate(([result.initial_nav], nav[:-1])) * (1 + result.raw["gross_return"])
    held = np.vstack([result._initial, result.raw["weights"][:-1]])
    grown = held * (1.0 + result.returns)
    drifted = grown / grown.sum(axis=1, keepdims=True)
    holdings = drifted * before_nav[:, None]
    after = result.raw["pre_trade"] * nav[:, None]
    return holdings, after - holdings, nav


def test_contribution_and_withdrawal_by_hand() -> None:
    returns = pd.DataFrame(
        [[0.0, 0.0], [0.0, 0.0]],
        index=pd.to_datetime(["2024-01-31", "2024-02-29"]),
        columns=["A", "B"],
    )
    target = pd.Series({"A": 0.5, "B": 0.5})
    flows = pd.Series([20.0, -20.0], index=returns.index)
    res = rb.backtest(
        returns, target, rb.policies.Never(), initial=[0.7, 0.3], initial_nav=100.0, flows=flows
    )
    # (70, 30) + 20 to B -> (70, 50); then -20 from A -> (50, 50).
    np.testing.assert_allclose(res.weights.iloc[0], [70 / 120, 50 / 120], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.weights.iloc[1], [0.5, 0.5], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.nav, [120.0, 100.0], rtol=1e-15)
    assert res.flows.tolist() == [20.0, -20.0]
    np.testing.assert_array_equal(res.net_returns, [0.0, 0.0])  # flows are not returns
    pro_rata = rb.backtest(
        returns, target, rb.policies.Never(), initial=[0.7, 0.3], flows=flows, flow_to="pro_rata"
    )
    np.testing.assert_allclose(pro_rata.weights, [[0.7, 0.3], [0.7, 0.3]], rtol=1e-15)


def test_value_accounting_with_costs() -> None:
    """V_t = (V_{t-1}(1 + R_t) + F_t)(1 - C_t) for a policy that never trades, whatever the
    flows; the time-weighted return is (V_t - F_t) / V_{t-1} - 1."""
    returns = _returns(3)
    flows = pd.Series(np.linspace(-3000.0, 5000.0, len(returns)), index=returns.index)
    target = np.full(4, 0.25)
    res = rb.backtest(
        returns, target, rb.policies.Never(), costs=0.0025, initial_nav=1e5, flows=flows
    )
    nav = res.raw["nav"]
    before = np.concatenate(([1e5], nav[:-1]))
    cost = res.costs.sum(axis=1).to_numpy()
    expected = (before * (1 + res.raw["gross_return"]) + flows.to_numpy()) * (1 - cost)
    np.testing.assert_allclose(nav, expected, rtol=1e-13)
    np.testing.assert_allclose(res.net_returns, (nav - flows.to_numpy()) / before - 1, rtol=1e-13)
    assert (cost > 0).all() and res.summary()["turnover"] == 0.0  # flow trades cost, not turnover


@settings(max_examples=examples(40), deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 8),
    scale=st.sampled_from([1.0, 1e3, 1e5, 1e7]),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_underweight_flows_are_the_closest_one_sided_trades(
    seed: int, n: int, scale: float, sign: float
) -> None:
    """Optimality of the water-filling, checked from its conditions: contributions only buy and
    withdrawals only sell (never more than held), the trades add up to the flow, and there is a
    level τ ≥ 0 with x_i = gap_i − τ wherever x_i > 0 (and x_i < held_i for sells) and
    gap_i ≤ τ wherever x_i = 0, gap_i = ±(w*_i V − h_i) (the least-squares KKT conditions)."""
    rng = np.random.default_rng(seed)
    returns = _returns(seed, periods=12, n=n, vol=0.1)
    target = rng.dirichlet(np.ones(n))
    flows = sign * scale * rng.uniform(0.0, 0.5, len(returns))
    start = 1e6 if sign > 0 else 20 * scale  # withdrawals add up to at most 6 scale
    res = rb.backtest(returns, target, rb.policies.Never(), initial_nav=start, flows=flows)
    holdings, trades, nav = _flow_trades(res)
    for t in range(len(returns)):
        x, h = sign * trades[t], holdings[t]
        tol = 1e-9 * max(nav[t], abs(flows[t]))
        assert abs(trades[t].sum() - flows[t]) <= tol
        assert (x >= -tol).all()
        if sign < 0:
            assert (x <= h + tol).all()  # never sells more than held
        gap = sign * (target * nav[t] - h)
        free = (x > tol) & ((sign > 0) | (x < h - tol))
        level = float(np.median(gap[free] - x[free])) if free.any() else max(0.0, gap.max())
        assert level >= -tol
        np.testing.assert_allclose(gap[free] - x[free], level, atol=tol * 10)
        assert (gap[x <= tol] <= level + tol * 10).all()


def test_underweight_contributions_reduce_turnover_and_drift() -> None:
    """On the 60/40 stocks/bonds history with monthly contributions, investing them towards the
    target leaves a 5 % band less to trade and the portfolio closer to target than pro rata."""
    data = rb.datasets.load_stocks_bonds_bills()[["stocks", "bonds"]]
    target = pd.Series({"stocks": 0.6, "bonds": 0.4})
    kw = dict(costs=0.001, initial_nav=1e5, flows=1000.0)
    band = rb.policies.Threshold(abs_band=0.05)
    smart = rb.backtest(data, target, band, **kw).summary()
    naive = rb.backtest(data, target, band, flow_to="pro_rata", **kw).summary()
    assert smart["turnover"] < naive["turnover"]
    assert smart["rebalances"] < naive["rebalances"]
    never_smart = rb.backtest(data, target, rb.policies.Never(), **kw).summary()
    never_naive = rb.backtest(data, target, rb.policies.Never(), flow_to="pro_rata", **kw)
    assert never_smart["avg_max_drift"] < never_naive.summary()["avg_max_drift"]


def test_zero_flows_change_nothing() -> None:
    returns = _returns(5)
    target = np.full(4, 0.25)
    policy = rb.policies.Threshold(abs_band=0.02)
    plain = rb.backtest(returns, target, policy, costs=0.001)
    zero = rb.backtest(returns, target, policy, costs=0.001, flows=0.0)
    np.testing.assert_array_equal(plain.weights, zero.weights)
    np.testing.assert_array_equal(plain.nav, zero.nav)
    # pre-trade weights are recorded by the engine with flows and recomputed without: equal
    # to rounding
    np.testing.assert_allclose(plain.trades, zero.trades, rtol=0, atol=1e-15)
    pd.testing.assert_series_equal(plain.summary(), zero.summary(), rtol=1e-14)


def test_policies_see_the_weights_after_the_flow() -> None:
    """A contribution that brings the portfolio back inside the band leaves nothing to trade."""
    returns = pd.DataFrame(
        [[0.5, 0.0], [0.0, 0.0]],
        index=pd.to_datetime(["2024-01-31", "2024-02-29"]),
        columns=["A", "B"],
    )  # 50/50 -> 60/40
    target = pd.Series({"A": 0.5, "B": 0.5})
    band = rb.policies.Threshold(abs_band=0.05)
    assert rb.backtest(returns, target, band, initial_nav=100.0).raw["traded"][0]
    flows = pd.Series([20.0], index=returns.index[:1])  # (75, 50) + 20, all to B
    res = rb.backtest(returns, target, band, initial_nav=100.0, flows=flows)
    assert not res.raw["traded"].any()
    np.testing.assert_allclose(res.weights.iloc[0], [75 / 145, 70 / 145], rtol=1e-15)


@pytest.mark.parametrize(
    ("flows", "match"),
    [
        (pd.Series([1.0], index=pd.to_datetime(["1999-01-01"])), "flows: dates not in the returns"),
        ([1.0, 2.0], "flows must have one value per row"),
        (np.full(60, np.nan), "flows must be finite"),
        ("1000", "flows must hold real numbers"),
    ],
)
def test_bad_flows_are_named(flows: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        rb.backtest(_returns(1), np.full(4, 0.25), rb.policies.Never(), flows=flows)


def test_bad_flow_settings() -> None:
    returns = _returns(1)
    with pytest.raises(ValueError, match="flow_to must be"):
        rb.backtest(returns, np.full(4, 0.25), rb.policies.Never(), flows=1.0, flow_to="target")
    with_flows = rb.backtest(returns, np.full(4, 0.25), rb.policies.Never(), flows=1.0)
    with pytest.raises(ValueError, match="has cash flows, which the tax replay does not support"):
        rb.tax.after_tax(with_flows, rb.tax.TaxPolicy(0.37, 0.2))
    with pytest.raises(
        ValueError,
        match=r"withdrawal in period 2 \(2020-03-31\) is not less than the portfolio value",
    ):
        flows = np.zeros(len(returns))
        flows[2] = -2e6
        rb.backtest(returns, np.full(4, 0.25), rb.policies.Never(), initial_nav=1e6, flows=flows)
