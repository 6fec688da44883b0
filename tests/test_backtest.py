"""Backtest engine: hand-computed examples, a plain-Python reference loop, invariants, no
look-ahead, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rebalancing as rb
from rebalancing.backtest import periods_per_year


def frame(
    rows: list[list[float]], tickers: tuple[str, ...] = ("A", "B"), start: str = "2024-01-02"
):
    return pd.DataFrame(rows, index=pd.bdate_range(start, periods=len(rows)), columns=list(tickers))


def random_returns(seed: int, periods: int = 300, n: int = 4, vol: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0003, vol, (periods, n))
    return pd.DataFrame(
        data,
        index=pd.bdate_range("2020-01-01", periods=periods),
        columns=[f"T{i}" for i in range(n)],
    )


def reference_backtest(
    returns: np.ndarray, target: np.ndarray, check: np.ndarray, rate: np.ndarray
):
    """The conventions of rebalancing.backtest written out as a plain loop (trade to target)."""
    w = target.copy()
    nav = 1.0
    navs, turnover, costs, gross = [], [], [], []
    for t in range(returns.shape[0]):
        grown = w * (1 + returns[t])
        r = grown.sum() / w.sum() - 1
        w = grown / grown.sum()
        nav *= 1 + r
        z = target - w if check[t] else np.zeros_like(w)
        c = float(rate @ np.abs(z))
        nav *= 1 - c
        if check[t]:
            w = target.copy()
        navs.append(nav)
        turnover.append(0.5 * np.abs(z).sum())
        costs.append(c)
        gross.append(r)
    return np.array(navs), np.array(turnover), np.array(costs), np.array(gross)


# --- hand-computed ------------------------------------------------------------------------------


def test_two_assets_daily_rebalance_by_hand():
    # Day 1: A +10 %, B 0 %. Gross return 5 %; pre-trade weights 0.55/1.05 and 0.5/1.05.
    returns = frame([[0.10, 0.0], [0.0, 0.0]])
    res = rb.backtest(returns, {"A": 0.5, "B": 0.5}, rb.Calendar("daily"), costs=rb.LinearCost(10))
    traded = 0.55 / 1.05 - 0.5  # each side trades this much
    assert res.raw["gross_return"][0] == pytest.approx(0.05, abs=1e-15)
    assert res.raw["turnover"][0] == pytest.approx(traded, rel=1e-14)
    cost = 10e-4 * 2 * traded
    assert res.costs["commission"].iloc[0] == pytest.approx(cost, rel=1e-14)
    assert res.nav.iloc[0] == pytest.approx(1e6 * 1.05 * (1 - cost), rel=1e-14)
    np.testing.assert_allclose(res.weights.iloc[0], [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(res.trades.iloc[0], [-traded, traded], atol=1e-14)
    # Day 2: nothing moves, nothing trades.
    assert res.raw["turnover"][1] == 0.0
    assert res.summary()["rebalances"] == 1


def test_buy_and_hold_by_hand():
    returns = frame([[0.10, -0.10], [0.10, -0.10]])
    res = rb.backtest(returns, [0.5, 0.5], rb.Never(), costs=0.002)
    a, b = 0.5 * 1.1**2, 0.5 * 0.9**2
    np.testing.assert_allclose(res.weights.iloc[-1], [a / (a + b), b / (a + b)], rtol=1e-14)
    assert res.nav.iloc[-1] == pytest.approx(1e6 * (a + b), rel=1e-14)
    summary = res.summary()
    assert summary["turnover"] == 0.0
    assert summary["cost_bps"] == 0.0
    assert summary["rebalances"] == 0
    assert res.drift.iloc[0] == pytest.approx(0.55 - 0.5, rel=1e-14)


def test_threshold_trades_only_past_the_band():
    # A gains 4 % a day against B flat: after k days the drift of A is
    # 0.5·1.04^k / (0.5·1.04^k + 0.5) - 0.5.
    returns = frame([[0.04, 0.0]] * 6)
    drifts = [0.5 * 1.04**k / (0.5 * 1.04**k + 0.5) - 0.5 for k in range(1, 4)]
    assert drifts[0] < 0.015 < drifts[1]
    res = rb.backtest(returns, [0.5, 0.5], rb.Threshold(0.015))
    # Breach on day 2 (drift ≈ 0.0196 > 0.015) → back to target; again two days later.
    assert list(res.raw["traded"]) == [False, True, False, True, False, True]


def test_threshold_to_edge_lands_on_the_band():
    returns = frame([[0.10, 0.0], [0.0, 0.0]])
    res = rb.backtest(returns, [0.5, 0.5], rb.Threshold(0.01, to="edge"))
    np.testing.assert_allclose(res.weights.iloc[0], [0.51, 0.49], atol=1e-15)
    inner = rb.backtest(returns, [0.5, 0.5], rb.Threshold(0.01, to="inner", inner=0.5))
    np.testing.assert_allclose(inner.weights.iloc[0], [0.505, 0.495], atol=1e-15)


@pytest.mark.parametrize("labelled", [dict, pd.Series])
def test_threshold_bands_and_groups_labelled_by_ticker(labelled):
    """Per-asset bands and groups given by ticker (a dict or a Series, in any order) work in a
    backtest as they do in check_drift (they were rejected: "groups is labelled by ticker but
    the weights are not")."""
    returns = frame([[0.04, 0.0, 0.0], [0.04, 0.0, 0.0], [0.0, 0.0, 0.0]], ("A", "B", "C"))
    target = pd.Series({"A": 0.4, "B": 0.3, "C": 0.3})
    groups = labelled({"C": "bonds", "A": "stocks", "B": "stocks"})
    grouped = rb.Threshold(
        abs_band=1.0, groups=groups, group_bands={"stocks": 0.02, "bonds": 0.02}, to="edge"
    )
    res = rb.backtest(returns, target, grouped)
    # Day 1: stocks 0.7 → 0.4·1.04 + 0.3 = 0.716 of 1.016, a group drift of 0.0047: inside.
    # Day 2: 0.4·1.04² + 0.3 over 1.03264: drift 0.0095 — inside too; a 1 % group band trips.
    assert not res.raw["traded"].any()
    tight = rb.Threshold(abs_band=1.0, groups=groups, group_bands={"stocks": 0.005, "bonds": 0.5})
    assert rb.backtest(returns, target, tight).raw["traded"][1]
    per_asset = rb.Threshold(abs_band=labelled({"C": 0.5, "B": 0.5, "A": 0.01}))
    # A drifts 0.0094 on day 1 and 0.019 on day 2: only day 2 breaches A's 1 % band (a band
    # taken by position would give A 0.5 and never trade).
    assert list(rb.backtest(returns, target, per_asset).raw["traded"]) == [False, True, False]
    direct = rb.check_drift(
        pd.Series({"A": 0.42, "B": 0.29, "C": 0.29}),
        target,
        abs_band=labelled({"C": 0.5, "B": 0.5, "A": 0.01}),
    )
    assert bool(direct.breach)


def test_market_impact_square_root_law_by_hand():
    returns = frame([[0.10, 0.0], [0.0, 0.0]])
    impact = rb.MarketImpact(adv=[5e6, 2e6], sigma=[0.02, 0.01], coefficient=0.5)
    res = rb.backtest(returns, [0.5, 0.5], rb.Calendar("daily"), costs=impact, initial_nav=1e6)
    z = 0.55 / 1.05 - 0.5
    nav = 1e6 * 1.05
    expected = 0.5 * (0.02 / math.sqrt(5e6) + 0.01 / math.sqrt(2e6)) * z**1.5 * math.sqrt(nav)
    assert res.costs["impact"].iloc[0] == pytest.approx(expected, rel=1e-13)
    assert res.summary()["impact_bps"] > 0


def test_cost_model_composes_and_reports_components():
    model = (
        rb.LinearCost(commission_bps=2)
        + rb.LinearCost(half_spread_bps=3)
        + rb.MarketImpact(adv=1e9)
    )
    assert isinstance(model, rb.CostModel) and len(model.terms) == 3
    res = rb.backtest(random_returns(1), [0.25] * 4, rb.Calendar("monthly"), costs=model)
    s = res.summary()
    assert s["commission_bps"] / s["spread_bps"] == pytest.approx(2 / 3, rel=1e-12)
    assert s["cost_bps"] == pytest.approx(s["commission_bps"] + s["spread_bps"] + s["impact_bps"])
    # One-way turnover × two sides × 5 bp = linear cost per year.
    assert s["commission_bps"] + s["spread_bps"] == pytest.approx(2 * s["turnover"] * 5, rel=1e-12)


# --- against a plain reference loop -------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 6),
    freq=st.sampled_from(["daily", "weekly", "monthly", "quarterly"]),
    bps=st.floats(0, 100),
)
def test_calendar_matches_reference_loop(seed, n, freq, bps):
    returns = random_returns(seed, periods=200, n=n)
    rng = np.random.default_rng(seed)
    target = rng.dirichlet(np.ones(n))
    res = rb.backtest(returns, target, rb.Calendar(freq), costs=bps / 1e4, initial_nav=1.0)
    check, _ = rb.Schedule(freq).mask(returns.index)
    nav, turnover, costs, gross = reference_backtest(
        returns.to_numpy(), target, check, np.full(n, bps / 1e4)
    )
    np.testing.assert_allclose(res.raw["nav"], nav, rtol=1e-12)
    np.testing.assert_allclose(res.raw["turnover"], turnover, atol=1e-14)
    np.testing.assert_allclose(res.costs["spread"], costs, atol=1e-16)
    np.testing.assert_allclose(res.raw["gross_return"], gross, atol=1e-14)


# --- invariants ----------------------------------------------------------------------------------

POLICIES = [
    rb.Never(),
    rb.Calendar("daily"),
    rb.Calendar("monthly", when="first"),
    rb.Threshold(0.02),
    rb.Threshold(0.02, rel_band=0.25, check="weekly", to="edge"),
    rb.Threshold(0.03, to="inner", inner=0.3),
    rb.CostAware(5.0, check="weekly", window=60),
    rb.CostAware(50.0, risk="pca", factors=2, window=60),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_weights_sum_to_one_and_respect_the_path(policy):
    returns = random_returns(3, periods=250, n=5)
    res = rb.backtest(returns, np.full(5, 0.2), policy, costs=rb.LinearCost(5, 5))
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, atol=1e-12)
    net = res.net_returns.to_numpy()
    np.testing.assert_allclose(np.cumprod(1 + net) * 1e6, res.nav.to_numpy(), rtol=1e-10)
    assert res.summary()["cost_bps"] >= 0


def test_costless_daily_constant_mix_has_zero_tracking_error():
    res = rb.backtest(random_returns(4), [0.1, 0.2, 0.3, 0.4], rb.Calendar("daily"))
    assert res.summary()["tracking_error"] < 1e-14
    assert res.summary()["excess_return"] == pytest.approx(0.0, abs=1e-12)


def test_buy_and_hold_has_zero_turnover_and_positive_tracking_error():
    s = rb.backtest(random_returns(5), [0.25] * 4, rb.Never(), costs=0.001).summary()
    assert s["turnover"] == 0.0 and s["rebalances"] == 0 and s["tracking_error"] > 0


def test_turnover_and_tracking_error_move_opposite_ways_with_frequency():
    returns = random_returns(6, periods=1500, n=6, vol=0.02)
    table = rb.compare(
        returns,
        np.full(6, 1 / 6),
        [rb.Calendar(f) for f in ("daily", "weekly", "monthly", "quarterly")],
        costs=0.0005,
    )
    assert table["turnover"].is_monotonic_decreasing
    assert table["tracking_error"].is_monotonic_increasing


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_no_look_ahead(policy):
    returns = random_returns(7, periods=260, n=5)
    cut = 180
    changed = returns.copy()
    changed.iloc[cut + 1 :] = np.random.default_rng(99).normal(0, 0.05, (260 - cut - 1, 5))
    target = np.full(5, 0.2)
    costs = rb.LinearCost(5) + rb.MarketImpact(adv=1e7)
    a = rb.backtest(returns, target, policy, costs=costs)
    b = rb.backtest(changed, target, policy, costs=costs)
    np.testing.assert_array_equal(a.weights.iloc[: cut + 1], b.weights.iloc[: cut + 1])
    np.testing.assert_array_equal(a.nav.iloc[: cut + 1], b.nav.iloc[: cut + 1])


def test_initial_weights_are_traded_at_the_first_check():
    returns = frame([[0.0, 0.0]] * 3)
    res = rb.backtest(returns, [0.5, 0.5], rb.Calendar("daily"), initial=[0.7, 0.3], costs=0.001)
    assert res.raw["turnover"][0] == pytest.approx(0.2)
    assert res.raw["turnover"][1] == 0.0


def test_cost_aware_trades_less_as_costs_rise_and_to_target_without_costs():
    returns = random_returns(8, periods=400, n=5)
    target = np.full(5, 0.2)
    free = rb.backtest(returns, target, rb.CostAware(10.0, check="weekly", window=60))
    weekly = rb.backtest(returns, target, rb.Calendar("weekly"))
    # No costs: the optimum is the target itself, so it matches the weekly calendar policy after
    # the first min_periods rows (where the cost-aware policy does not trade yet).
    np.testing.assert_allclose(free.weights.iloc[30:], weekly.weights.iloc[30:], atol=1e-9)
    cheap = rb.backtest(returns, target, rb.CostAware(10.0, check="weekly"), costs=0.0002).summary()
    dear = rb.backtest(returns, target, rb.CostAware(10.0, check="weekly"), costs=0.005).summary()
    assert dear["turnover"] < cheap["turnover"]


def test_compare_names_rows_and_rejects_duplicates():
    returns = random_returns(9)
    table = rb.compare(returns, [0.25] * 4, {"a": rb.Never(), "b": rb.Calendar("monthly")})
    assert list(table.index) == ["a", "b"]
    assert {
        "turnover",
        "cost_bps",
        "tracking_error",
        "rebalances",
        "return",
        "volatility",
        "max_drawdown",
    } <= set(table.columns)
    with pytest.raises(ValueError, match="two policies are named"):
        rb.compare(returns, [0.25] * 4, [rb.Calendar("monthly"), rb.Calendar("monthly")])


def test_periods_per_year_inferred():
    assert periods_per_year(pd.bdate_range("2020-01-01", periods=50)) == 252
    assert periods_per_year(pd.date_range("2020-01-31", periods=50, freq="ME")) == 12
    assert periods_per_year(pd.date_range("2020-01-03", periods=50, freq="W-FRI")) == 52
    assert periods_per_year(pd.date_range("2020-03-31", periods=9, freq="QE")) == 4


def test_max_drawdown_and_annual_return_by_hand():
    idx = pd.date_range("2000-01-31", periods=12, freq="ME")
    r = pd.DataFrame({"A": [0.1, -0.5] + [0.0] * 10}, index=idx)
    s = rb.backtest(r, [1.0], rb.Never()).summary()
    assert s["max_drawdown"] == pytest.approx(-0.5)
    assert s["return"] == pytest.approx(1.1 * 0.5 - 1)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returns", "target", "match"),
    [
        (frame([[0.1, np.nan], [0, 0]]), [0.5, 0.5], "finite: B on 2024-01-02"),
        (frame([[0.1, -1.0], [0, 0]]), [0.5, 0.5], "> -100%"),
        (frame([[0.1, np.inf], [0, 0]]), [0.5, 0.5], "finite"),
        (frame([[0.1, 0.0], [0, 0]]), [0.5, 0.6], "target must sum to 1"),
        (frame([[0.1, 0.0], [0, 0]]), [1.0], "target must have 2 weights"),
        (
            frame([[0.1, 0.0], [0, 0]]),
            {"A": 0.5, "C": 0.5},
            r"target tickers do not match the returns' columns: missing \['B'\], unexpected",
        ),
        (frame([[0.1, 0.0], [0, 0]]), [0.5, np.nan], "target must be finite"),
    ],
)
def test_bad_input_is_named(returns, target, match):
    with pytest.raises(ValueError, match=match):
        rb.backtest(returns, target, rb.Calendar("daily"))


def test_bad_dates_and_types():
    r = frame([[0.0, 0.0]] * 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        rb.backtest(r.iloc[::-1], [0.5, 0.5], rb.Never())
    with pytest.raises(TypeError, match="DatetimeIndex"):
        rb.backtest(r.reset_index(drop=True), [0.5, 0.5], rb.Never())
    with pytest.raises(TypeError, match="DataFrame"):
        rb.backtest(r.to_numpy(), [0.5, 0.5], rb.Never())
    with pytest.raises(TypeError, match="policy must be a Policy"):
        rb.backtest(r, [0.5, 0.5], "monthly")
    with pytest.raises(ValueError, match="freq must be one of"):
        rb.Calendar("fortnightly")
    with pytest.raises(ValueError, match="to must be"):
        rb.Threshold(0.05, to="middle")
    with pytest.raises(ValueError, match="needs at least one"):
        rb.Threshold()
    with pytest.raises(ValueError, match="lam must be"):
        rb.CostAware(-1.0)
    with pytest.raises(ValueError, match=r"costs in period 0 \(2024-01-02\) exceed"):
        rb.backtest(
            frame([[0.5, 0.0], [0, 0]]),
            [0.5, 0.5],
            rb.Calendar("daily"),
            costs=rb.MarketImpact(adv=1.0, sigma=1.0, coefficient=1e6),
        )
    with pytest.raises(ValueError, match="half_spread_bps is in basis points"):
        rb.backtest(r, [0.5, 0.5], rb.Never(), costs=rb.LinearCost(half_spread_bps=500))
    with pytest.raises(ValueError, match="adv must be positive"):
        rb.backtest(r, [0.5, 0.5], rb.Never(), costs=rb.MarketImpact(adv=0.0))
    with pytest.raises(ValueError, match="commission_bps must be finite and non-negative"):
        rb.backtest(r, [0.5, 0.5], rb.Never(), costs=rb.LinearCost(-1))


def test_policy_returning_bad_weights_is_reported():
    class Broken(rb.Calendar):
        def plan(self, inputs):
            plan = super().plan(inputs)
            plan.decide = lambda t, w: w * 2
            return plan

    with pytest.raises(ValueError, match="chose invalid weights"):
        rb.backtest(random_returns(1), [0.25] * 4, Broken("monthly"))


# --- property tests over random and adversarial inputs ----------------------------------------


@st.composite
def backtest_inputs(draw):
    periods = draw(st.integers(2, 80))
    n = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["normal", "wild", "tiny"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    if kind == "normal":
        data = rng.normal(0.0, 0.03, (periods, n))
    elif kind == "wild":  # crashes close to -100 % and ten-fold jumps
        data = rng.choice([-0.999, -0.5, 0.0, 0.3, 9.0], size=(periods, n))
    else:
        data = rng.normal(0.0, 1e-12, (periods, n))
    target = rng.dirichlet(np.ones(n))
    if n > 1 and draw(st.booleans()):
        target[0] = 0.0  # a zero target weight
        target /= target.sum()
    returns = pd.DataFrame(
        data,
        index=pd.bdate_range("2021-01-04", periods=periods),
        columns=[f"X{i}" for i in range(n)],
    )
    policy = draw(
        st.sampled_from(
            [
                rb.Never(),
                rb.Calendar("daily"),
                rb.Calendar("weekly"),
                rb.Threshold(0.01),
                rb.Threshold(0.02, rel_band=0.5, to="edge"),
                rb.Threshold(0.05, to="inner", inner=0.25, check="weekly"),
                rb.CostAware(3.0, window=20, min_periods=5),
            ]
        )
    )
    bps = draw(st.sampled_from([0.0, 5.0, 100.0]))
    return returns, target, policy, bps


@settings(max_examples=60, deadline=None)
@given(backtest_inputs())
def test_backtest_invariants_on_random_and_adversarial_data(inputs):
    returns, target, policy, bps = inputs
    res = rb.backtest(returns, target, policy, costs=bps / 1e4)
    weights = res.weights.to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-9)
    assert (res.nav.to_numpy() > 0).all()
    assert (res.costs.to_numpy() >= 0).all()
    s = res.summary()
    assert np.isfinite(s.to_numpy(dtype=float)).all()
    traded = res.raw["traded"]
    check, _ = (
        policy.schedule.mask(returns.index)
        if hasattr(policy, "schedule")
        else (np.zeros(len(returns), bool), "")
    )
    assert not traded[~check].any(), "a trade off the schedule"
    if isinstance(policy, rb.Calendar) or (
        isinstance(policy, rb.Threshold) and policy.to == "target"
    ):
        np.testing.assert_allclose(
            weights[traded], np.broadcast_to(target, weights[traded].shape), atol=1e-15
        )
    assert s["turnover"] >= 0 and s["rebalances"] == traded.sum()
